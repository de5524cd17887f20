"""Open the built docs site in a real headless Chromium, with the network cut off, and check what a reader sees.

    python docs/check_site.py [docs/_build/html]        (`make docs-check` builds the site first)

Each page is opened from the file system, as the README says to open it, with a fresh browser profile and every
host name resolving to nothing, so a page that needed a CDN would fail here. After the page's scripts have run,
the DOM is read back (`--dump-dom`) and checked:

* derivative.html: MathJax (shipped in _static/) rendered every display equation of docs/derivative.md into an
  ``mjx-container``, and no raw TeX (``$$``, ``\\frac``) is left in the page;
* reference.html: an entry for every name in the ``__all__`` of sigact, sigact.torch and sigact.jax;
* search.html?q=swap_sigmoid: Sphinx's client-side search lists both ``swap_sigmoid`` functions.

Chromium is Debian's package (``apt-get install chromium``); set CHROMIUM to use another binary.
Exit status 0 when every check passes, 1 with the failures listed otherwise.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Offline: no host name resolves, so nothing can come from a CDN.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    # Virtual time runs the page's scripts (MathJax, the search) to completion before the DOM is dumped.
    "--virtual-time-budget=30000",
    "--dump-dom",
]


def dom(chromium: str, url: str) -> str:
    """The page's DOM after its scripts ran, from a browser with a fresh profile."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", url],
                                capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or "</html>" not in result.stdout:
        raise RuntimeError(f"chromium failed on {url} (exit {result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def public_names() -> list[str]:
    sys.path.insert(0, str(ROOT))  # this checkout's sigact, as docs/conf.py documents it
    import sigact
    import sigact.jax
    import sigact.torch

    return [f"{module.__name__}.{name}" for module in (sigact, sigact.torch, sigact.jax) for name in module.__all__]


def check_math(page: str) -> list[str]:
    source = (ROOT / "docs" / "derivative.md").read_text()
    expected = source.count("$$") // 2
    rendered = len(re.findall(r'<mjx-container[^>]*display="true"', page))
    failures = []
    if rendered != expected or expected == 0:
        failures.append(f"derivative.html: {rendered} rendered display equations, docs/derivative.md has {expected}")
    for raw in ("$$", r"\frac", r"\sigma"):
        if raw in page:
            failures.append(f"derivative.html: raw TeX {raw!r} left in the page")
    return failures


def check_reference(page: str) -> list[str]:
    return [f"reference.html: no entry for {name}" for name in public_names() if f'id="{name}"' not in page]


def check_search(page: str) -> list[str]:
    results = re.search(r'<ul[^>]*class="search"[^>]*>(.*?)</ul>', page, re.S)
    found = results.group(1) if results else ""
    return [f"search.html?q=swap_sigmoid: no result for {name}"
            for name in ("sigact.torch.swap_sigmoid", "sigact.jax.swap_sigmoid")
            if f'href="reference.html#{name}"' not in found]


def main() -> int:
    site = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "_build" / "html").resolve()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        print("docs-check: no chromium found; install Debian's (apt-get install chromium) or set CHROMIUM")
        return 1
    if not (site / "index.html").exists():
        print(f"docs-check: no site at {site}; run `make docs` first")
        return 1
    checks = [
        (check_math, "derivative.html"),
        (check_reference, "reference.html"),
        (check_search, "search.html?q=swap_sigmoid"),
    ]
    failures = []
    for check, page in checks:
        found = check(dom(chromium, f"{site.as_uri()}/{page}"))
        print(f"docs-check: {page}: {'ok' if not found else 'FAILED'}")
        failures += found
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
