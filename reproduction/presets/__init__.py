"""The reproduction's search spaces (``repro-*.yaml``), registered as presets through the entry-point group
``protection_explorer.presets`` (pyproject.toml), so that ``search_spaces.presets()`` lists them beside its own."""

from pathlib import Path

DIR = Path(__file__).resolve().parent
