"""What to say when ``sigact.torch`` or ``sigact.jax`` is imported without its framework."""

from __future__ import annotations

from typing import NoReturn


def reraise_with_install_hint(missing: ModuleNotFoundError, framework: str, name: str) -> NoReturn:
    """Raise ``missing`` again, or, when ``framework`` itself is what is missing, the same exception
    type with the pip command that installs it, so callers' ``except ModuleNotFoundError`` still works."""
    if missing.name != framework:
        raise missing
    raise ModuleNotFoundError(
        f'sigact.{framework} needs {name}, which is not installed: pip install "sigact[{framework}]"',
        name=framework,
    ) from missing
