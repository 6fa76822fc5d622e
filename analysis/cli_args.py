"""Command-line arguments of the report command, parsed into analysis types with one-line errors."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from analysis.errors import AnalysisInputError
from analysis.schema import default_objectives
from explorer_core.thresholds import threshold_specs

__all__ = ["UsageError", "parse_constraints", "parse_objectives", "parser"]


class UsageError(Exception):
    """A command-line mistake that argparse found (the message is one line)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)  # instead of printing usage and exiting


def parser() -> argparse.ArgumentParser:
    """The `report` arguments; errors raise `UsageError` instead of exiting."""
    parser = _Parser(
        prog="explorer report", description="Conflict verdicts, Pareto fronts and plots from search results."
    )
    parser.add_argument(
        "results", nargs="+", help="Parquet file or directory (local, file://, s3://, gs://); several allowed"
    )
    parser.add_argument("--out", required=True, help="output directory")
    defaults = ",".join(f"{k}:{v}" for k, v in default_objectives().items())
    parser.add_argument("--objectives", default=None, help=f"column:max|min,... (default {defaults})")
    parser.add_argument(
        "--threshold",
        action="append",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help=f"{', '.join(threshold_specs())}; e.g. --threshold acc=0.05 alpha=0.01",
    )
    parser.add_argument(
        "--constraint", action="append", default=[], metavar="EXPR", help="e.g. 'acc>=0.9' (repeatable)"
    )
    return parser


def parse_objectives(text: str) -> dict[str, str]:
    """`acc:max,adv.acc:max` -> {"acc": "max", "adv.acc": "max"}."""
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        column, _, sense = item.rpartition(":")
        if not column or sense not in ("max", "min"):
            raise AnalysisInputError(f"--objectives {item!r}: expected column:max or column:min, e.g. acc:max")
        out[column] = sense
    if not out:
        raise AnalysisInputError(f"--objectives {text!r}: expected column:max or column:min, e.g. acc:max")
    return out


def parse_constraints(items: Sequence[str]) -> dict[str, tuple[str, float]] | None:
    """`["acc>=0.9"]` -> {"acc": (">=", 0.9)}; None when there is none."""
    out: dict[str, tuple[str, float]] = {}
    for item in items:
        match = re.fullmatch(r"\s*([\w.:]+)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*", item)
        try:
            value = float(match.group(3)) if match else None
        except ValueError:
            value = None
        if match is None or value is None:
            raise AnalysisInputError(
                f"--constraint {item!r}: expected COLUMN OP NUMBER with OP one of <, <=, >, >=, ==, !="
            )
        out[match.group(1)] = (match.group(2), value)
    return out or None
