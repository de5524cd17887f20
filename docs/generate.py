"""Write every measured table of README.md and docs/*.md from the committed JSON in docs/results/.

    python docs/generate.py          # rewrite the generated regions in place (`make docs` runs it first)
    python docs/generate.py --check  # rewrite nothing; exit 1, naming each stale page

A page marks each region it takes from a results file, and keeps everything else as written::

    <!-- generated: elementwise.float32 from results/elementwise-cpu.json -->
    (whatever the renderer returns)
    <!-- end generated -->

The paths are relative to the page's folder, as its links are; a glob (``results/swap-cpu-*.json``)
stands for its files in sorted order. The name picks a renderer of ``RENDERERS``: a small function
from the loaded files to Markdown, in docs/renderers/ (one module per page or topic; the package
joins their registries into this one). So a re-run benchmark updates every page once its JSON is
committed and this script has run: edit the JSON (by re-running its command) or a renderer, never a
region. The markers are HTML comments, which GitHub and Sphinx both leave unrendered.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# This checkout's sigact (for its formatting of durations and bytes), and docs/renderers/.
sys.path[:0] = [str(ROOT), str(DOCS)]

from renderers import RENDERERS  # noqa: E402
from renderers.common import Run  # noqa: E402

REGION = re.compile(r"(<!-- generated: (\S+) from ([^>]*?) -->\n)(.*?)(<!-- end generated -->)", re.S)


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def load(spec: str, base: Path = DOCS) -> list[Run]:
    """The files a marker names, each a path or glob relative to its page's folder, loaded in order."""
    paths = [p for pattern in spec.split() for p in (sorted(base.glob(pattern)) or [base / pattern])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"a generated region names results that are not there: {missing}")
    # A region may name the source module it is read from (the CLI reference): nothing to load.
    return [json.loads(p.read_text()) for p in paths if p.suffix == ".json"]


def render(text: str, base: Path = DOCS) -> str:
    """``text`` with each generated region replaced by its renderer's output from its files."""
    def one(match: re.Match[str]) -> str:
        begin, name, spec, _, end = match.groups()
        if name not in RENDERERS:
            raise KeyError(f"no renderer {name!r} (docs/renderers/ has {', '.join(RENDERERS)})")
        return f"{begin}\n{RENDERERS[name](load(spec, base)).strip()}\n\n{end}"

    return REGION.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any page is stale")
    args = parser.parse_args(argv)
    stale = []
    for page in pages():
        text = page.read_text()
        new = render(text, page.parent)
        if new != text:
            stale.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(new)
    verb = "stale (run python docs/generate.py)" if args.check else "rewritten"
    for page in stale:
        print(f"{page}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
