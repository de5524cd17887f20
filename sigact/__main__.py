"""``python -m sigact report``: the same as the ``sigact`` console script."""

import sys

from sigact.cli import main

sys.exit(main())
