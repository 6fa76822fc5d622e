"""``validate SPACE.yaml [--smoke]``: check a space, print its size and cost; exit 2 with one line if bad."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .cost import confirmation_estimate, estimate, human_seconds
from explorer_core.errors import SpaceError
from .expand import expand
from .smoke import smoke
from .validate import load

__all__ = ["main"]


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgError(message)


def _parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="Check search spaces.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    v = sub.add_parser("validate", help="check a space; print its number of trials and a cost estimate")
    v.add_argument("space", help="a search-space YAML file")
    v.add_argument("--smoke", action="store_true", help="check and describe its smoke (tiny) version instead")
    return p


def describe(path: str, *, use_smoke: bool = False) -> str:
    """The report ``validate`` prints (raises :class:`SpaceError` for a bad file)."""
    space = load(path)
    if use_smoke:
        space = smoke(space)
    exp = expand(space)
    se = space.search
    if se.algorithm == "optuna":
        searched = f"{se.num_samples} Optuna trials ({se.sampler}; objectives " \
                   f"{', '.join(f'{o.metric} {o.direction}' for o in se.objectives)})"
        total = len(exp.baselines) + (se.num_samples or 0)
    else:
        searched = f"{len(exp.trials)} {se.algorithm} trials"
        total = len(exp)
    seeds = space.seeds
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    def seed_words(mechs: tuple[str, ...]) -> str:
        design = seeds.design_for(mechs)
        return f"{design.min}-{design.max} seeds (step {design.step})" if design.sequential else \
            n(len(seeds.for_mechanisms(mechs)), "seed")

    single, combined = seed_words(("x",)), seed_words(("x", "y"))
    seed_text = single if single == combined else f"{single} alone, {combined} combined"
    cost = estimate(space)
    lines = [
        f"{path}: ok{' (smoke)' if use_smoke else ''}: {space.name}",
        f"trials: {total} = {len(exp.baselines)} baselines + {searched}; {n(len(space.datasets), 'dataset')}, "
        f"{n(len(space.mechanisms), 'tuple')}, {seed_text}",
        f"cost: {cost.summary()}",
    ]
    if seeds.sequential:
        most = expand(space, most=True)
        top = estimate(space, most=True)
        added = len(most) - len(exp)
        lines[1] = lines[1].replace(f"trials: {total} =", f"trials: at least {total} =", 1)
        lines[2] = f"cost: at least {cost.summary()}"
        lines.append(f"at most: {total + added} trials, {top.summary()} (every cell undecided until its max "
                     "seeds)")
    confirm = confirmation_estimate(space)
    if confirm is not None and space.search.confirm is not None:
        c = space.search.confirm
        members = ", ".join(dict.fromkeys(m for t in space.mechanisms for m in t))
        design = c.seed_design()
        per = f"{design.min}-{design.max} seeds (step {design.step})" if design.sequential else f"{c.seeds} seeds"
        least = confirmation_estimate(space, most=False)
        fewest = f"at least {least.trials} (every candidate decided at its first look), " \
            if design.sequential and least is not None else ""
        lines.append(
            f"confirmation: {fewest}at most {confirm.trials} more trials (top {c.top} candidate"
            f"{'' if c.top == 1 else 's'} per tuple x {per}, with {members} alone at their settings): "
            f"{confirm.summary().split(': ', 1)[1]}; "
            f"search + confirmation: about {human_seconds(cost.cpu_seconds + confirm.cpu_seconds)} on 2 CPU "
            f"cores, {human_seconds(cost.gpu_seconds + confirm.gpu_seconds)} on one GPU")
    elif se.algorithm != "grid":
        lines.append("confirmation: off (search.confirm: false); `explorer confirm OUT` runs it later")
    lines.append(f"resources per trial: {space.resources.cpu:g} CPU, {space.resources.gpu:g} GPU")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, prog: str = "explorer") -> int:
    """Run the command; return the exit code (0 ok, 2 bad input). Never raises for bad input."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser(prog).parse_args(args_list)
    except _ArgError as e:
        print(f"{prog}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    try:
        print(describe(args.space, use_smoke=args.smoke))
    except SpaceError as e:
        print(str(e), file=sys.stderr)
        return 2
    except Exception as e:  # a bug, not the user's file: still one line, no traceback
        print(f"{args.space}: internal error while validating: {type(e).__name__}: "
              f"{' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0
