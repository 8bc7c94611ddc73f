#!/usr/bin/python3
"""The attack suite of issue 10 (docs/RELIABILITY.md) against a real
service on loopback: mnist-frontend with 2 spawned workers, a fresh one
per attack.

    stress.py [--quick] [--tap] [--only NAME,...] [--build DIR]

Full sizes (`make stress`, about 5 min) or --quick ones (a few seconds
each; tests/integration/test_attacks.sh). Prints a Markdown table (attack,
requests, outcomes, light client 200s and p50 / p99 latency, property,
result), or with --tap one TAP line per attack. Exit status 1 when a
property fails. The hostile images come from tests/stress/gen_hostile.py
(or the generator in $STRESS_GEN), made once into BUILD/stress-files;
without a generator the attacks that need them are skipped."""
import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attacks  # noqa: E402
from lib import ROOT, Service  # noqa: E402

FULL = dict(hostile_rounds=3, heavy_s=30, slow_conns=500, slow_s=20, over_conns=1000,
            over_s=20, recover_s=3, kill_s=15, smuggle_rounds=10, idle_conns=20000, idle_s=10,
            soak_n=100000, soak_max_s=300, rejoin=True)
QUICK = dict(hostile_rounds=1, heavy_s=4, slow_conns=200, slow_s=3, over_conns=1000,
             over_s=3, recover_s=1, kill_s=8, smuggle_rounds=2, idle_conns=5000, idle_s=2,
             soak_n=5000, soak_max_s=30, rejoin=False)


def hostile_files(build):
    """Directory of the generator's images, made when missing or older than
    the generator; None without a generator."""
    gen = os.environ.get("STRESS_GEN") or os.path.join(ROOT, "tests", "stress", "gen_hostile.py")
    if not os.path.exists(gen):
        return None
    out = os.path.join(build, "stress-files")
    stamp = os.path.join(out, ".stamp")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(gen):
        t0 = time.monotonic()
        shutil.rmtree(out, ignore_errors=True)  # no file of an older generator stays
        subprocess.run(["/usr/bin/python3", gen, out], check=True, timeout=600)
        open(stamp, "w").close()
        print("# hostile images made in %.0f s" % (time.monotonic() - t0), flush=True)
    return out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cell(s):
    return str(s).replace("|", "/")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tap", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--build", default=os.environ.get("B", "build"))
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    sc = QUICK if a.quick else FULL
    nofile = raise_nofile()
    files = hostile_files(build)
    chosen = [f for f in attacks.ALL if not a.only or f.__name__ in a.only.split(",")]
    print("# descriptors per process: %d; %s sizes" % (nofile, "quick" if a.quick else "full"),
          flush=True)
    rows, failed = [], 0
    for f in chosen:
        svc = Service(build)
        t0 = time.monotonic()
        try:
            if not svc.wait_healthy(limit=30):
                res = attacks.Result(f.__name__, "service starts")
                res.why = "the service did not become healthy"
            else:
                # Every attack is bounded: one that hangs fails with its reason.
                res = await asyncio.wait_for(f(svc, sc, files), 90 if a.quick else 600)
        except asyncio.TimeoutError:
            res = attacks.Result(f.__name__, "finishes within its bound")
            res.why = "did not finish within %d s" % (90 if a.quick else 600)
        except Exception as e:  # an attack that crashes is a failure, with its reason
            res = attacks.Result(f.__name__, "runs")
            res.why = "%s: %s" % (type(e).__name__, e)
        finally:
            svc.stop()
        secs = time.monotonic() - t0
        if res.skip:
            verdict = "SKIP"
        else:
            verdict = "PASS" if res.passed else "FAIL"
            failed += not res.passed
        rows.append((res, verdict))
        if a.tap:
            line = "%s - %s: %s" % ("not ok" if verdict == "FAIL" else "ok", res.name, res.prop)
            if res.skip:
                line += " # SKIP " + res.skip
            print(line)
            print("#   %s | light client %s | %.0f s" % (res.outcomes, res.light, secs))
            if verdict == "FAIL" and res.why:
                print("#   why: " + res.why)
            if verdict == "FAIL":
                for line in getattr(svc, "log_tail", []):
                    print("#   log: " + line)
        else:
            print("# %s: %s in %.0f s" % (res.name, verdict, secs), file=sys.stderr, flush=True)
        sys.stdout.flush()
    if not a.tap:
        print("| attack | requests | outcomes | light client: 200s, p50 / p99 | property | result |")
        print("|---|---:|---|---|---|---|")
        for res, verdict in rows:
            why = res.why if len(res.why) <= 200 else res.why[:197] + "..."
            note = verdict + (" (%s)" % res.skip if res.skip else "") + \
                (": " + why if verdict == "FAIL" and why else "")
            print("| %s |" % " | ".join(cell(x) for x in (
                res.name, res.requests, res.outcomes, res.light, res.prop, note)))
        for res, _ in rows:
            if getattr(res, "detail", ""):
                print("\n%s: %s" % (res.name, res.detail))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
