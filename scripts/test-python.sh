#!/usr/bin/env bash
# The Python package's tests (part of `make test`): builds clients/python with maturin (a
# release build sharing CARGO_TARGET_DIR with the rest of the repo), installs it into the
# tools venv that scripts/setup.sh makes, and runs its pytest suite.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${FRAMEFLOW_TOOLS:-$HOME/.cache/frameflow-tools}/venv"
if [ ! -x "$venv/bin/pip" ]; then
  echo "test-python: no tools venv at $venv (run scripts/setup.sh)" >&2
  exit 1
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "$root/clients/python[test]"
cd "$root/clients/python"
exec "$venv/bin/python" -m pytest -q tests
