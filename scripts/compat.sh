#!/usr/bin/env bash
# `make compat`: the Python package against torchcodec by torchcodec's documented behaviour
# (clients/python/tests/test_compat.py, every test once per backend). Makes or reuses the
# peers' venv (.bench/venv, as scripts/bench.sh does) with the pinned torch and torchcodec
# only, installs clients/python into it, runs the tests and writes both backends' counts into
# the "Compatibility" section of BENCHMARKS.md. Not part of `make test` (which runs the
# NumPy-only part of the same file against frameflow alone).
#   COMPAT_NO_WRITE=1 ./scripts/compat.sh   run only, BENCHMARKS.md untouched
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.bench/venv
REQ=scripts/peers/requirements.txt
mkdir -p .bench

if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -c "import ensurepip" 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv "$VENV"
fi
# The pins scripts/bench.sh uses, for the packages these tests need.
PINS=$(grep -E '^(torch|torchcodec|numpy)==' "$REQ")
if ! "$VENV/bin/python" - "$PINS" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
for pin in sys.argv[1].split():
    name, want = pin.split("==")
    if version(name).split("+")[0] != want:
        sys.exit(1)
import pytest  # noqa: F401
PY
  echo "compat: installing the pinned torch and torchcodec into $VENV (torch is a large download)" >&2
  "$VENV/bin/pip" install -q --upgrade pip
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q $PINS pytest
fi

"$VENV/bin/pip" install -q --disable-pip-version-check ./clients/python
XML=.bench/compat.xml
set +e
(cd clients/python && "../../$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/test_compat.py --junitxml="../../$XML")
status=$?
set -e

"$VENV/bin/python" - "$XML" <<'PY' > .bench/compat.md
import datetime, subprocess, sys, xml.etree.ElementTree as ET
from importlib.metadata import version

counts = {}
rows = {}
for case in ET.parse(sys.argv[1]).iter("testcase"):
    name = case.get("name")
    backend = name[name.rfind("[") + 1:-1] if name.endswith("]") else "both"
    tags = [c.tag for c in case]
    skipped = [c for c in case if c.tag == "skipped"]
    if skipped and skipped[0].get("type") == "pytest.xfail":
        outcome = "differs (documented)"
    elif skipped:
        outcome = "skipped"
    elif "failure" in tags or "error" in tags:
        outcome = "failed"
    else:
        outcome = "passed"
    counts.setdefault(backend, {}).setdefault(outcome, 0)
    counts[backend][outcome] += 1
    base = name[: name.rfind("[")] if name.endswith("]") else name
    rows.setdefault(base, {})[backend] = outcome
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
if subprocess.run(["git", "status", "--porcelain", "clients/python"], capture_output=True, text=True).stdout.strip():
    commit += " with uncommitted changes in clients/python"
print("<!-- compat:begin -->")
print(f"## Compatibility: frameflow vs torchcodec by torchcodec's documented behaviour ({datetime.date.today()}, at {commit})")
print()
print(f"`make compat` (`scripts/compat.sh`): `clients/python/tests/test_compat.py`, each test run once per backend, "
      f"torch {version('torch')}, torchcodec {version('torchcodec')}. Expected values come from torchcodec's documentation; "
      "a row where one backend passes and the other fails is a difference. `differs (documented)`: a deliberate difference "
      "listed in clients/python/README.md (the torchcodec row is a strict xfail); `both`: a test comparing the two "
      "libraries' outputs directly.")
print()
print("| backend | passed | failed | differs (documented) | skipped |")
print("|---|---|---|---|---|")
for backend in ("frameflow", "torchcodec", "both"):
    c = counts.get(backend, {})
    print(f"| {backend} | {c.get('passed', 0)} | {c.get('failed', 0)} | {c.get('differs (documented)', 0)} | {c.get('skipped', 0)} |")
failing = [(base, r) for base, r in rows.items() if any(v == "failed" for v in r.values())]
if failing:
    print()
    print("Failing rows:")
    print()
    for base, r in failing:
        print(f"- `{base}`: " + ", ".join(f"{k} {v}" for k, v in sorted(r.items())))
print()
print("<!-- compat:end -->")
PY
cat .bench/compat.md
if [ -z "${COMPAT_NO_WRITE:-}" ]; then
  python3 scripts/peers/benchmarks_md.py compat BENCHMARKS.md < .bench/compat.md >/dev/null
  echo "compat: wrote the Compatibility section of BENCHMARKS.md" >&2
fi
exit $status
