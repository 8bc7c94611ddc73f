"""Pieces of the attack suite (tests/stress/stress.py): the service under
attack, a raw HTTP/1.1 client, the light client that measures what an
ordinary user sees during an attack, wrk runs, and process statistics.

Everything listens on 127.0.0.1 or in a temporary directory; every wait is
bounded; Service.stop() kills what it started."""
import asyncio
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIGHT_IMAGE = os.path.join(ROOT, "saved_images", "img_2_label_7.png")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pct(values, p):
    """p-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


class Service:
    """mnist-frontend on 127.0.0.1:<free port> spawning `workers` workers,
    its sockets in a fresh run directory whose parent others may traverse
    (so the run directory's own mode is what keeps other users out)."""

    def __init__(self, build, workers=2, extra=()):
        self.build = build
        self.tmp = tempfile.mkdtemp(prefix="mnist-stress.")
        os.chmod(self.tmp, 0o755)
        self.rundir = os.path.join(self.tmp, "run")
        self.port = free_port()
        self.log = open(os.path.join(self.tmp, "frontend.log"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(build, "mnist-frontend"), "--listen", "127.0.0.1:%d" % self.port,
             "--rundir", self.rundir, "--spawn-workers", str(workers),
             "--worker-bin", os.path.join(build, "mnist-worker"),
             "--weights", os.path.join(ROOT, "weights", "model.safetensors"),
             "--log-level", "warn", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
            env=dict(os.environ, MNIST_WWW=os.path.join(build, "www")))
        self.nworkers = workers

    def health(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while len(data) < 4096:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
            m = re.search(rb'"workers":(\d+)', data)
            return int(m.group(1)) if data.startswith(b"HTTP/1.1 200") and m else 0
        except OSError:
            return 0

    def wait_healthy(self, workers=None, limit=20.0):
        """True once /health reports `workers` (default: all) within limit s."""
        want = self.nworkers if workers is None else workers
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if self.health() >= want:
                return True
            time.sleep(0.05)
        return False

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-f", "mnist-worker"],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self):
        workers = self.worker_pids()
        if self.proc.poll() is None:
            for p in workers:  # a SIGSTOPped worker ignores SIGTERM
                try:
                    os.kill(p, signal.SIGCONT)
                except OSError:
                    pass
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in workers:  # none outlives the suite, whatever the frontend did
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.log.close()
        try:  # the service's own account, for a failed attack's report
            with open(os.path.join(self.tmp, "frontend.log"), "rb") as f:
                self.log_tail = f.read()[-2000:].decode("utf-8", "replace").splitlines()[-8:]
        except OSError:
            self.log_tail = []
        subprocess.run(["rm", "-rf", self.tmp])


def proc_stats(pid):
    """(RSS in kB, open descriptors) of pid, or (None, None)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, StopIteration):
        return None, None


async def http(port, method, path, body=b"", ctype="image/png", timeout=15.0, headers=b""):
    """One request on a new connection: (status, headers dict, body, seconds).
    status is 0 when the connection failed or closed without an answer,
    -1 when no answer came within timeout."""
    t0 = time.monotonic()
    req = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)).encode()
    if method == "POST":
        req += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype.encode(), len(body))
    req += headers + b"\r\n" + body
    w = None
    try:
        async def go():
            nonlocal w
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(req)
            await w.drain()
            return await r.read()
        data = await asyncio.wait_for(go(), timeout)
    except asyncio.TimeoutError:
        return -1, {}, b"", time.monotonic() - t0
    except OSError:
        return 0, {}, b"", time.monotonic() - t0
    finally:
        if w is not None:
            w.close()
    return parse_response(data) + (time.monotonic() - t0,)


def parse_response(data):
    """(status, headers, body) of the first HTTP response in data."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0] if lines else b"")
    if not m:
        return 0, {}, b""
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return int(m.group(1)), hdrs, body


class LightClient:
    """One user posting the 28x28 example, one request at a time on a new
    connection each, about every `gap` s while running; records status and
    latency of each."""

    def __init__(self, port, gap=0.02, timeout=15.0):
        self.port, self.gap, self.timeout = port, gap, timeout
        with open(LIGHT_IMAGE, "rb") as f:
            self.body = f.read()
        self.statuses, self.latencies = [], []
        self.task = self.since = None

    async def _loop(self):
        while True:
            self.since = time.monotonic()
            st, _, body, dt = await http(self.port, "POST", "/predict", self.body,
                                         timeout=self.timeout)
            self.since = None
            if st == 200 and b'"digit":7' not in body:
                st = 299  # a wrong answer counts apart
            self.statuses.append(st)
            self.latencies.append(dt)
            await asyncio.sleep(self.gap)

    def start(self):
        self.task = asyncio.ensure_future(self._loop())
        return self

    async def stop(self):
        """Stops now; a request still unanswered after 250 ms counts as
        unfinished (-1), a younger one is dropped."""
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        if self.since is not None and time.monotonic() - self.since > 0.25:
            self.statuses.append(-1)
            self.latencies.append(time.monotonic() - self.since)

    def ok(self, p99_ms=250):
        return bool(self.statuses) and all(s == 200 for s in self.statuses) and \
            pct(self.latencies, 99) * 1000 <= p99_ms

    def summary(self):
        n = len(self.statuses)
        good = self.statuses.count(200)
        p50, p99 = pct(self.latencies, 50), pct(self.latencies, 99)
        if p50 is None:
            return "no requests"
        return "%d/%d 200, %.1f / %.1f ms" % (good, n, p50 * 1000, p99 * 1000)


def count(statuses):
    """'200:N 503:N ...' of a list of statuses (0 = closed without an answer, -1 = none in time,
    299 = 200 with a wrong digit)."""
    c = {}
    for s in statuses:
        c[s] = c.get(s, 0) + 1
    name = {0: "closed", -1: "unanswered", 299: "wrong"}
    return " ".join("%s:%d" % (name.get(k, k), c[k]) for k in sorted(c))


async def wrk(port, conns, seconds, image=LIGHT_IMAGE, per_thread=0, threads=2, timeout=15):
    """Runs wrk with tests/stress/counts.lua; returns its parsed output:
    {"status": {code: n}, "no_retry_after", "p50_us", "p99_us", "max_us",
    "requests", "errors"}."""
    env = dict(os.environ, STRESS_IMAGE=image, STRESS_PER_THREAD=str(per_thread))
    p = await asyncio.create_subprocess_exec(
        "wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "%ds" % timeout,
        "-s", os.path.join(ROOT, "tests", "stress", "counts.lua"),
        "http://127.0.0.1:%d/predict" % port, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    lines, done = [], 0

    async def read():
        nonlocal done
        async for line in p.stdout:
            lines.append(line)
            if line.strip() == b"thread_done":
                done += 1
                if done == threads:
                    p.send_signal(signal.SIGINT)  # wrk then reports at once
        await p.wait()
    try:
        await asyncio.wait_for(read(), seconds + timeout + 30)
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
    out = b"".join(lines)
    res = {"status": {}, "no_retry_after": 0, "p50_us": 0, "p99_us": 0, "max_us": 0,
           "requests": 0, "errors": 0}
    for line in out.decode(errors="replace").splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "status":
            res["status"][int(f[1])] = int(f[2])
        elif len(f) == 2 and f[0] in res and f[1].isdigit():
            res[f[0]] = int(f[1])
    return res


def wrk_counts(res):
    s = " ".join("%d:%d" % (k, v) for k, v in sorted(res["status"].items()))
    if res["errors"]:
        s += " errors:%d" % res["errors"]
    return s or "none"
