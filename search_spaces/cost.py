"""A rough cost model, so that ``validate`` can say "minutes" or "GPU-days" before anything runs.

Unit: one *image pass*, the forward and backward pass of one training image through the trial's model.
Per trial (E epochs, N training images, N_t test images, all after ``data.*_subset``):

Each mechanism's spec declares its part (:class:`explorer_core.spec.Cost`); the built-ins':

- training: ``E * N * (m_dp + adv_steps)``, with ``m_dp`` = 2.5 under DP-SGD (per-sample clipping, Poisson
  batches, accounting) else 1, and ``adv_steps`` = ``adv.steps`` under adversarial training (PGD runs with
  DP hooks off, so its passes are not DP-inflated), i.e. (steps + 1)x without DP;
- WM: ``E * |D_T| * m_dp`` (the trigger pass each epoch); RAD: ``marking_epochs * N`` (the marking network,
  unless ``rad.marking_model`` is given) + ``iterations * ratio * N`` (optimising the marks);
- evaluation: ``E * N_t / 3`` (clean accuracy each epoch, forward only) + ``adv_samples * (eval steps + 1)``
  (the PGD attack behind ``adv.acc``, once; ``E + 1`` times with ``eval.epoch_adv``);
- DI: ``2 * S * 30 * max_steps / 2 / 3`` (Blind Walk, forward only, walks stop halfway on average), twice
  and plus an ``E * N / 2`` plain model when ``di.independent``;
- risks (``eval.risks``): ``(N + (1 + K) * N_t) / 3`` per trial (the training accuracy, and the membership
  attack's forward passes under the trial's model and its K = ``eval.risk_references`` reference models), plus
  K undefended trainings ``E * N`` once per distinct (dataset, model, training setup) of the space (the
  reference models are cached and shared by every trial and seed of a setup).

Seconds = passes / throughput(model, device) + a fixed overhead per trial (process, data, model, Ray); on
the CPU the throughput scales with the image's pixels against the model's reference size (REFERENCE_PIXELS).
The CPU throughputs come from timing bare SGD steps (batch 64, GroupNorm models) on 2 cores of a shared
x86 machine (cnn4 ~2,300/s, resnet20 ~770/s when quiet, 5-10x less when busy), rounded down for a real
training loop; the GPU ones are assumptions for one data-centre GPU kept busy by several fractional-GPU
trials, not measurements. Expect 2x either way.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from explorer_core import registry
from explorer_core.config import DATASET_SHAPES, auto_model
from .expand import expand
from .optuna_space import OptunaSpace
from .schema import Space

__all__ = ["CostEstimate", "DATASET_SIZES", "THROUGHPUT", "REFERENCE_PIXELS", "trial_passes", "estimate",
           "confirmation_estimate", "human_seconds"]

#: (train, test) images per dataset; digits is scikit-learn's 1,797 split 80/20.
DATASET_SIZES: dict[str, tuple[int, int]] = {
    "digits": (1437, 360), "mnist": (60000, 10000), "fashion_mnist": (60000, 10000),
    "cifar10": (50000, 10000), "gtsrb": (39209, 12630), "synthetic": (2000, 500),
}
_UNKNOWN_SIZE = (10000, 2000)  # imagefolder:PATH
#: Image passes per second: (2 CPU cores, one GPU in aggregate), at the model's reference image size.
THROUGHPUT: dict[str, tuple[float, float]] = {
    "tiny": (20000.0, 200000.0), "cnn4": (1500.0, 60000.0), "resnet20": (300.0, 20000.0),
}
#: Pixels per image at which THROUGHPUT holds (8x8 digits, 28x28 MNIST, 32x32 CIFAR-10). A convolution's
#: cost on the CPU grows with the pixels, so other sizes scale the CPU rate (cnn4 on 8x8 digits ran the
#: quickstart's 4.2e5 passes in 72 s on 2 idle cores, ~12x its MNIST rate); a GPU's rate is left as it is,
#: since small batches of small images leave it waiting on launches rather than on arithmetic.
REFERENCE_PIXELS: dict[str, int] = {"tiny": 64, "cnn4": 784, "resnet20": 1024}
#: Seconds of fixed overhead per trial: (CPU, GPU).
OVERHEAD_S = (3.0, 8.0)


@dataclass(frozen=True)
class CostEstimate:
    """Totals for a whole space (baselines and searched trials together)."""

    trials: int
    passes: float  # image passes in all
    cpu_seconds: float  # wall time on 2 CPU cores
    gpu_seconds: float  # wall time on one GPU

    def summary(self) -> str:
        return (f"~{self.passes:.2g} image passes: about {human_seconds(self.cpu_seconds)} on 2 CPU cores, "
                f"{human_seconds(self.gpu_seconds)} on one GPU (rough, +-2x)")


def human_seconds(s: float) -> str:
    """``42 s``, ``17 min``, ``5.2 h`` or ``3.1 days``."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _model(config: Mapping[str, Any]) -> str:
    return auto_model(str(config.get("model", "auto")), str(config.get("dataset")))


def trial_passes(config: Mapping[str, Any]) -> float:
    """Image passes of one flat trial config (see the module docstring; each mechanism's part is its spec's
    :class:`~explorer_core.spec.Cost`)."""
    specs = registry.specs()
    mechs = [specs[m] for m in str(config.get("mechanisms", "none")).split("+") if m in specs]
    size = DATASET_SIZES.get(str(config.get("dataset")), _UNKNOWN_SIZE)
    n = min(config.get("data.train_subset") or size[0], size[0])
    nt = min(config.get("data.test_subset") or size[1], size[1])
    epochs = config.get("train.epochs", 5)
    factor = math.prod(s.cost.train_factor for s in mechs)
    extra = sum(s.cost.extra_per_image(config) for s in mechs if s.cost.extra_per_image is not None)
    passes = epochs * n * (factor + extra)
    passes += sum(s.cost.passes(config, n, nt, factor) for s in mechs if s.cost.passes is not None)
    names = str(config.get("mechanisms", "none")).split("+")
    eval_steps = config.get("eval.steps") or (config.get("adv.steps") if "adv" in names else None) or 25
    attacks = epochs + 1 if config.get("eval.epoch_adv") else 1
    passes += epochs * nt / 3 + attacks * min(config.get("eval.adv_samples", 1000), nt) * (eval_steps + 1)
    if config.get("eval.risks", True):
        passes += (n + (1 + config.get("eval.risk_references", 2)) * nt) / 3
    return float(passes)


def _references(config: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The training setup whose reference models a trial with ``eval.risks`` shares (None without risks)."""
    if not config.get("eval.risks", True):
        return None
    return (config.get("dataset"), _model(config), config.get("data.train_subset"),
            config.get("eval.risk_references", 2),
            *(config.get(f"train.{k}") for k in ("epochs", "batch_size", "lr", "momentum", "weight_decay")))


def _reference_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """One reference model's training: the trial's setup, undefended, no evaluation."""
    keep = {k: v for k, v in config.items() if not any(k.startswith(f"{m}.") for m in registry.names())}
    return {**keep, "mechanisms": "none", "eval.adv_samples": 0, "eval.risks": False}


def _seconds(config: Mapping[str, Any], passes: float) -> tuple[float, float]:
    model = _model(config)
    cpu, gpu = THROUGHPUT.get(model, THROUGHPUT["resnet20"])
    shape = DATASET_SHAPES.get(str(config.get("dataset")))
    if shape is not None:
        cpu *= REFERENCE_PIXELS.get(model, REFERENCE_PIXELS["resnet20"]) / (shape[1] * shape[2])
    return passes / cpu, passes / gpu


def estimate(space: Space, *, most: bool = False) -> CostEstimate:
    """The cost of running the whole space (for optuna: baselines + num_samples trials, each costed as the
    average over tuples of a trial at its ranges' reference values). Confirmation comes on top:
    :func:`confirmation_estimate`. With a sequential seed design this is the first look's cost, the least
    the search runs; ``most=True`` costs every seed the design may add (``expand(..., most=True)``)."""
    exp = expand(space, most=most)
    configs = exp.configs()
    if space.search.algorithm == "optuna":
        osp = OptunaSpace(space)
        reps = [_representative(space, t) for t in space.mechanisms]
        configs = configs + [reps[i % len(reps)] for i in range(osp.num_samples)]
    return _cost(space, configs)


def confirmation_estimate(space: Space, *, most: bool = True) -> CostEstimate | None:
    """The most that confirmation adds after the search (None when it is off): per dataset and tuple,
    ``top`` candidates, each under ``seeds`` seeds less those it already ran with (1 for optuna, the tuple's
    seeds for random), plus each member mechanism alone at the candidate's settings under ``seeds`` seeds
    (rows already in the output are reused, so the real count is often lower). Trials are costed at the
    ranges' reference values, as in :func:`estimate`. With a sequential design ``seeds`` is its ``max``;
    ``most=False`` gives its first look, ``min`` seeds, the least confirmation runs."""
    confirm = space.search.confirm
    if confirm is None:
        return None
    design = confirm.seed_design()
    seeds = design.max if most else design.min
    configs: list[dict[str, Any]] = []
    for dataset in space.datasets:
        for mechs in space.mechanisms:
            rep = {**_representative(space, mechs), "dataset": dataset}
            ran = 1 if space.search.algorithm == "optuna" else min(seeds, len(space.seeds.combined))
            configs += [rep] * ((seeds - ran) * confirm.top)
            for m in mechs:
                configs += [{**rep, "mechanisms": m}] * (seeds * confirm.top)
    return _cost(space, configs)


def _cost(space: Space, configs: list[dict[str, Any]]) -> CostEstimate:
    passes = cpu_s = gpu_s = 0.0
    setups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for c in configs:
        p = trial_passes(c)
        cs, gs = _seconds(c, p)
        passes, cpu_s, gpu_s = passes + p, cpu_s + cs, gpu_s + gs
        key = _references(c)
        if key is not None:
            setups.setdefault(key, c)
    for c in setups.values():  # each setup's reference models, trained once
        ref = _reference_config(c)
        p = trial_passes(ref) * c.get("eval.risk_references", 2)
        cs, gs = _seconds(ref, p)
        passes, cpu_s, gpu_s = passes + p, cpu_s + cs, gpu_s + gs
    concurrent_cpu = max(1.0, 2 // max(space.resources.cpu, 1e-9))
    gpu_share = space.resources.gpu if 0 < space.resources.gpu < 1 else 1.0
    cpu_s += OVERHEAD_S[0] * len(configs) / concurrent_cpu
    gpu_s += OVERHEAD_S[1] * len(configs) * gpu_share
    return CostEstimate(trials=len(configs), passes=passes, cpu_seconds=cpu_s, gpu_seconds=gpu_s)


class _Mid:
    """A stand-in Optuna trial that answers every suggestion with a middle value (for costing only)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return list(choices)[len(choices) // 2]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return (low * high) ** 0.5 if log else (low + high) / 2

    def suggest_int(self, name: str, low: int, high: int) -> int:
        return (low + high) // 2


def _representative(space: Space, mechs: tuple[str, ...]) -> dict[str, Any]:
    return OptunaSpace(dataclasses.replace(space, mechanisms=(mechs,))).suggest(_Mid())
