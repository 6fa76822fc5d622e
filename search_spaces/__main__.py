"""``python -m search_spaces validate SPACE.yaml [--smoke]``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main(prog="python -m search_spaces"))
