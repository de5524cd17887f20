"""The sections of ``benchmarks/run.py``, one module each, each with ``measure(quick, timing) -> dict`` (the
figures, as they go into the JSON) and ``show(result)`` (prints them as a Markdown table)."""
