"""Runs a command and writes its wall time and peak resident memory as JSON.

usage: measure.py RESULT.json COMMAND [ARG...]

The harness runs every measurement through this small process rather than directly: on
Linux a child's peak-RSS figure (ru_maxrss) starts from its parent's at fork and survives
exec, so a child of the harness (which holds frames for the correctness check) would
report the harness's memory. Forked from this process, the floor is this interpreter's
few MiB. stdin/stdout/stderr pass through; SIGINT and SIGTERM are passed on to the command
(how the harness stops `frameflow serve`).
"""
import json
import os
import signal
import subprocess
import sys
import time

result, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
p = subprocess.Popen(argv)
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda s, _: p.send_signal(s))
_, status, usage = os.wait4(p.pid, 0)
wall = time.perf_counter() - started
with open(result, "w") as f:
    json.dump({"wall_s": wall, "peak_mib": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status)}, f)
sys.exit(0)
