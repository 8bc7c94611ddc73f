#!/usr/bin/python3
"""http_load.py HOST:PORT SECONDS CLIENTS FILE...

CLIENTS threads each post files to http://HOST:PORT/predict (multipart
form field "file", image/png) one after another over a keep-alive
connection, for SECONDS; client i starts at FILE i (mod the count) and
cycles. Prints one line per request: "CODE SECONDS RETRY_AFTER WHY" (CODE 0
on a connection error, RETRY_AFTER "-" when absent, WHY "budget" for a 400
from the decode CPU budget, else "-").

http_load.py --health HOST:PORT SECONDS
GETs /health every 100 ms for SECONDS and prints "CODE WORKERS" per call.

A load generator for tests/integration/test_liveness.sh: one process, so
process start-up on a loaded machine does not count in the timings.
"""
import http.client
import json
import sys
import threading
import time

BOUNDARY = "mnistloadboundary"


def form(path):
    data = open(path, "rb").read()
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
            "Content-Type: image/png\r\n\r\n" % BOUNDARY).encode()
    return head + data + ("\r\n--%s--\r\n" % BOUNDARY).encode()


def client(addr, end, bodies, first, out, lock):
    host, port = addr.rsplit(":", 1)
    conn = None
    i = first
    while time.monotonic() < end:
        body = bodies[i % len(bodies)]
        i += 1
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("POST", "/predict", body,
                         {"Content-Type": "multipart/form-data; boundary=" + BOUNDARY})
            r = conn.getresponse()
            data = r.read()
            # A 400 from the decode CPU budget (the image costs more than a
            # decode may) is told apart from other 400s.
            why = "budget" if r.status == 400 and b"took longer" in data else "-"
            line = "%d %.4f %s %s" % (r.status, time.monotonic() - t0,
                                      r.getheader("Retry-After", "-"), why)
        except (OSError, http.client.HTTPException):
            conn = None
            line = "0 %.4f - -" % (time.monotonic() - t0)
        with lock:
            out.append(line)


def health(addr, secs):
    host, port = addr.rsplit(":", 1)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", "/health")
            r = conn.getresponse()
            workers = json.loads(r.read() or b"{}").get("workers", "-")
            print(r.status, workers, flush=True)
            conn.close()
        except (OSError, http.client.HTTPException, ValueError):
            print(0, "-", flush=True)
        time.sleep(0.1)


def main():
    if sys.argv[1] == "--health":
        health(sys.argv[2], float(sys.argv[3]))
        return
    addr, secs, clients = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    bodies = [form(p) for p in sys.argv[4:]]
    end = time.monotonic() + secs
    out, lock = [], threading.Lock()
    threads = [threading.Thread(target=client, args=(addr, end, bodies, i, out, lock))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("\n".join(out))


main()
