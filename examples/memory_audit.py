"""What autograd keeps for backward: the naive composite, the built-in and sigact, in both frameworks.

    python examples/memory_audit.py [--size N]
"""

import argparse

import numpy as np


def torch_audit(n: int) -> None:
    import torch

    import sigact.torch as st

    first, second = torch.nn.Linear(n, n), torch.nn.Linear(n, n)
    x = torch.randn(64, n)
    print("== PyTorch: Linear -> activation -> Linear, batch 64, width", n)
    for name, act in [("naive 1/(1+exp(-x))", lambda h: 1 / (1 + torch.exp(-h))),
                      ("built-in torch.sigmoid", torch.sigmoid), ("sigact.torch.sigmoid", st.sigmoid)]:
        report = st.audit(lambda t, act=act: second(act(first(t))), x)
        print(f"\n-- {name}\n{report}")


def jax_audit(n: int) -> None:
    import jax
    import jax.numpy as jnp

    import sigact.jax as sj

    w = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
    x = jnp.ones((64, n))
    print(f"\n== JAX: activation -> matmul with a trained weight, batch 64, width {n}")
    for name, act in [("naive 1/(1+exp(-x))", lambda h: 1 / (1 + jnp.exp(-h))),
                      ("built-in jax.nn.sigmoid", jax.nn.sigmoid), ("sigact.jax.sigmoid", sj.sigmoid)]:
        report = sj.audit(lambda w, x, act=act: act(x) @ w, w, x)
        print(f"\n-- {name}\n{report}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="layer width (default 512)")
    args = parser.parse_args(argv)
    torch_audit(args.size)
    jax_audit(args.size)


if __name__ == "__main__":
    main()
