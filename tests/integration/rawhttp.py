"""Raw HTTP/1.1 client for the frontend's integration tests: byte-exact
requests that curl will not send, many idle connections, and timings.

  rawhttp.py send PORT CTYPE FILE HEADER...   POST /predict with the body of
        FILE and exactly these extra header lines; prints "STATUS CLOSED BODY"
        (CLOSED = 1 when the server closed the connection after answering).
  rawhttp.py chunked PORT CTYPE FILE HEADER... the same with a chunked body.
  rawhttp.py cap PORT N                        opens N idle connections, then
        one more that sends a 200 KB POST; prints "STATUS SECONDS" for that last
        one (STATUS "closed" if the server closed it without an answer, or
        "timeout" after 10 s); then closes the N and checks that a new GET
        /nope is served: prints "after STATUS".
  rawhttp.py idle PORT                         connects, sends nothing, and
        prints the seconds until the server closes it ("timeout" after 30 s).
Every wait is bounded; all sockets are on 127.0.0.1.
"""
import socket
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    return s


def read_answer(s, limit=10.0):
    """Status code and body of one response, and whether the server then
    closed the connection. Status is 'closed' when no answer came."""
    s.settimeout(limit)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return "closed", b"", True
            data += chunk
    except socket.timeout:
        return "timeout", b"", False
    except ConnectionResetError:
        return "closed", b"", True
    head, body = data.split(b"\r\n\r\n", 1)
    status = head.split(b" ", 2)[1].decode()
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    try:
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        s.settimeout(2.0)
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    except ConnectionResetError:
        closed = True
    return status, body, closed


def post(port, ctype, path, headers, chunked):
    body = open(path, "rb").read()
    head = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n" % ctype
    head += "".join(h + "\r\n" for h in headers) + "\r\n"
    if chunked:
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    s = connect(port)
    s.sendall(head.encode() + body)
    status, answer, closed = read_answer(s)
    s.close()
    print(status, int(closed), answer.decode(errors="replace"))


def cap(port, n):
    held = [connect(port) for _ in range(int(n))]
    time.sleep(0.2)  # let the server accept them all before the extra one
    t0 = time.monotonic()
    try:
        # An upload, not a bare GET: the server answers without reading it,
        # and must not reset the connection before the answer is read.
        s = connect(port)
        body = b"x" * 200000
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: image/png\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        time.sleep(0.1)  # the answer is on its way before the body
        s.sendall(body)
        status, _, _ = read_answer(s)
        s.close()
    except (ConnectionResetError, BrokenPipeError):
        status = "closed"
    print(status, "%.3f" % (time.monotonic() - t0))
    for h in held:
        h.close()
    time.sleep(0.2)
    s = connect(port)
    s.sendall(b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
    print("after", read_answer(s)[0])
    s.close()


def idle(port):
    s = connect(port)
    t0 = time.monotonic()
    s.settimeout(30.0)
    try:
        while s.recv(4096):
            pass
        print("%.3f" % (time.monotonic() - t0))
    except socket.timeout:
        print("timeout")
    except ConnectionResetError:
        print("%.3f" % (time.monotonic() - t0))


def main():
    cmd = sys.argv[1]
    if cmd in ("send", "chunked"):
        post(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:], cmd == "chunked")
    elif cmd == "cap":
        cap(sys.argv[2], sys.argv[3])
    elif cmd == "idle":
        idle(sys.argv[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
