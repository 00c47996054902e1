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
	@$(VENV)/bin/mining run demo --quiet --report
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
