"""The ``explorer`` command: train, validate, search, confirm, status, report, reproduction.

Bad input exits 2 with one line on stderr (``error: KEY: got VALUE, expected ALLOWED``) and writes nothing.
Heavy imports (torch, ray) happen inside the subcommands that need them.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, Sequence

from explorer.config import MECHANISMS, ConfigError, TrialConfig
from explorer_core.errors import UserError
from explorer.outcome import SearchInterrupted

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _read_mapping(path: str) -> dict[str, Any]:
    from explorer_core.errors import SpaceError
    from search_spaces.reader import read_text

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config: got {path!r}, expected an existing YAML or JSON file")
    try:
        data = read_text(p.read_text(), source=path).data  # YAML 1.2 numbers: 1e-5 is a float
    except SpaceError as err:
        raise ConfigError(str(err)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: got {type(data).__name__}, expected a mapping of config keys")
    return data


def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    import yaml

    from search_spaces.reader import looks_numeric

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set: got {item!r}, expected KEY=VALUE such as train.epochs=5")
        raw = raw.strip()
        if looks_numeric(raw):  # 1e-5 and 10/255, which YAML 1.1 reads as strings
            num, _, den = raw.partition("/")
            if den and float(den) == 0:
                raise ConfigError(f"--set: got {item!r}, expected a fraction with a non-zero denominator")
            out[key.strip()] = float(num) / float(den) if den else float(num)
            continue
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def _trial_config(args: argparse.Namespace) -> TrialConfig:
    values: dict[str, Any] = _read_mapping(args.config) if args.config else {}
    flags = {"dataset": args.dataset, "model": args.model, "mechanisms": args.mechanisms, "seed": args.seed,
             "experiment": args.experiment, "train.epochs": args.epochs, "train.device": args.device,
             "data.dir": str(Path(args.data_dir).expanduser().absolute()) if args.data_dir else None}
    values.update({k: v for k, v in flags.items() if v is not None})
    values.update(_parse_set(args.set))
    return TrialConfig.from_dict(values)


def _check_out_file(out: str) -> None:
    """Refuse an --out that cannot be written before training, not after."""
    if not out.endswith(".parquet"):
        raise ConfigError(f"--out: got {out!r}, expected a path ending in .parquet")
    parent = Path(out).expanduser().absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".probe-"):
            pass
    except OSError as err:
        raise ConfigError(f"--out: got {out!r}, expected a writable location ({err.strerror})") from None


def _json_row(row: dict[str, Any]) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, datetime):
            return v.isoformat()
        return v
    return json.dumps({k: clean(v) for k, v in row.items()})


def _cmd_train(args: argparse.Namespace) -> int:
    try:
        config = _trial_config(args)
        if args.out:
            _check_out_file(args.out)
    except ConfigError as err:
        return _fail(str(err))
    from explorer.results import build_row, error_row, write_rows
    from explorer.train import TrainingDiverged, train

    start = datetime.now(timezone.utc)
    try:
        output = train(config, log=not args.quiet)
        row = build_row(config, output, start=start, end=datetime.now(timezone.utc))
        code = 0
    except ConfigError as err:
        return _fail(str(err))
    except (TrainingDiverged, RuntimeError) as err:
        row, code = error_row(config, f"{type(err).__name__}: {err}", start=start), 1
    if args.out:
        write_rows([row], args.out)
    print(_json_row(row))
    return code


def _add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train one protected model and print its result row",
                       description="Train one protected model; prints the row as JSON on stdout, progress on stderr.")
    p.add_argument("--config", help="YAML or JSON file of config keys (flags override it)")
    p.add_argument("--dataset",
                   help="digits (default), mnist, fashion_mnist, cifar10, gtsrb, synthetic, imagefolder:PATH")
    p.add_argument("--model", help="auto (default), cnn4, resnet20, tiny")
    p.add_argument("--mechanisms", help="comma-separated, of: " + ", ".join(MECHANISMS) + " (default: none)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--experiment", help="experiment name recorded in the row")
    p.add_argument("--data-dir", help="root of the dataset files (default: $EXPLORER_DATA_DIR or ./data)")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any config key, a mechanism's too (its spec names them), e.g. --set train.epochs=5")
    p.add_argument("--out", help="also write the row to this .parquet file")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress on stderr")
    p.set_defaults(func=_cmd_train)


def _interrupted(stop: SearchInterrupted, out: str, how: str) -> int:
    print(f"search interrupted: {stop}; the rows so far are in {out}; continue with {how}", file=sys.stderr)
    return 130


def _cmd_search(args: argparse.Namespace) -> int:
    if args.max_concurrent is not None and args.max_concurrent < 1:
        return _fail(f"--max-concurrent: got {args.max_concurrent}, expected an integer >= 1")
    if args.retries < 0:
        return _fail(f"--retries: got {args.retries}, expected an integer >= 0")
    if not (args.progress_every > 0 and math.isfinite(args.progress_every)):
        return _fail(f"--progress-every: got {args.progress_every:g}, expected a number of seconds > 0")
    try:
        from explorer.tune import RayStartError, SearchOptions, run_search_outcome

        outcome = run_search_outcome(SearchOptions(
            space_path=args.space, out=args.out, address=args.address, resume=args.resume, smoke=args.smoke,
            max_concurrent=args.max_concurrent, retries=args.retries, num_cpus=args.num_cpus, num_gpus=args.num_gpus,
            keep_checkpoints=args.keep_checkpoints, heartbeat_s=args.progress_every))
    except ConfigError as err:
        return _fail(str(err))
    except SearchInterrupted as stop:
        return _interrupted(stop, args.out, "the same command plus --resume")
    except RayStartError as err:  # the machine, not the input
        print(f"error: {err}", file=sys.stderr)
        return 1
    retried = [line for line in [outcome.retried_line()] if line]  # e.g. "1 trial retried after a failure (node lost)"
    if outcome.all_failed:
        print(f"search failed: all {outcome.ran} trials errored (their rows are in {args.out}); the errors:",
              *outcome.summary(), *retried, sep="\n", file=sys.stderr)
        return 1
    print(f"search finished: results in {args.out} ({outcome.errored} errored trials); "
          f"see them with `explorer status {args.out}` or pandas.read_parquet", *outcome.summary(), *retried,
          sep="\n", file=sys.stderr)
    return 0


def _add_search(sub: Any) -> None:
    p = sub.add_parser("search", help="run a search space through Ray Tune",
                       description="Run the trials of a search space on a local Ray or a cluster; "
                                   "one Parquet row per trial under OUT/rows.")
    p.add_argument("space", help="the search space YAML (see docs/search-spaces.md)")
    p.add_argument("--out", required=True, help="output folder or URI (file://, s3://, gs://)")
    p.add_argument("--address", help="join a running Ray cluster: auto or HOST:PORT (default: start a local Ray)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted search in OUT")
    p.add_argument("--smoke", action="store_true", help="shrink the space to a quick end-to-end check")
    p.add_argument("--max-concurrent", type=int, help="trials at a time (default: the space's, else Ray's)")
    p.add_argument("--retries", type=int, default=1, help="retries of a failing trial from its last checkpoint")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    p.add_argument("--num-gpus", type=float, help="GPUs of the local Ray (default: detected)")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep each finished trial's final checkpoint under OUT/ray (default: delete them)")
    p.add_argument("--progress-every", type=float, default=60.0, metavar="SECONDS",
                   help="a progress line at least this often while trials run (default: 60)")
    p.set_defaults(func=_cmd_search)


def _cmd_confirm(args: argparse.Namespace) -> int:
    from search_spaces.schema import MAX_CANDIDATES, MAX_SEEDS

    checks = (("--top", args.top, 1, MAX_CANDIDATES), ("--seeds", args.seeds, 2, MAX_SEEDS),
              ("--max-concurrent", args.max_concurrent, 1, None), ("--retries", args.retries, 0, None))
    for flag, value, low, high in checks:
        if value is not None and (value < low or (high is not None and value > high)):
            allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
            return _fail(f"{flag}: got {value}, expected {allowed}")
    try:
        from explorer.tune import RayStartError, SearchOptions, run_confirm

        errors = run_confirm(SearchOptions(space_path="", out=args.out, address=args.address, resume=args.resume,
                                           max_concurrent=args.max_concurrent, retries=args.retries,
                                           num_cpus=args.num_cpus, num_gpus=args.num_gpus),
                             top=args.top, seeds=args.seeds, space_name=args.space)
    except ConfigError as err:
        return _fail(str(err))
    except SearchInterrupted as stop:
        return _interrupted(stop, args.out, "the same command (only missing trials run)")
    except RayStartError as err:  # the machine, not the input
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"confirmation finished: results in {args.out} ({errors} errored trials); "
          f"`explorer report {args.out} --out REPORT` tests the confirmed points", file=sys.stderr)
    return 0


def _add_confirm(sub: Any) -> None:
    p = sub.add_parser("confirm", help="rerun a search's best candidates with seeds and exact baselines",
                       description="Confirm the best candidates of the Optuna or random search recorded in OUT: "
                                   "rerun each under several seeds with every member mechanism alone at the same "
                                   "settings, so that the report can test them. Only trials missing from OUT run.")
    p.add_argument("out", help="the search's --out folder or URI")
    p.add_argument("--top", type=int, help="candidates per tuple (default: the space's search.confirm.top, else 3)")
    p.add_argument("--seeds", type=int, help="a fixed number of seeds per candidate and baseline, one look "
                        "(default: search.confirm.seeds, else 3)")
    p.add_argument("--space", help="which recorded search, when OUT holds several")
    p.add_argument("--address", help="join a running Ray cluster: auto or HOST:PORT (default: start a local Ray)")
    p.add_argument("--resume", action="store_true", help="restore the interrupted confirmation's Tune state")
    p.add_argument("--max-concurrent", type=int, help="trials at a time (default: the space's, else Ray's)")
    p.add_argument("--retries", type=int, default=1, help="retries of a failing trial from its last checkpoint")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    p.add_argument("--num-gpus", type=float, help="GPUs of the local Ray (default: detected)")
    p.set_defaults(func=_cmd_confirm)


def _cmd_status(args: argparse.Namespace) -> int:
    from explorer.status import main as status_main

    try:
        return status_main(args.out)
    except ConfigError as err:
        return _fail(str(err))


#: Subcommands implemented by the other packages (each has its own parser and --help).
_DELEGATED = {
    "validate": ("search_spaces.cli", True, "check a search space and print its trial count and cost"),
    "report": ("analysis.report", False, "write the report (verdicts, Pareto fronts, plots) of search results"),
    "reproduction": ("reproduction.tables", False, "write the paper's tables from a reproduction's rows"),
}


def _delegate(command: str, rest: Sequence[str]) -> int:
    import importlib

    module, with_command, _ = _DELEGATED[command]
    return int(importlib.import_module(module).main([command, *rest] if with_command else list(rest)))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        try:
            return _delegate(argv[0], argv[1:])
        except UserError as err:  # the error root: whatever a command did not report itself
            return _fail(str(err))
    parser = _Parser(prog="explorer", description="Protected training trials, their search and their conflicts.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(sub)
    _add_search(sub)
    _add_confirm(sub)
    p = sub.add_parser("status", help="summarise a running or finished search from its Parquet rows")
    p.add_argument("out", help="the search's --out folder or URI")
    p.set_defaults(func=_cmd_status)
    for name, (_, _, text) in _DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as err:  # the error root: whatever a command did not report itself
        return _fail(str(err))
    except KeyboardInterrupt:  # outside a Tune run (which catches the first Ctrl-C itself)
        print(f"explorer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
