"""Radioactive data: marks, the marked subset, the on-disk cache, decoupling, the loss-gap test, bad input."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from explorer import cache
from explorer.cli import main
from explorer.config import ConfigError
from explorer.mechanisms.rad import mechanism as radioactive
from explorer.models import build_model
from explorer.train import setup, train


def _rad(run):  # type: ignore[no-untyped-def]
    return next(m for m in run.composer.mechanisms if m.name == "rad")


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_marks_are_8bit_inside_the_radius_and_replace_the_subset(make_config, cache_root: Path) -> None:
    config = make_config(("rad",), **{"rad.radius": 12 / 255})
    run = setup(config)
    rad = _rad(run)
    n = len(run.ctx.data.train_y)
    assert len(rad.labels) == round(0.1 * n) and rad.marked.dtype == torch.uint8
    change = (rad.marked.int() - rad.clean.int()).abs()
    assert int(change.max()) <= 12 and int(change.max()) > 0
    assert 20 < rad.psnr < math.inf
    # the training stream holds the marked copies in place of the originals, nothing else changed
    replaced = (run.state.train.x != run.ctx.data.train_x).flatten(1).any(1)
    assert int(replaced.sum()) <= len(rad.labels) and len(run.state.train) == n
    assert torch.equal(run.state.train.y, run.ctx.data.train_y)


def test_marked_subset_is_the_same_alone_and_in_combination(make_config, cache_root: Path) -> None:
    alone = _rad(setup(make_config(("rad",))))
    for combo in (("dp", "rad"), ("adv", "rad", "wm"), ("adv", "di", "dp", "rad", "wm")):
        other = _rad(setup(make_config(combo)))
        assert torch.equal(alone.clean, other.clean) and torch.equal(alone.marked, other.marked), combo
    assert not torch.equal(alone.clean, _rad(setup(make_config(("rad",), seed=1))).clean)


def test_a_second_trial_with_the_same_marking_reuses_the_cache(make_config, cache_root: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = _rad(setup(make_config(("rad",))))
    assert not first.cache_hit and len(list((cache_root / "rad").glob("*.pt"))) == 1

    def refuse(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("marked again")

    monkeypatch.setattr(radioactive, "mark_images", refuse)
    second = _rad(setup(make_config(("dp", "rad"), **{"rad.decoupled": True})))  # decoupling: same marks
    assert second.cache_hit and torch.equal(first.marked, second.marked)
    with pytest.raises(AssertionError, match="marked again"):  # other marking parameters: another entry
        setup(make_config(("rad",), **{"rad.iterations": 4}))


def test_a_damaged_cache_entry_is_recomputed(make_config, cache_root: Path) -> None:
    first = _rad(setup(make_config(("rad",))))
    entry = next((cache_root / "rad").glob("*.pt"))
    entry.write_bytes(b"not a torch file")
    again = _rad(setup(make_config(("rad",))))
    assert not again.cache_hit and torch.equal(first.marked, again.marked)
    assert torch.load(entry, weights_only=True)["images"].dtype == torch.uint8


_WRITER = """
import sys, time, torch
from explorer import cache
def compute():
    with open(sys.argv[1], "a") as fh:
        fh.write("computed\\n")
    time.sleep(1.0)
    return {"x": torch.arange(5)}
value, hit = cache.cached("test", "key", compute)
assert torch.equal(value["x"], torch.arange(5))
print(hit)
"""


def test_concurrent_trials_compute_an_entry_once(tmp_path: Path) -> None:
    log = tmp_path / "computed.log"
    env = {**os.environ, "EXPLORER_CACHE_DIR": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(log)], env=env, stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2]) for _ in range(2)]
    outs = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert log.read_text().count("computed") == 1 and outs == ["False", "True"]
    assert not list((tmp_path / "cache" / "test").glob("*.tmp"))


def test_decoupled_marks_leave_the_private_stream_and_void_dp(make_config, cache_root: Path) -> None:
    run = setup(make_config(("dp", "rad"), **{"rad.decoupled": True}))
    rad = _rad(run)
    assert len(run.state.train) == len(run.ctx.data.train_y) - len(rad.labels)
    out = train(make_config(("dp", "rad"), **{"rad.decoupled": True}))
    assert any(c.startswith("rad.decoupled") and "DP guarantee does not cover" in c for c in out.caveats)
    assert not train(make_config(("rad",), **{"rad.decoupled": True})).caveats  # no DP: nothing voided


def test_decoupled_step_trains_the_marked_images_outside_the_stream(make_config, cache_root: Path) -> None:
    run = setup(make_config(("rad",), **{"rad.decoupled": True}))
    before = [p.detach().clone() for p in run.state.network.parameters()]
    for group in run.state.optimizer.param_groups:
        group["lr"] = 0.05
    _rad(run).after_epoch(run.ctx, run.state, 0)
    assert any(not torch.equal(a, b) for a, b in zip(before, run.state.network.parameters()))


class _Lookup(nn.Module):
    """Confident on the given images, uniform on anything else: a model that "learned" exactly them."""

    def __init__(self, known: torch.Tensor, labels: torch.Tensor, classes: int) -> None:
        super().__init__()
        self.known, self.labels, self.classes = known.float() / 255, labels, classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        match = (x[:, None] - self.known[None]).flatten(2).abs().amax(2) < 1e-6  # [batch, known]
        logits = torch.zeros(len(x), self.classes)
        hit = match.any(1)
        logits[hit, self.labels[match.float().argmax(1)[hit]]] = 20.0
        return logits


def test_loss_gap_is_positive_for_a_model_that_learned_the_marks(make_config, cache_root: Path) -> None:
    run = setup(make_config(("rad",)))
    rad, classes = _rad(run), run.ctx.data.num_classes
    from dataclasses import replace

    learned = _Lookup(rad.marked, rad.labels, classes)
    out = rad.evaluate(run.ctx, replace(run.state, model=learned, network=learned))
    assert out["loss_gap"] == pytest.approx(math.log(classes), abs=1e-3) and out["p_value"] < 1e-10
    clean = _Lookup(rad.clean, rad.labels, classes)
    out = rad.evaluate(run.ctx, replace(run.state, model=clean, network=clean))
    assert out["loss_gap"] < -1 and out["p_value"] > 0.99
    both = _Lookup(torch.cat([rad.clean, rad.marked]), torch.cat([rad.labels, rad.labels]), classes)
    out = rad.evaluate(run.ctx, replace(run.state, model=both, network=both))
    assert out["loss_gap"] == 0 and out["p_value"] == 1.0  # identical losses: a degenerate test is no evidence


def test_a_given_marking_model_is_loaded_and_keys_the_cache(make_config, cache_root: Path, tmp_path: Path) -> None:
    ctx = setup(make_config(())).ctx
    net = build_model("tiny", ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
    path = tmp_path / "marking.pt"
    torch.save(net.state_dict(), path)
    given = _rad(setup(make_config(("rad",), **{"rad.marking_model": str(path)})))
    trained = _rad(setup(make_config(("rad",))))
    assert not given.cache_hit and not torch.equal(given.marked, trained.marked)
    torch.save({"weight": torch.zeros(3)}, path)  # a different file: another key, and a one-line refusal
    with pytest.raises(ConfigError, match="rad.marking_model: got .*expected a state_dict of tiny"):
        setup(make_config(("rad",), **{"rad.marking_model": str(path)}))


def test_cache_keys_depend_on_the_data() -> None:
    a = cache.tensor_digest(torch.zeros(3, dtype=torch.uint8))
    assert a != cache.tensor_digest(torch.ones(3, dtype=torch.uint8)) and a != cache.tensor_digest(torch.zeros(4))


FAST = ["--dataset", "synthetic", "--model", "tiny", "--epochs", "1", "--device", "cpu", "--quiet",
        "--mechanisms", "rad", "--set", "data.train_subset=128", "--set", "eval.adv_samples=8",
        "--set", "eval.steps=1", "--set", "rad.iterations=2", "--set", "rad.marking_epochs=1"]


@pytest.mark.parametrize("args, needle", [
    (["--set", "rad.ratio=1"], "rad.ratio: got 1, expected a number > 0 and < 1"),
    (["--set", "rad.ratio=0"], "rad.ratio: got 0, expected a number > 0 and < 1"),
    (["--set", "rad.ratio=1.5"], "rad.ratio: got 1.5, expected a number > 0 and < 1"),
    (["--set", "rad.radius=0"], "rad.radius: got 0, expected a number > 0 and <= 1"),
    (["--set", "rad.radius=-0.1"], "rad.radius: got -0.1, expected a number > 0 and <= 1"),
    (["--set", "rad.ratio=0.001"], "rad.ratio: got 0.001, expected at least 2 of the 128 training images"),
    (["--set", "rad.optimizer=lbfgs"], "rad.optimizer: got 'lbfgs', expected one of adam, sgd"),
    (["--set", "rad.lambda_logit=-1"], "rad.lambda_logit: got -1, expected a number >= 0"),
    (["--set", "rad.carriers=gaussian"], "rad.carriers: got 'gaussian', expected one of random, class"),
    (["--set", "rad.marking_model=/nonexistent.pt"], "rad.marking_model: got '/nonexistent.pt', expected an existing"),
])
def test_bad_radioactive_input_exits_2_with_one_line(args: list[str], needle: str, cache_root: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *FAST, *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and needle in lines[0], captured.err


def test_rad_prints_its_metrics(cache_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["train", *FAST]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["rad.ratio"] == 0.1 and all(isinstance(row[k], float) for k in ("rad.loss_gap", "rad.p_value",
                                                                                 "rad.psnr"))


def test_rows_and_presets_of_the_reproduction_keep_the_recipe_they_were_marked_with() -> None:
    """The default marks moved (docs/metrics.md, decision 20); every committed rad row says its recipe in its own
    columns (LEGACY_RECIPE) and is still a config of its preset (same config_id), and every preset at the
    reproduction's knobs pins that recipe, so it computes what it computed before."""
    pytest.importorskip("pandas")
    import search_spaces as ss
    from analysis.load import load
    from explorer.config import TrialConfig
    from explorer.mechanisms.rad.spec import LEGACY_RECIPE, RadConfig

    assert {k: getattr(RadConfig(), k[4:]) for k in LEGACY_RECIPE} != LEGACY_RECIPE  # else nothing to check
    root = Path(__file__).resolve().parents[2]
    rows = load(root / "results" / "reproduction")
    rows = rows[rows["mechanisms"].str.split("+").map(lambda m: "rad" in m)]
    assert len(rows) >= 30
    new = {k: getattr(RadConfig(), k[4:]) for k in LEGACY_RECIPE}
    rerun = rows["experiment"].str.endswith("-rad20")  # the reruns with decision 20's marks, labelled by name
    for key in LEGACY_RECIPE:
        assert (rows.loc[~rerun, key] == LEGACY_RECIPE[key]).all() and (rows.loc[rerun, key] == new[key]).all(), key
    for experiment, group in rows.groupby("experiment"):
        exp = ss.expand(ss.load(ss.presets()[experiment]))
        ids = {TrialConfig.from_dict(c).config_id() for c in [*exp.configs(), *exp.baselines]}
        assert set(group["config_id"]) <= ids, experiment
    for path in [*root.glob("reproduction/presets/repro-*.yaml"), root / "search_spaces/presets/risks-fmnist.yaml"]:
        exp = ss.expand(ss.load(path))
        recipe = new if path.stem.endswith("-rad20") or path.stem.startswith("risks-") else LEGACY_RECIPE
        for c in [*exp.configs(), *exp.baselines]:
            if "rad" in c["mechanisms"].split("+"):
                assert {k: c[k] for k in LEGACY_RECIPE} == recipe, path.name


def test_carriers_stay_out_of_the_config_id_only_at_the_value_earlier_rows_computed() -> None:
    from explorer.config import TrialConfig

    base = {"dataset": "synthetic", "model": "tiny", "mechanisms": "rad"}
    ids = {c: TrialConfig.from_dict({**base, "rad.carriers": c}).config_id() for c in ("random", "class")}
    assert ids["random"] == TrialConfig.from_dict(base).config_id() != ids["class"]


def test_class_carriers_are_the_marking_networks_class_directions_and_raise_its_true_logit(
        make_config, cache_root: Path, tmp_path: Path) -> None:
    """rad.carriers: class marks along the normalised last-layer row of each image's class (decision 20), so
    without the logit penalty a mark raises the marking network's logit of the true class, by more than a
    mark along RAD's random carrier; the two are cached apart."""
    import torch.nn.functional as F

    ctx = setup(make_config(())).ctx
    torch.manual_seed(0)
    net = build_model("tiny", ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
    path = tmp_path / "marking.pt"
    torch.save(net.state_dict(), path)
    knobs = {"rad.marking_model": str(path), "rad.lambda_logit": 0.0, "rad.iterations": 10}
    marked = {c: _rad(setup(make_config(("rad",), **knobs, **{"rad.carriers": c}))) for c in ("random", "class")}
    assert torch.allclose(marked["class"].carriers, F.normalize(net.net.head.weight, dim=1))
    assert not marked["class"].cache_hit and not torch.equal(marked["class"].marked, marked["random"].marked)
    again = _rad(setup(make_config(("rad",), **knobs, **{"rad.carriers": "class"})))
    assert again.cache_hit and torch.equal(again.carriers, marked["class"].carriers)
    assert torch.equal(again.marked, marked["class"].marked)
    rise = {}
    with torch.no_grad():
        for c, rad in marked.items():
            y = rad.labels
            before = net(rad.clean.float() / 255).gather(1, y[:, None])
            after = net(rad.marked.float() / 255).gather(1, y[:, None])
            rise[c] = float((after - before).mean())
    assert rise["class"] > 0 and rise["class"] > rise["random"], rise
