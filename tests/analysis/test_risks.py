"""Risk verdicts (analysis.risks): a mechanism or tuple raises, lowers or leaves a risk against the undefended model."""

from __future__ import annotations

import pandas as pd

from analysis.risks import RISK_COLUMNS, risk_verdicts
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
