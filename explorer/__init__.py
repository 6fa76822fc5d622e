"""The protection-conflict explorer: protected training trials and their search.

Kept import-light: ``explorer.config`` and the CLI's ``report``/``validate`` commands work without
torch or ray being imported.
"""

__version__ = "0.1.0"
