"""Analysis of protection-conflict search results: pure functions over pandas DataFrames.

Load the Parquet rows, find Pareto fronts, compare combinations with their baselines (Welch, TOST),
decide conflicts (the paper's Table 11 for any setting), pick operating points, draw and report.
Imports neither torch nor ray.
"""

from __future__ import annotations

from analysis.baselines import (
    BaselineMatch,
    baseline_settings,
    baseline_stats,
    match_columns,
    match_config,
    member_baselines,
)
from analysis.conflicts import VERDICTS, ConflictMatrix, conflicts
from analysis.equivalence import equivalence
from analysis.errors import AnalysisInputError
from analysis.load import load
from analysis.operating_points import (
    CONFIRM_SUFFIX,
    OperatingPoints,
    best_point,
    confirmation_candidates,
    operating_points,
    point_summary,
    screening_rows,
)
from analysis.pareto import (
    Constraints,
    Objectives,
    feasible_mask,
    hypervolume,
    losses,
    nondominated,
    pareto_front,
    pareto_mask,
    pareto_ranks,
)
from analysis.plot_data import (
    CurveData,
    MatrixData,
    ParetoData,
    SweepData,
    conflict_matrix_data,
    curve_data,
    pareto_data,
    pareto_projections,
)
from analysis.plots import (plot_conflicts, plot_curve, plot_pareto, plot_pareto_projections, plot_risk_fit, plot_risks,
                            plot_sweeps)
from analysis.recorded import SearchGoal, recorded_goal
from analysis.report import write_report
from analysis.risks import risk_against_fit, risk_verdicts
from analysis.schema import METRICS, hyperparameter_columns, metric_columns
from analysis.stats import Comparison, compare
from analysis.summary import config_summary
from analysis.thresholds import Thresholds

__all__ = [
    "CONFIRM_SUFFIX",
    "METRICS",
    "VERDICTS",
    "AnalysisInputError",
    "BaselineMatch",
    "Comparison",
    "ConflictMatrix",
    "Constraints",
    "CurveData",
    "MatrixData",
    "Objectives",
    "OperatingPoints",
    "ParetoData",
    "SearchGoal",
    "SweepData",
    "Thresholds",
    "baseline_settings",
    "baseline_stats",
    "best_point",
    "compare",
    "config_summary",
    "confirmation_candidates",
    "conflict_matrix_data",
    "conflicts",
    "curve_data",
    "equivalence",
    "feasible_mask",
    "hyperparameter_columns",
    "hypervolume",
    "load",
    "losses",
    "match_columns",
    "match_config",
    "member_baselines",
    "metric_columns",
    "nondominated",
    "operating_points",
    "pareto_data",
    "pareto_front",
    "pareto_mask",
    "pareto_projections",
    "pareto_ranks",
    "plot_conflicts",
    "plot_curve",
    "plot_pareto",
    "plot_pareto_projections",
    "plot_risk_fit",
    "plot_risks",
    "plot_sweeps",
    "point_summary",
    "recorded_goal",
    "risk_against_fit",
    "risk_verdicts",
    "screening_rows",
    "write_report",
]
