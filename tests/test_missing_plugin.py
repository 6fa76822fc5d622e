"""Results outlive their plug-ins (DESIGN 3.13): rows and a search record written with the example plug-in
mechanism `gauss` installed (in a subprocess, made visible by a ``*.dist-info`` folder on PYTHONPATH as in
tests/test_plugin.py; nothing is installed in the venv) are read here, where it is not installed, by `explorer
status`, `explorer report` and `analysis.load`. One line says what is missing and from which package; `gauss`'s
metric is a raw column without a verdict, its recorded threshold is not applied, and nothing else changes: every
other verdict is the one the report gives with the plug-in installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import load
from analysis.recorded import recorded_goal
from analysis.schema import hyperparameter_columns, metric_columns, missing_mechanisms, missing_text
from explorer.cli import main
from explorer_core import registry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "gaussian_noise"

SPACE = """
name: gauss-dp
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 1, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[dp, gauss]]
dp: {target_epsilon: 4}
gauss: {sigma: {grid: [0.1, 0.3]}}
seeds: 2
thresholds: {gauss: 0.05}
"""

#: What `explorer search` writes, without Ray: the record, then one row per trial (config x seed), then the
#: report, all with the plug-in installed.
WRITER = """
import sys
from datetime import datetime, timezone
import search_spaces as ss
from analysis.report import write_report
from explorer.config import TrialConfig
from explorer.confirm import write_record
from explorer.results import build_row, write_rows
from explorer.train import train
space, out, report = ss.load(sys.argv[1]), sys.argv[2], sys.argv[3]
write_record(space, out)
for i, flat in enumerate(ss.expand(space).configs()):
    config, start = TrialConfig.from_dict(flat), datetime.now(timezone.utc)
    output = train(config, log=False)
    row = build_row(config, output, trial_id=f"hand_{i:05d}", start=start, end=datetime.now(timezone.utc))
    write_rows([row], f"{out}/rows/part-hand_{i:05d}.parquet")
write_report(out, report)
"""

PACKAGE = "gaussian-noise-mechanism 0.1.0"
#: The equivalence columns that must not change when the plug-in is missing (every one but gauss's own rows).
SAME = ["dataset", "model", "mechanisms", "config_id", "metric", "baseline", "baseline_match", "role", "n", "mean",
        "n_baseline", "baseline_configs", "mean_baseline", "difference", "welch_p", "tost_p", "verdict"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(OUT, the report written with the plug-in installed)."""
    root = tmp_path_factory.mktemp("missing-plugin")
    info = root / "site" / "gaussian_noise_mechanism-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gaussian-noise-mechanism\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[protection_explorer.mechanisms]\ngauss = gaussian_noise.spec:SPEC\n")
    (root / "space.yaml").write_text(SPACE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "site"), str(EXAMPLE), str(ROOT)]))
    run = subprocess.run([sys.executable, "-c", WRITER, str(root / "space.yaml"), str(root / "out"),
                          str(root / "with-plugin")], env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return root / "out", root / "with-plugin"


def _verdicts(report: Path) -> pd.DataFrame:
    eq = pd.read_csv(report / "equivalence.csv")
    return eq[eq["metric"] != "gauss.noisy_acc"][SAME].reset_index(drop=True)


@pytest.mark.slow  # the writer trains 12 trials with the plug-in, 30-60 s: .ci/run runs it beside `make test`
def test_missing_plugin_report_status_and_load_read_what_it_wrote(  # type: ignore[no-untyped-def]
        written, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, with_plugin = written
    assert "gauss" not in registry.specs()  # not installed in this process
    line = (f"missing plug-in: mechanism gauss (package {PACKAGE}) is not installed here: its metric "
            "gauss.noisy_acc is kept as a raw column without a verdict")

    report = tmp_path / "report"
    assert main(["report", str(out), "--out", str(report)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"warning: {line}, and its recorded threshold gauss=0.05 is not applied; installing the "
                   "plug-in gives its verdicts"], err
    markdown = (report / "report.md").read_text()
    assert f"- {err[0][len('warning: '):]}\n" in markdown
    assert "gauss.noisy_acc drop" not in markdown and "gauss.noisy_acc drop 0.05" in (with_plugin / "report.md"
                                                                                       ).read_text()
    eq = pd.read_csv(report / "equivalence.csv")
    assert "gauss.noisy_acc" not in set(eq["metric"])
    assert "gauss.noisy_acc" in set(pd.read_csv(with_plugin / "equivalence.csv")["metric"])
    # nothing else changes: acc's verdicts against gauss alone at the same sigma, as with the plug-in
    pd.testing.assert_frame_equal(_verdicts(report), _verdicts(with_plugin))
    assert set(eq.loc[eq["baseline"] == "gauss", "n_baseline"]) == {2}  # one sigma's seeds, not both sigmas'

    assert main(["status", str(out)]) == 0
    status = capsys.readouterr().out.strip().splitlines()
    assert status[0].startswith("12 trials: 12 ok, 0 errored") and "dp+gauss" in "\n".join(status)
    assert status[-1] == f"{line}; installing the plug-in gives its verdicts"

    with pytest.warns(UserWarning) as caught:
        df = load(out)
    assert [str(w.message) for w in caught] == [status[-1]] and df.attrs["missing_plugins"] == status[-1]
    assert len(df) == 12 and df["gauss.noisy_acc"].dtype == float
    assert df.loc[df["mechanisms"].str.contains("gauss"), "gauss.noisy_acc"].notna().all()
    assert "gauss.noisy_acc" in metric_columns(df) and "gauss.noisy_acc" not in hyperparameter_columns(df)
    assert {"gauss.sigma", "gauss.eval_draws"} <= set(hyperparameter_columns(df))

    goal, _ = recorded_goal(out)
    assert goal is not None and goal.unknown_thresholds == {"gauss": 0.05} and goal.thresholds.wm == 0.3


def _strip_plugin_records(src: Path, dst: Path) -> None:
    """The rows as the explorer wrote them before `versions` named the plug-ins."""
    shutil.copytree(src, dst)
    for part in (dst / "rows").glob("*.parquet"):
        table = pq.read_table(part)
        versions = [json.dumps({k: v for k, v in json.loads(t).items() if k != "plug-ins"})
                    for t in table.column("versions").to_pylist()]
        index = table.schema.get_field_index("versions")
        pq.write_table(table.set_column(index, "versions", pa.array(versions, type=pa.string())), part)


@pytest.mark.slow  # the writer's rows (see above)
def test_missing_plugin_in_rows_that_do_not_record_it(written, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Older rows do not say which package wrote them nor which of its columns are metrics: the columns that vary
    within a config (under its seeds) are taken as metrics, and the line says so."""
    out, with_plugin = written
    old = tmp_path / "old"
    _strip_plugin_records(out, old)
    assert "plug-ins" not in pd.read_parquet(old / "rows")["versions"].iloc[0]
    report = tmp_path / "report"
    assert main(["report", str(old), "--out", str(report)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "warning: missing plug-in: mechanism gauss (its package is not recorded in these rows) is not installed "
        "here: its metric gauss.noisy_acc is kept as a raw column without a verdict (taken as its columns that vary "
        "within a config: the rows do not say), and its recorded threshold gauss=0.05 is not applied"), err
    pd.testing.assert_frame_equal(_verdicts(report), _verdicts(with_plugin))


def _rows(**changes: object) -> pd.DataFrame:
    base = {"config_id": ["c1", "c1", "c2"], "seed": [0, 1, 0], "dataset": "digits", "model": "tiny",
            "mechanisms": ["foo", "foo", "dp+foo"], "status": "ok", "foo.knob": [1.0, 1.0, 2.0],
            "foo.score": [0.5, 0.7, 0.6], "versions": json.dumps({"explorer": "0.1.0"})}
    return pd.DataFrame({**base, **changes})


@pytest.mark.parametrize("versions", ["not json", json.dumps({"plug-ins": ["foo"]}),
                                      json.dumps({"plug-ins": {"foo": "pkg"}}), None])
def test_missing_plugin_malformed_versions_fall_back_to_the_rows(versions: object) -> None:
    df = _rows(versions=versions)
    (found,) = missing_mechanisms(df)
    assert (found.name, found.package, found.metrics, found.knobs) == ("foo", None, ("foo.score",), ("foo.knob",))


def test_missing_plugin_line_for_thresholds_and_several_mechanisms() -> None:
    recorded = {"plug-ins": {"foo": {"package": "foo-pkg", "version": None, "metrics": ["foo.score"],
                                     "thresholds": ["foo_min"]}}}
    df = _rows(versions=json.dumps(recorded))
    assert missing_text(df, {"foo_min": 0.2, "bar": 1}) == (
        "missing plug-ins: mechanism foo (package foo-pkg) is not installed here: its metric foo.score is kept as a "
        "raw column without a verdict, and its recorded threshold foo_min=0.2 is not applied; the recorded "
        "threshold bar=1 is not applied: no mechanism installed here has it (its package is not recorded); "
        "installing the plug-ins gives their verdicts")
    quiet = _rows(mechanisms=["dp", "dp", "dp"])
    assert missing_mechanisms(quiet) == [] and missing_text(quiet) is None
    assert missing_text(quiet, {"bar": 1}) == (
        "missing plug-in: the recorded threshold bar=1 is not applied: no mechanism installed here has it (its "
        "package is not recorded); installing the plug-in gives its verdicts")
    one_seed = _rows(config_id=["c1", "c3", "c2"])  # nothing varies within a config: no column is a metric
    assert missing_mechanisms(one_seed)[0].metrics == ()
    assert "no column of it is known as a metric" in (missing_text(one_seed) or "")


@pytest.mark.slow  # the writer's rows (see above)
def test_missing_plugin_record_with_a_bad_known_threshold_is_still_an_error(  # type: ignore[no-untyped-def]
        written, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = written
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    record = json.loads((bad / "spaces" / "gauss-dp.json").read_text())
    record["analysis"]["thresholds"]["wm"] = 7  # a known threshold out of its range
    (bad / "spaces" / "gauss-dp.json").write_text(json.dumps(record))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["report", str(bad), "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "thresholds.wm: got 7" in err[0], err
    assert not (tmp_path / "report").exists()
