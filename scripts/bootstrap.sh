#!/usr/bin/env bash
# Set up the project's environment: check Python and Java, create .venv, install pinned deps.
# Idempotent: a stamp file records what was installed, so a second run only re-checks.
# Usage: scripts/bootstrap.sh [extras]   (extras: comma list of pyproject extras, e.g. "test,dev")
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-python3}"
venv=".venv"

die() { echo "error: $*" >&2; exit 1; }

# --- Python ------------------------------------------------------------------------------
command -v "$python" >/dev/null 2>&1 \
  || die "Python 3.11+ is required but '$python' was not found; install Python 3.11 (or set PYTHON=/path/to/python3.11)"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null \
  || die "Python 3.11+ is required but '$python' is $("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown); install Python 3.11 (or set PYTHON=/path/to/python3.11)"
"$python" -c 'import venv, ensurepip' 2>/dev/null \
  || die "'$python' has no venv/ensurepip module; install your distribution's python3-venv package"

# --- Java (JAVA_HOME first, as Spark does) -----------------------------------------------
if [ -n "${JAVA_HOME:-}" ]; then
  java="$JAVA_HOME/bin/java"
  [ -x "$java" ] || die "JAVA_HOME is set to '$JAVA_HOME' but $java does not exist; point JAVA_HOME at a Java 17 or 21 install"
else
  java="$(command -v java || true)"
  [ -n "$java" ] || die "Java 17+ is required by Spark 4 but 'java' was not found; install OpenJDK 17 (e.g. apt install openjdk-17-jre-headless) or set JAVA_HOME"
fi
jver="$("$java" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
jmajor="${jver%%.*}"
[ "$jmajor" = "1" ] && jmajor="$(echo "$jver" | cut -d. -f2)"
case "$jmajor" in
  ''|*[!0-9]*) die "could not read the Java version from '$java -version'; install OpenJDK 17 or set JAVA_HOME" ;;
esac
[ "$jmajor" -ge 17 ] || die "Java 17+ is required by Spark 4 but $java is Java $jver; install OpenJDK 17 or set JAVA_HOME"

# --- venv and pinned install -------------------------------------------------------------
stamp="$venv/.mining-installed${extras:+-${extras//,/-}}"
want="$(cat pyproject.toml requirements/constraints.txt | cksum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "bootstrap: creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
echo "bootstrap: installing $spec with pinned versions (first run downloads pyspark, ~450 MB)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e "$spec"
echo "$want" > "$stamp"
echo "bootstrap: done"
