"""Risk verdicts (analysis.risks): a mechanism or tuple raises, lowers or leaves a risk against the undefended model."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.risks import FIT_COLUMNS, RISK_COLUMNS, risk_against_fit, risk_verdicts
from analysis.thresholds import Thresholds

from .conftest import make_results

AUC = "risk.mia_auc"


def _rows() -> pd.DataFrame:
    def g(mechanisms: str, auc: tuple[float, float], **extra: object) -> dict[str, object]:
        return {"dataset": "fashion_mnist", "mechanisms": mechanisms, "metrics": {"acc": (0.9, 0.01), AUC: auc},
                **extra}

    return make_results([
        g("none", (0.56, 0.004)),
        g("adv", (0.60, 0.004)),        # raises: +0.04 > 0.02 (the direction Song et al. report)
        g("dp", (0.51, 0.004)),         # lowers: -0.05
        g("wm", (0.562, 0.004)),        # no change: within 0.02
        g("adv+wm", (0.575, 0.02)),     # +0.015, too spread out to tell
        g("rad", (0.60, 0.004), seeds=1),  # one seed: inconclusive
    ])


def test_a_risk_is_raised_lowered_left_or_undecided_against_the_undefended_model() -> None:
    table = risk_verdicts(_rows())
    assert list(table.columns) == list(RISK_COLUMNS)
    verdict = table[table["metric"] == AUC].set_index("mechanisms")["verdict"].to_dict()
    assert verdict == {"adv": "raises", "dp": "lowers", "wm": "no change", "rad": "inconclusive",
                       "adv+wm": "inconclusive"}
    reasons = table[table["metric"] == AUC].set_index("mechanisms")["reason"]
    assert reasons["adv"].startswith("risk.mia_auc +0.040 > +0.02 vs none (Welch p=")
    assert "need >= 2 each" in reasons["rad"]
    # the threshold is a knob: at 0.05 the adversarial rise is within it
    wide = risk_verdicts(_rows(), Thresholds(risk_auc=0.05))
    assert wide.set_index(["mechanisms", "metric"]).loc[("adv", AUC), "verdict"] in ("no change", "inconclusive")


def test_without_an_undefended_model_at_the_same_settings_there_is_no_verdict() -> None:
    rows = _rows()
    other = rows[rows["mechanisms"] != "none"].assign(**{"train.epochs": 7})
    assert set(risk_verdicts(pd.concat([rows[rows["mechanisms"] == "none"], other]))["verdict"]) == {"inconclusive"}
    assert risk_verdicts(rows[rows["mechanisms"] == "none"]).empty


def test_the_report_has_a_risks_section_with_the_matrix_and_a_plot(tmp_path: object) -> None:
    from pathlib import Path

    from analysis import write_report

    out = Path(str(tmp_path)) / "report"
    written = write_report(_rows(), out)
    assert {"risks.csv", "risks.png"} <= set(written)
    section = (out / "report.md").read_text().split("## Unintended risks", 1)[1].split("\n## ", 1)[0]
    assert "↑ raises +0.040 (p=" in section and "↓ lowers -0.050 (p=" in section and "= no change +0.002" in section
    assert "![" in section or "risks.png" in section
    assert len(pd.read_csv(out / "risks.csv")) == 5


GAP = "risk.train_test_gap"


def _fit_rows() -> pd.DataFrame:
    def g(mechanisms: str, epochs: int, auc: float, gap: float) -> dict[str, object]:
        return {"dataset": "fashion_mnist", "mechanisms": mechanisms, "params": {"train.epochs": epochs},
                "metrics": {"acc": (0.9, 0.01), AUC: (auc, 0.01), GAP: (gap, 0.002)}, "seeds": 3}

    rows = make_results([g("none", 10, 0.67, 0.11), g("none", 1, 0.52, 0.03), g("dp", 10, 0.53, 0.013),
                         g("adv", 10, 0.60, 0.012)])
    no_gap = make_results([{"dataset": "mnist", "mechanisms": "wm", "metrics": {AUC: (0.6, 0.01)}, "seeds": 2}])
    return pd.concat([rows, no_gap], ignore_index=True)


def test_risk_against_fit_gives_every_config_with_a_gap_its_means_the_undefended_ones_included() -> None:
    table = risk_against_fit(_fit_rows())
    assert list(table.columns) == list(FIT_COLUMNS)
    # the mnist wm config has no gap: left out; the undefended configs first, in order of their gap
    assert list(zip(table["mechanisms"], table["epochs"])) == [("none", 1), ("none", 10), ("adv", 10), ("dp", 10)]
    assert list(table["undefended"]) == [True, True, False, False]
    by = table.set_index(["mechanisms", "epochs"])
    assert by.loc[("none", 1), "gap_mean"] == pytest.approx(0.03)
    assert by.loc[("dp", 10), "mean"] == pytest.approx(0.53) and by.loc[("dp", 10), "std"] == pytest.approx(0.01)
    assert set(table["n"]) == {3}
    assert risk_against_fit(_fit_rows().drop(columns=[GAP])).empty


def test_the_report_sets_the_auc_against_the_gap_only_where_both_sides_have_one(tmp_path: object) -> None:
    from pathlib import Path

    from analysis import write_report
    from analysis.plots import plot_risk_fit

    fig = plot_risk_fit(risk_against_fit(_fit_rows()))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["undefended (none)", "adv", "dp"]
    assert [t.get_text() for t in fig.axes[0].texts] == ["1 ep", "10 ep"]  # epochs differ: labelled
    with_gap = write_report(_fit_rows(), Path(str(tmp_path)) / "a")
    assert "risks_fit.png" in with_gap
    assert "risks_fit.png" not in write_report(_rows(), Path(str(tmp_path)) / "b")  # no gap measured
