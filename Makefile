# Two commands matter (see README): `make demo` and `make test`. Both set up .venv on first use.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

.PHONY: demo test test-slow lint bench setup setup-test wheel clean

setup:            ## create .venv and install the project (pinned)
	@scripts/bootstrap.sh

setup-test:       ## as setup, plus test and dev tools and the torch oracle (CPU build, see pyproject)
	@scripts/bootstrap.sh test,dev,oracle-torch

demo: setup       ## run the demo pipeline on the bundled data and print results
	@$(VENV)/bin/mining run demo --quiet
	@echo "== what each data set contributed (sql/dataset_profile.sql)"
	@$(VENV)/bin/mining sql dataset_profile --quiet
	@echo "== top 10 pages of the hollins.edu web graph (sql/top_pages.sql)"
	@$(VENV)/bin/mining sql top_pages --param k=10 --quiet
	@echo "== rules of the groceries baskets with confidence >= 0.5 (sql/confident_rules.sql)"
	@$(VENV)/bin/mining sql confident_rules --param c=0.5 --quiet
	@echo "== biggest groups of near-duplicate SMS messages (sql/biggest_clusters.sql)"
	@$(VENV)/bin/mining sql biggest_clusters --param k=5 --quiet
	@echo "== confusion matrix of a logistic regression on held-out a9a rows (sql/confusion_matrix.sql)"
	@$(VENV)/bin/mining sql confusion_matrix --quiet
	@echo "== plots: warehouse/plots/pagerank_convergence.png, warehouse/plots/s_curve.png, warehouse/plots/loss_curve.png"
	@echo "== Spark's own log, one file per command: warehouse/logs/"

test: setup-test  ## lint, then the test suite: local, Spark Connect subset, cluster smoke, faults
	@scripts/run_tests.sh

test-slow: setup-test  ## the exhaustive matrices marked `slow` (not run by CI)
	@$(PY) -m pytest -m slow

lint: setup-test
	@$(VENV)/bin/ruff check . && $(VENV)/bin/mypy && $(VENV)/bin/deptry .

bench: setup-test ## benchmarks side by side with their anchors (results in bench/results/)
	@$(PY) -m bench $(BENCH_ARGS)

wheel: setup-test ## build dist/mining-*.whl, and the same archive as .zip for --py-files
	@$(PY) -m build --wheel --outdir dist . >/dev/null
	@# PySpark puts only .zip/.egg/.jar files from --py-files on the executors' sys.path.
	@for w in dist/*.whl; do cp "$$w" "$${w%-py3-none-any.whl}.zip"; done; ls dist/*.whl dist/*.zip

clean:
	rm -rf warehouse dist build .pytest_cache .mypy_cache .ruff_cache
