"""Root conftest: doctests of a framework module are collected only when that framework is installed."""

import importlib.util
import os

_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = f"{_flags} --xla_force_host_platform_device_count=8".strip()

# Scripts that tests start in subprocesses (under torchrun, under TRITON_INTERPRET=1); no doctests.
collect_ignore = ["tests/distributed_worker.py", "tests/triton_interpreted.py"]
if importlib.util.find_spec("torch") is None:
    collect_ignore += ["sigact/torch", "sigact/tools/torch_backend.py"]
if importlib.util.find_spec("jax") is None:
    collect_ignore += ["sigact/jax", "sigact/tools/jax_backend.py", "sigact/tools/jax_models.py"]
