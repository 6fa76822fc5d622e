# The README's two commands: `make demo` and `make test`. Each sets up .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned to the build this project is tested with (README: "Install")
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

export RAY_USAGE_STATS_ENABLED = 0

# The quickstart search on the embedded digits (minutes on 2 CPU cores), then its report.
demo: $(STAMP)
	$(BIN)/explorer search search_spaces/presets/quickstart.yaml --out demo-results/quickstart
	$(BIN)/explorer report demo-results/quickstart --out demo-results/report
	@echo "report: demo-results/report/report.html (and report.md, conflicts.csv, pareto.csv, PNGs)"

# Lint and type-check first (settings in pyproject.toml), then the fast suite: no Ray start-up.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy explorer_core explorer search_spaces analysis reproduction examples/gaussian_noise/gaussian_noise examples/flooding/flooding
	$(BIN)/python -m pytest -q

# Everything `make test` leaves out: the tests that start Ray (local, a cluster of `ray start` processes, the
# dashboard in a browser), results on S3, a lost node, real-data training and presets end to end.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or ray"

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) demo-results .pytest_cache
