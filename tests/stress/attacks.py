"""The attacks of issue 10, one coroutine each: attack(svc, sc, files) runs
against a fresh Service and returns a Result. sc holds the sizes (full for
`make stress`, short for tests/integration/test_attacks.sh); files is the
directory of tests/stress/gen_hostile.py's images, or None. Each states
its property and measures it; none is relaxed for code that fails it."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

from lib import LightClient, count, http, pct, proc_stats, wrk, wrk_counts, LIGHT_IMAGE

RETRY_OK = (200, 503)


class Result:
    def __init__(self, name, prop):
        self.name, self.prop = name, prop
        self.requests, self.outcomes, self.light = 0, "", "-"
        self.passed, self.why, self.skip = False, "", None


def answered_ok(status, hdrs, allowed=(200, 400, 413, 503)):
    """An HTTP answer the property allows: a 503 must carry Retry-After."""
    return status in allowed and (status != 503 or "retry-after" in hdrs)


async def with_light(svc, coro, gap=0.02):
    """Runs coro while a light client posts the 28x28 example."""
    lc = LightClient(svc.port, gap=gap).start()
    try:
        out = await coro
    finally:
        await lc.stop()
    return lc, out


async def hostile(svc, sc, files):
    r = Result("(a) hostile images", "each answered 200/400/413/fast 503 within 8 s, never 504; "
               "light client 100 % 200, p99 <= 250 ms; both workers alive")
    if not files:
        r.skip = "tests/stress/gen_hostile.py not in this tree"
        return r
    names = sorted(n for n in os.listdir(files) if n.endswith((".png", ".jpg")))
    bodies = []
    for n in names:
        with open(os.path.join(files, n), "rb") as f:
            bodies.append((n, f.read()))
    pids = svc.worker_pids()
    per = []

    async def post(n, b):
        ct = "image/png" if n.endswith(".png") else "image/jpeg"
        st, h, _, dt = await http(svc.port, "POST", "/predict", b, ct, timeout=15)
        per.append((n, st, h, dt))

    async def rounds():
        t0 = time.monotonic()
        for _ in range(sc["hostile_rounds"]):
            await asyncio.gather(*(post(n, b) for n, b in bodies))
        # The light client runs at least 5 s (some 200 requests), so that
        # its p99 is a percentile, not the single slowest request.
        await asyncio.sleep(max(0.0, t0 + 5.0 - time.monotonic()))

    lc, _ = await with_light(svc, rounds())
    r.requests = len(per) + len(lc.statuses)
    r.outcomes = count([p[1] for p in per])
    r.light = lc.summary()
    bad = ["%s %d in %.1f s" % (n, st, dt) for n, st, h, dt in per
           if not answered_ok(st, h) or dt > 8]
    same = sorted(pids) == sorted(svc.worker_pids())
    r.passed = not bad and lc.ok() and same
    r.why = "; ".join(bad + ([] if same else ["a worker died"]) +
                      ([] if lc.ok() else ["light client " + lc.summary()]))
    r.detail = ", ".join("%s %d %.1f s" % (n, st, dt)
                         for n, st, _, dt in sorted(per, key=lambda p: p[0]))
    return r


async def heavy(svc, sc, files):
    r = Result("(b) 12 heavy clients, 40 MP 16-bit PNG",
               "heavy: 200, 400 from the decode CPU budget, or 503 with Retry-After "
               "within 1 s, never 504; light client 100 % 200, p99 <= 250 ms")
    path = files and os.path.join(files, "png16_rgba_40mp.png")
    if not path or not os.path.exists(path):
        r.skip = "tests/stress/gen_hostile.py not in this tree"
        return r
    with open(path, "rb") as f:
        body = f.read()
    res = []
    end = time.monotonic() + sc["heavy_s"]

    async def client():
        while time.monotonic() < end:
            st, h, b, dt = await http(svc.port, "POST", "/predict", body, timeout=15)
            # This image costs more than a decode may (docs/images.md): the
            # CPU budget's 400 is a correct answer, as a 200 would be.
            budget = st == 400 and b"took longer" in (b or b"")
            res.append((st, h, dt, budget))

    lc, _ = await with_light(svc, asyncio.gather(*(client() for _ in range(12))))
    r.requests = len(res) + len(lc.statuses)
    r.outcomes = count([x[0] for x in res])
    r.light = lc.summary()
    bad = [x for x in res if not (x[3] or answered_ok(x[0], x[1], RETRY_OK)) or
           (x[0] == 503 and x[2] > 1.0)]
    r.passed = bool(res) and not bad and lc.ok()
    r.why = "; ".join(([] if not bad else ["%d heavy answers not 200/fast 503 (%s)" % (
        len(bad), count([x[0] for x in bad]))]) + ([] if lc.ok() else ["light client " + lc.summary()]))
    return r


async def slow(svc, sc, files):
    n, secs = sc["slow_conns"], sc["slow_s"]
    r = Result("(c) %d slow clients trickling" % n, "light client 100 % 200, p99 <= 250 ms")
    head = (b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 1000000\r\nX-Pad: " + b"a" * 4000)
    closed = [0]

    async def trickle(i):
        try:
            rd, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", svc.port), 5)
        except OSError:  # TimeoutError is one
            closed[0] += 1
            return
        end = time.monotonic() + secs
        k = 0
        try:
            while time.monotonic() < end and k < len(head):
                w.write(head[k:k + 1])
                await asyncio.wait_for(w.drain(), 5)
                k += 1
                await asyncio.sleep(0.5 + (i % 10) / 20)
                if rd.at_eof() or w.is_closing():
                    break
            if rd.at_eof():
                closed[0] += 1
        except OSError:
            closed[0] += 1
        finally:
            w.close()

    async def all_slow():
        await asyncio.gather(*(trickle(i) for i in range(n)))

    lc, _ = await with_light(svc, all_slow())
    r.requests = n + len(lc.statuses)
    r.outcomes = "%d slow held, %d closed by server" % (n - closed[0], closed[0])
    r.light = lc.summary()
    r.passed = lc.ok()
    return r


async def overload(svc, sc, files):
    c, secs = sc["over_conns"], sc["over_s"]
    r = Result("(d) overload: %d connections, %d s" % (c, secs),
               "200 or 503 with Retry-After, p99 <= 1 s, no 504; "
               "1 s after: /health 2 workers, light client 100 % 200, p99 <= 250 ms")
    lc, res = await with_light(svc, wrk(svc.port, c, secs))
    t0 = time.monotonic()
    healthy = await asyncio.get_running_loop().run_in_executor(None, svc.wait_healthy, 2, 10.0)
    back = time.monotonic() - t0
    await asyncio.sleep(1.0)  # recovery is judged one second later
    after = LightClient(svc.port).start()
    await asyncio.sleep(sc["recover_s"])
    await after.stop()
    healthy = healthy and svc.health() == 2
    r.requests = res["requests"] + len(lc.statuses) + len(after.statuses)
    r.outcomes = wrk_counts(res) + ", p99 %.0f ms; healthy %.1f s after" % (
        res["p99_us"] / 1000, back)
    r.light = "during %s; after %s" % (lc.summary(), after.summary())
    bad = sum(v for k, v in res["status"].items() if k not in RETRY_OK) + res["no_retry_after"]
    r.passed = res["requests"] > 0 and bad == 0 and res["p99_us"] <= 1_000_000 \
        and healthy and after.ok()
    r.why = "" if r.passed else "bad answers %d, p99 %.0f ms, healthy after %s, recovered %s" % (
        bad, res["p99_us"] / 1000, healthy, after.ok())
    return r


async def worker_signal(svc, sc, sig):
    secs = sc["kill_s"]
    name = "SIGKILL" if sig == signal.SIGKILL else "SIGSTOP"
    # The quick pass (make test) asks the service to serve on; whether the
    # stopped worker's place is taken again within 15 s is judged by the
    # full run only: libnng 1.5.2 sometimes wedges a redial (RELIABILITY.md).
    after = "2 workers again after" if sc["rejoin"] else "still serving after"
    r = Result("(e) %s of a worker under load" % name,
               "16 clients: 200 or 503 with Retry-After, none unanswered for 5 s; "
               "light client 100 % 200; " + after)
    victim = svc.worker_pids()[0]

    async def attack():
        await asyncio.sleep(secs - 6)
        os.kill(victim, sig)

    # wrk counts a request unanswered for 5 s as a timeout error: the
    # attack lasts long enough after the signal for that to show.
    lc, (res, _) = await with_light(svc, asyncio.gather(wrk(svc.port, 16, secs, timeout=5),
                                                        attack()))
    if sig == signal.SIGSTOP:
        os.kill(victim, signal.SIGCONT)
    back = await asyncio.get_running_loop().run_in_executor(
        None, svc.wait_healthy, 2 if sc["rejoin"] else 1, 15.0)
    r.requests = res["requests"] + len(lc.statuses)
    r.outcomes = wrk_counts(res) + ", slowest answered %.1f s" % (res["max_us"] / 1e6)
    r.light = lc.summary()
    bad = sum(v for k, v in res["status"].items() if k not in RETRY_OK) + \
        res["no_retry_after"] + res["errors"]
    r.passed = res["requests"] > 0 and bad == 0 and res["max_us"] <= 5_000_000 and back \
        and all(s == 200 for s in lc.statuses)
    r.why = "" if r.passed else "bad %d, max %.1f s, %s: %s" % (
        bad, res["max_us"] / 1e6, after, back)
    return r


async def sigkill(svc, sc, files):
    return await worker_signal(svc, sc, signal.SIGKILL)


async def sigstop(svc, sc, files):
    return await worker_signal(svc, sc, signal.SIGSTOP)


def raw_exchange(port, data, wait=3.0):
    """Sends data on one connection; returns everything read until the
    server closes it or nothing came for `wait` s, and whether it closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    s.sendall(data)
    out, closed = b"", False
    try:
        while len(out) < 1 << 20:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        closed = closed or False
    s.close()
    return out, closed


async def smuggle(svc, sc, files):
    r = Result("(f) duplicate Content-Length, CL + TE",
               "400, exactly one response, connection closed")
    with open(LIGHT_IMAGE, "rb") as f:
        png = f.read()
    base = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
    cases = {
        "dup CL": base + b"Content-Length: %d\r\nContent-Length: 5\r\n\r\n" % len(png) + png,
        "CL+TE": base + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
                 % (len(png) + 5) + b"0\r\n\r\n" + png,
    }
    got, bad = [], []
    loop = asyncio.get_running_loop()
    for _ in range(sc["smuggle_rounds"]):
        for name, data in cases.items():
            # A smuggled second request would be answered on the same connection.
            out, closed = await loop.run_in_executor(
                None, raw_exchange, svc.port, data + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            n = out.count(b"HTTP/1.1 ")
            st = int(out[9:12]) if out.startswith(b"HTTP/1.1 ") else 0
            got.append(st)
            if st != 400 or n != 1 or not closed:
                bad.append("%s: %d, %d responses, closed %s" % (name, st, n, closed))
    r.requests = len(got)
    r.outcomes = count(got)
    r.passed = not bad
    r.why = "; ".join(sorted(set(bad)))
    return r


HOLDER = r"""
import os, selectors, socket, sys, time
port, n, src = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks, sel = [], selectors.DefaultSelector()
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    try:
        s.bind((src, 0)); s.connect_ex(("127.0.0.1", port))
    except OSError:
        s.close(); break
    socks.append(s); sel.register(s, selectors.EVENT_WRITE)
end, up = time.monotonic() + 15, 0
while up < len(socks) and time.monotonic() < end:
    for key, _ in sel.select(0.2):
        sel.unregister(key.fileobj)
        if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0: up += 1
print(up, flush=True)
sys.stdin.read()
gone = 0
for s in socks:
    try:
        if s.recv(1) == b"": gone += 1
    except BlockingIOError: pass
    except OSError: gone += 1
print(gone, flush=True)
"""


async def idle(svc, sc, files):
    n = sc["idle_conns"]
    r = Result("(g) %d idle connections" % n,
               "new clients answered at once: 200, or 503 when the idle ones hold the "
               "connection cap (p99 <= 250 ms); once they are gone, 100 % 200")
    per = 5000  # several holders: each process has its own descriptor limit
    holders = []
    for i in range(0, n, per):
        src = "127.0.0.%d" % (2 + i // per)
        holders.append(await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLDER, str(svc.port), str(min(per, n - i)), src,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE))
    try:
        up = 0
        for h in holders:
            line = await asyncio.wait_for(h.stdout.readline(), 30)
            up += int(line or 0)
        lc = LightClient(svc.port).start()
        await asyncio.sleep(sc["idle_s"])
        await lc.stop()
        gone = 0
        for h in holders:
            h.stdin.close()
            line = await asyncio.wait_for(h.stdout.readline(), 30)
            gone += int(line or 0)
    finally:
        for h in holders:
            if h.returncode is None:
                h.kill()
            await h.wait()
    after = LightClient(svc.port).start()
    await asyncio.sleep(sc["recover_s"])
    await after.stop()
    r.requests = n + len(lc.statuses) + len(after.statuses)
    r.outcomes = "%d connected, %d closed by server while held; new clients %s" % (
        up, gone, count(lc.statuses))
    r.light = "during %s; after %s" % (lc.summary(), after.summary())
    # --max-connections refuses at once with 503 + Retry-After (tested in
    # test_conn_limits.sh); waiting, or any other answer, fails.
    during = bool(lc.statuses) and all(x in (200, 503) for x in lc.statuses) and \
        pct(lc.latencies, 99) * 1000 <= 250
    r.passed = during and after.ok()
    r.why = "" if r.passed else "during: %s; after: %s" % (lc.summary(), after.summary())
    return r


def impostor_try(path):
    """In a child running as nobody: 'refused' or 'connected'."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(2)
            s.connect(path)
            # The SP handshake of a REP peer (nng ipc): a worker's hello.
            s.sendall(b"\x00SP\x00\x00\x31\x00\x00")
            code = 1
        except PermissionError:
            code = 0
        except OSError:
            code = 2
        os._exit(code)
    _, st = os.waitpid(pid, 0)
    return {0: "refused", 1: "connected", 2: "error"}.get(os.WEXITSTATUS(st), "error")


async def impostor(svc, sc, files):
    r = Result("(h) impostor worker as another user", "workers.sock and api.sock refuse uid 65534")
    if os.geteuid() != 0:
        r.skip = "needs root to act as another user"
        return r
    got = {}
    for sock in ("workers.sock", "api.sock"):
        got[sock] = impostor_try(os.path.join(svc.rundir, sock))
    st, _, _, _ = await http(svc.port, "POST", "/predict", open(LIGHT_IMAGE, "rb").read())
    r.requests = 3
    r.outcomes = ", ".join("%s %s" % kv for kv in got.items()) + ", then predict %d" % st
    r.passed = all(v == "refused" for v in got.values()) and st == 200
    return r


async def api_too_large(svc, sc, files):
    r = Result("(i) api.sock oversized message", "reply code too_large within 5 s; "
               "a normal api.sock request still answered")
    big = os.path.join(svc.tmp, "big.png")
    with open(big, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + os.urandom(12 << 20))
    client = os.path.join(svc.build, "mnist-client")

    async def ask(path):
        t0 = time.monotonic()
        p = await asyncio.create_subprocess_exec(
            client, "--rundir", svc.rundir, "--timeout-ms", "5000", path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(p.communicate(), 15)
        except asyncio.TimeoutError:
            p.kill()
            await p.wait()
            out = b"no reply in 15 s"
        return out.decode(errors="replace").replace(path, "").strip(), time.monotonic() - t0

    big_out, dt = await ask(big)
    small_out, _ = await ask(LIGHT_IMAGE)
    r.requests = 2
    r.outcomes = "12 MB: %s (%.1f s); 28x28: %s" % (
        (big_out.splitlines() or [""])[-1][:60], dt, small_out.split()[:1])
    r.passed = "too_large" in big_out and dt <= 5.5 and small_out.split()[:1] == ["7"]
    r.why = "" if r.passed else "no too_large reply within 5 s"
    return r


async def soak(svc, sc, files):
    n = sc["soak_n"]
    r = Result("(j) soak: %d requests" % n, "all 200; after: descriptors at most +2 and "
               "RSS at most +10 % + 2 MB per process")
    await wrk(svc.port, 16, 60, per_thread=sc["soak_n"] // 40)  # warm-up: pools, batch buffers
    await asyncio.sleep(0.5)
    pids = [svc.proc.pid] + sorted(svc.worker_pids())
    before = [proc_stats(p) for p in pids]
    res = await wrk(svc.port, 16, sc["soak_max_s"], per_thread=n // 2)
    await asyncio.sleep(1.0)
    after = [proc_stats(p) for p in pids]
    r.requests = res["requests"]
    r.outcomes = wrk_counts(res)
    parts, grew = [], False
    for name, b, a in zip(["frontend", "worker", "worker"], before, after):
        if a[0] is None or b[0] is None:
            parts.append("%s gone" % name)
            grew = True
            continue
        parts.append("%s %.1f->%.1f MB %d->%d fds" % (name, b[0] / 1024, a[0] / 1024, b[1], a[1]))
        grew |= a[1] > b[1] + 2 or a[0] > b[0] * 1.1 + 2048
    r.detail = "; ".join(parts)
    r.light = "-"
    r.passed = res["status"].get(200, 0) >= n and len(res["status"]) == 1 and not grew \
        and res["errors"] == 0
    r.why = "" if r.passed else r.detail
    return r


ALL = [hostile, heavy, slow, overload, sigkill, sigstop, smuggle, idle, impostor,
       api_too_large, soak]
