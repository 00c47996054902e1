#!/usr/bin/env bash
# The test command behind `make test` (and so CI): lint, the local suite, then the Spark Connect
# subset against a local Connect server. pytest's exit code 5 ("no tests collected") is not a
# failure for the Connect pass of a subset, but it is for the main pass.
set -uo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
export PYSPARK_PYTHON="$PWD/$py" PYSPARK_DRIVER_PYTHON="$PWD/$py"

echo "== lint (ruff, mypy, deptry)"
.venv/bin/ruff check . || exit 1
.venv/bin/mypy || exit 1
.venv/bin/deptry . || exit 1   # every import of mining/ and jobs/ is a runtime dependency

echo "== tests, local[2]"
"$py" -m pytest -m "not slow" --durations=30 "$@"  # the slowest tests, for the budget
rc=$?
[ $rc -eq 0 ] || exit $rc

echo "== tests, Spark Connect (local server on 127.0.0.1)"
"$py" -m pytest -m "connect and not slow" --spark-remote=auto -p no:cacheprovider \
    --durations=15 "$@"
rc=$?
[ $rc -eq 5 ] && { echo "no Connect tests collected"; rc=0; }
exit $rc
