"""The drain on SIGTERM under load (scripts/bench-aws.sh): N keep-alive clients loop over
random exact frames of one video; after WARM seconds the server is sent SIGTERM. Counted per
request: answered (200), refused (a new connection after the listener closed: what a load
balancer that still routes here would see), broken (a request that was sent and got no or a
partial answer: work lost in flight, the drain's goal is 0), other statuses. Also the time
from SIGTERM to the process's exit.

usage: drain.py URL VIDEO_ID FRAMES PID CLIENTS WARM_SECONDS OUT.json
"""
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.parse

url, video, frames, pid, clients, warm, out = sys.argv[1:8]
frames, pid, clients, warm = int(frames), int(pid), int(clients), float(warm)
parsed = urllib.parse.urlparse(url)
# broken: a request whose answer stopped part way, or that a fresh connection got no answer
# to (work lost in flight); closed_idle: a request written onto a kept-alive connection the
# server was closing as idle, answered with nothing (never read by the server; HTTP clients
# retry these, as urllib3 and browsers do for idempotent requests).
counts = {"answered": 0, "refused": 0, "broken": 0, "closed_idle": 0, "other": 0}
latencies = []
lock = threading.Lock()
stop = threading.Event()
term_at = [None]


def client(seed):
    rng = random.Random(seed)
    conn, reused = None, False
    while not stop.is_set():
        path = f"/v1/videos/{video}/frame?index={rng.randrange(frames)}&format=jpeg"
        if conn is None:
            try:
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
                conn.connect()
                reused = False
            except OSError:
                with lock:
                    counts["refused"] += 1
                conn = None
                time.sleep(0.05)
                continue
        started = time.monotonic()
        try:
            conn.request("GET", path)
        except OSError:
            # The server closed the idle keep-alive connection before this request went out:
            # nothing was sent; reconnect.
            conn.close()
            conn = None
            continue
        try:
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            # Nothing came back: on a reused connection the server closed it as idle as the
            # request went out (http.client says RemoteDisconnected / BadStatusLine).
            idle = reused and isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
            with lock:
                counts["closed_idle" if idle else "broken"] += 1
            conn.close()
            conn = None
            continue
        try:
            body = response.read()
            closing = response.getheader("connection", "").lower() == "close"
        except (OSError, http.client.HTTPException):
            with lock:
                counts["broken"] += 1
            conn.close()
            conn = None
            continue
        reused = True
        with lock:
            if response.status == 200 and len(body) > 0:
                counts["answered"] += 1
                latencies.append(time.monotonic() - started)
            else:
                counts["other"] += 1
        if closing:
            conn.close()
            conn = None


threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
for t in threads:
    t.start()
time.sleep(warm)
before = dict(counts)
term_at[0] = time.monotonic()
os.kill(pid, signal.SIGTERM)
exited = None
status = None
for _ in range(6000):
    try:
        waited, code = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        # Not our child (started by the shell): poll for it instead.
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        if state in ("Z", "X", "gone"):
            exited = time.monotonic()
            break
        time.sleep(0.01)
        continue
    if waited == pid:
        exited = time.monotonic()
        status = code
        break
    time.sleep(0.01)
stop.set()
for t in threads:
    t.join(timeout=5)
latencies.sort()
result = {
    "clients": clients,
    "warm_seconds": warm,
    "answered_before_sigterm": before["answered"],
    "counts": counts,
    "sigterm_to_exit_s": None if exited is None else exited - term_at[0],
    "exit_status": status,
    "p50_ms": 1e3 * latencies[len(latencies) // 2] if latencies else None,
    "p99_ms": 1e3 * latencies[int(len(latencies) * 0.99)] if latencies else None,
}
json.dump(result, open(out, "w"), indent=1)
print(json.dumps(result))
