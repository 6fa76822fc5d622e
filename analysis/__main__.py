"""`python -m analysis RESULTS --out DIR ...`: the report command (see `analysis.report.main`)."""

from __future__ import annotations

from analysis.report import main

raise SystemExit(main())
