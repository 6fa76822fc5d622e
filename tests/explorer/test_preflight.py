"""What `explorer search` checks before Ray starts: exit 2 with one line, or a warning on a cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import search_spaces as ss
from explorer.cli import main
from explorer.preflight import problems, space_configs
from explorer.tune import SearchOptions
from explorer.tune.driver import _preflight

BASE = {"model": "tiny", "data.train_subset": 64, "data.test_subset": 32, "train.epochs": 1, "seed": 0}


def _imagefolder(root: Path, classes: int) -> Path:
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * c + i, dtype=np.uint8)).save(root / f"class{c}" / f"{i}.png")
    return root


def test_a_space_that_can_run_has_no_problems() -> None:
    wm = dict(BASE, dataset="synthetic", mechanisms="wm", **{"wm.trigger_size": 16, "wm.source": "digits"})
    dp = dict(BASE, dataset="digits", mechanisms="dp", **{"dp.target_epsilon": 3.0, "train.batch_size": 16})
    assert problems([wm, dp]) == []


def test_each_distinct_problem_once_with_the_loaders_messages(tmp_path: Path) -> None:
    one_class = _imagefolder(tmp_path / "one", 1)
    found = problems([
        dict(BASE, dataset="imagefolder:/nonexistent", seed=0),
        dict(BASE, dataset="imagefolder:/nonexistent", seed=1),  # the same problem again
        dict(BASE, dataset="mnist", **{"data.dir": str(tmp_path / "nowhere")}),
        dict(BASE, dataset=f"imagefolder:{one_class}"),
        dict(BASE, dataset="digits", mechanisms="wm", **{"wm.trigger_size": 1000, "wm.source": "synthetic"}),
        dict(BASE, dataset="synthetic", mechanisms="dp", **{"train.batch_size": 64}),
    ])
    assert found == [
        "dataset 'imagefolder:/nonexistent' not found: expected one folder of images per class under "
        "/nonexistent; check the path",
        "dataset 'mnist' not found: expected train-images-idx3-ubyte[.gz] and the 3 other IDX files under "
        f"{tmp_path / 'nowhere' / 'MNIST' / 'raw'}; copy torchvision's MNIST/raw folder there (set --data-dir or "
        "EXPLORER_DATA_DIR)",
        f"dataset 'imagefolder:{one_class}' not found: expected at least two class folders holding images under "
        f"{one_class}; check the path",
        "wm.trigger_size: got 1000, expected at most 256 (the out-of-distribution pool: the synthetic test split)",
        "train.batch_size: got 64, expected fewer than the 64 training samples for DP-SGD's Poisson sampling",
    ]


def test_an_optuna_space_is_checked_at_both_ends_of_its_domains(tmp_path: Path) -> None:
    path = tmp_path / "opt.yaml"
    path.write_text("name: opt\ndataset: digits\nmodel: tiny\nmechanisms: [[wm]]\n"
                    "wm: {trigger_size: {int: [8, 300]}, source: synthetic}\n"
                    "search: {algorithm: optuna, num_samples: 4, objectives: {acc: max, wm.acc: max}}\n")
    space = ss.load(str(path))
    sizes = {c["wm.trigger_size"] for c in space_configs(space) if c["mechanisms"] == "wm"}
    assert {8, 300} <= sizes
    assert problems(space_configs(space)) == [
        "wm.trigger_size: got 300, expected at most 256 (the out-of-distribution pool: the synthetic test split)"]


SPACE = """
name: pre
dataset: {dataset}
model: tiny
data: {{train_subset: 64, test_subset: 32{dir}}}
training: {{epochs: 1}}
mechanisms: [[wm]]
wm: {{trigger_size: 8}}
seeds: 1
"""


@pytest.mark.parametrize("dataset, data_dir, needle", [
    ("imagefolder:/nonexistent", "", "dataset 'imagefolder:/nonexistent' not found"),
    ("mnist", ", dir: /nonexistent/data", "dataset 'mnist' not found: expected train-images-idx3-ubyte[.gz] and "
                                          "the 3 other IDX files under /nonexistent/data/MNIST/raw"),
])
def test_a_missing_dataset_exits_2_before_ray_starts(tmp_path: Path, dataset: str, data_dir: str, needle: str,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ray_tmp = tmp_path / "ray-tmp"  # where a Ray runtime would put its files: it must stay empty
    ray_tmp.mkdir()
    monkeypatch.setenv("RAY_TMPDIR", str(ray_tmp))
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(dataset=dataset, dir=data_dir))
    assert main(["search", str(space), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {space}: {needle}"), err
    assert not any(ray_tmp.iterdir())  # Ray never started
    assert not (tmp_path / "out").exists()  # nothing written


def test_on_a_cluster_the_same_problem_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(dataset="mnist", dir=", dir: /nonexistent/data"))
    _preflight(ss.load(str(space)), SearchOptions(space_path=str(space), out=str(tmp_path), address="auto"))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("[explorer] warning: dataset 'mnist' not found")
    assert err[0].endswith("(on this machine; the cluster's nodes may differ)")


def test_a_local_ray_that_does_not_start_is_tried_again_then_one_line_and_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import explorer.tune.session as session

    calls = []

    def refuse(**kwargs: object) -> None:
        calls.append(kwargs)
        raise Exception("The current node timed out during startup. This could happen because ...")

    monkeypatch.setattr(session.ray, "init", refuse)
    monkeypatch.setattr(session, "RETRY_S", 0.0)
    space = tmp_path / "space.yaml"
    space.write_text("name: s\ndataset: digits\nmechanisms: [[wm]]\nseeds: 1\nbaselines: false\n")
    assert main(["search", str(space), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(calls) == 2 and "trying once more" in err[0]
    assert err[-1] == ("error: the local Ray runtime did not start, twice (The current node timed out during startup. "
                       "This could happen because ...); is the machine overloaded or out of memory?")
