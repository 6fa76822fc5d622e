"""The figures of Szyller & Asokan, "Conflicting Interactions Among Protection Mechanisms for Machine Learning
Models" (AAAI 2023), as data, so that a reproduction can be set beside them (docs/reproduction.md).

Values are copied from the paper's tables (see ``shared/docs/reference/paper-results.md``). φ_DI < 1e-30 is
stored as 1e-30 with ``DI_BELOW`` saying it is an upper bound. Only MNIST and Fashion-MNIST are listed for
the pairs' verdicts the reproduction judges; CIFAR-10 figures are kept for completeness.
"""

from __future__ import annotations

__all__ = ["BASELINES", "DI_BELOW", "DI_TABLE10", "DP_PAIRS", "ADV_PAIRS", "DECOUPLED", "DECOUPLED_VERDICTS",
           "VERDICTS", "SWEEPS"]

DI_BELOW = 1e-30
"""The paper reports φ_DI < 1e-30 for every model; this bound stands for it."""

#: Table 2: dataset -> metric -> value (5 runs each). Keys are ours: `none.acc`, `adv.acc` (ADVTR's test
#: accuracy), `adv.adv.acc` (its φ_ADV), `dp.acc`, `wm.acc`, `wm.wm.acc` (φ_WM), `rad.acc`,
#: `rad.rad.loss_gap` (φ_RAD), `di.di.p_value` (φ_DI).
BASELINES: dict[str, dict[str, float]] = {
    "mnist": {"none.acc": 0.99, "adv.acc": 0.99, "adv.adv.acc": 0.95, "dp.acc": 0.98, "wm.acc": 0.99,
              "wm.wm.acc": 0.97, "rad.acc": 0.98, "rad.rad.loss_gap": 0.284, "di.di.p_value": DI_BELOW},
    "fashion_mnist": {"none.acc": 0.91, "adv.acc": 0.87, "adv.adv.acc": 0.69, "dp.acc": 0.86, "wm.acc": 0.87,
                      "wm.wm.acc": 0.99, "rad.acc": 0.88, "rad.rad.loss_gap": 0.191, "di.di.p_value": DI_BELOW},
    "cifar10": {"none.acc": 0.92, "adv.acc": 0.88, "adv.adv.acc": 0.82, "dp.acc": 0.38, "wm.acc": 0.82,
                "wm.wm.acc": 0.97, "rad.acc": 0.85, "rad.rad.loss_gap": 0.202, "di.di.p_value": DI_BELOW},
}

#: Table 4 (10 runs): dataset -> pair -> metric -> value.
DP_PAIRS: dict[str, dict[str, dict[str, float]]] = {
    "mnist": {"dp+wm": {"acc": 0.97, "wm.acc": 0.36}, "dp+rad": {"acc": 0.97, "rad.loss_gap": 0.091},
              "di+dp": {"di.p_value": DI_BELOW}},
    "fashion_mnist": {"dp+wm": {"acc": 0.86, "wm.acc": 0.30}, "dp+rad": {"acc": 0.84, "rad.loss_gap": 0.11},
                      "di+dp": {"di.p_value": DI_BELOW}},
    "cifar10": {"dp+wm": {"acc": 0.38, "wm.acc": 0.12}, "dp+rad": {"acc": 0.35, "rad.loss_gap": 0.19},
                "di+dp": {"di.p_value": DI_BELOW}},
}

#: Table 5 (10 runs): dataset -> pair -> metric -> value.
ADV_PAIRS: dict[str, dict[str, dict[str, float]]] = {
    "mnist": {"adv+wm": {"acc": 0.97, "wm.acc": 0.99, "adv.acc": 0.88},
              "adv+rad": {"acc": 0.94, "rad.loss_gap": 0.001, "adv.acc": 0.95},
              "adv+di": {"di.p_value": DI_BELOW}},
    "fashion_mnist": {"adv+wm": {"acc": 0.80, "wm.acc": 0.99, "adv.acc": 0.51},
                      "adv+rad": {"acc": 0.87, "rad.loss_gap": 0.000, "adv.acc": 0.69},
                      "adv+di": {"di.p_value": DI_BELOW}},
    "cifar10": {"adv+wm": {"acc": 0.78, "wm.acc": 0.97, "adv.acc": 0.65},
                "adv+rad": {"acc": 0.81, "rad.loss_gap": 0.003, "adv.acc": 0.81},
                "adv+di": {"di.p_value": DI_BELOW}},
}

#: Tables 6-8, the relaxed (decoupled) variant: dataset -> pair -> metric -> value. The coupled column of
#: those tables repeats Tables 4 and 5.
DECOUPLED: dict[str, dict[str, dict[str, float]]] = {
    "mnist": {"adv+wm": {"acc": 0.97, "wm.acc": 0.99, "adv.acc": 0.89},
              "adv+rad": {"acc": 0.94, "rad.loss_gap": 0.002, "adv.acc": 0.94},
              "dp+wm": {"acc": 0.97, "wm.acc": 0.97}},
    "fashion_mnist": {"adv+wm": {"acc": 0.84, "wm.acc": 0.99, "adv.acc": 0.51},
                      "adv+rad": {"acc": 0.87, "rad.loss_gap": 0.002, "adv.acc": 0.69},
                      "dp+wm": {"acc": 0.87, "wm.acc": 0.99}},
    "cifar10": {"adv+wm": {"acc": 0.80, "wm.acc": 0.90, "adv.acc": 0.69},
                "adv+rad": {"acc": 0.82, "rad.loss_gap": 0.004, "adv.acc": 0.81},
                "dp+wm": {"acc": 0.39, "wm.acc": 0.67}},
}

#: The relaxed variants' verdicts: the paper's rule (acc and φ_ADV -10 pp, φ_WM -30 pp, φ_RAD < 1e-2) applied to
#: its Tables 6-8 figures against its Table 2 baselines, as Section 7 reads them: decoupling resolves DP+WM, not
#: ADV+WM on FMNIST (φ_ADV 0.51 vs 0.69) nor ADV+RAD (φ_RAD 0.002). MNIST and Fashion-MNIST only: CIFAR-10's
#: relaxed DP+WM lands on the φ_WM threshold itself (0.67 vs 0.97).
DECOUPLED_VERDICTS: dict[tuple[str, str], tuple[str, str]] = {
    **{("adv+wm", d): v for d, v in (("mnist", ("no conflict", "")), ("fashion_mnist", ("conflict", "adv.acc")))},
    **{("adv+rad", d): ("conflict", "rad.loss_gap") for d in ("mnist", "fashion_mnist")},
    **{("dp+wm", d): ("no conflict", "") for d in ("mnist", "fashion_mnist")},
}

#: The paper's verdicts (Table 11 and the bold cells of Tables 4-5): (pair, dataset) -> (verdict, metric).
#: "no conflict" cells name no metric.
VERDICTS: dict[tuple[str, str], tuple[str, str]] = {
    **{("dp+wm", d): ("conflict", "wm.acc") for d in ("mnist", "fashion_mnist", "cifar10")},
    **{("dp+rad", d): ("no conflict", "") for d in ("mnist", "fashion_mnist", "cifar10")},
    **{("di+dp", d): ("no conflict", "") for d in ("mnist", "fashion_mnist", "cifar10")},
    ("adv+wm", "mnist"): ("no conflict", ""),
    ("adv+wm", "fashion_mnist"): ("conflict", "adv.acc"),
    ("adv+wm", "cifar10"): ("conflict", "adv.acc"),
    **{("adv+rad", d): ("conflict", "rad.loss_gap") for d in ("mnist", "fashion_mnist", "cifar10")},
    **{("adv+di", d): ("no conflict", "") for d in ("mnist", "fashion_mnist", "cifar10")},
}

#: Table 10 (CIFAR-10 split into halves A and B): the victim (trained on A), an independent test set, and a
#: model trained on B (flagged although it never saw A).
DI_TABLE10: dict[str, float] = {"di.p_value": 1e-23, "di.p_value_unseen": 0.1, "di.p_value_independent": 1e-12}

#: Appendix A, in words (Figures 1-2): what the sweeps showed.
SWEEPS: dict[str, str] = {
    "dp+wm": "raising epsilon raises phi_WM a little, but it stays < 0.5 for all three epsilons; |D_T| matters more "
             "(25 is worse than 100); all three datasets stay in conflict",
    "adv+wm": "larger gamma costs acc and phi_ADV disproportionately; at gamma = 0.1 (normalised) FMNIST is no "
              "longer in conflict, CIFAR-10 still is",
}
