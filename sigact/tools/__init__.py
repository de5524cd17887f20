"""What sigact's commands use: the parity engine behind ``sigact verify``, the measurements behind
``sigact report`` and ``benchmarks/``, the benchmark models and the plots.

None of it is imported by ``sigact``, ``sigact.torch`` or ``sigact.jax``: a user of the activations loads
none of this. Each framework's part is one module, :mod:`sigact.tools.torch_backend` and
:mod:`sigact.tools.jax_backend`, with the names :class:`sigact.tools.backend.Backend` writes down, found
through the one registry, :func:`sigact.tools.backend.load`.
"""
