#!/usr/bin/python3
"""old_worker.py URL...: a worker as it was before replies carried
"instance": one REP socket (libnng through ctypes) dialing every URL,
answering each request with the pong {"v":1, "ok":true, "pong":true,
"worker":<pid>} and nothing else. Runs until killed. For
test_worker_count.sh: the frontend must count each of its connections as
a worker, since it cannot tell they are one process."""
import ctypes
import os
import struct
import sys

NNG_FLAG_ALLOC = 1
NNG_FLAG_NONBLOCK = 2


class Socket(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


def pong(pid):
    """The msgpack map, written by hand (the standard library has none)."""
    return (b"\x84" + b"\xa1v\x01" + b"\xa2ok\xc3" + b"\xa4pong\xc3" + b"\xa6worker\xce" +
            struct.pack(">I", pid))


def main(urls):
    nng = ctypes.CDLL("libnng.so.1")
    sock = Socket()
    if nng.nng_rep0_open(ctypes.byref(sock)) != 0:
        sys.exit("nng_rep0_open failed")
    for url in urls:  # in the background: nng redials until the frontend is up
        if nng.nng_dial(sock, url.encode(), None, NNG_FLAG_NONBLOCK) != 0:
            sys.exit("cannot dial " + url)
    reply = pong(os.getpid())
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    while nng.nng_recv(sock, ctypes.byref(buf), ctypes.byref(size), NNG_FLAG_ALLOC) == 0:
        nng.nng_free(buf, size)
        nng.nng_send(sock, reply, len(reply), 0)
    sys.exit("nng_recv failed")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
