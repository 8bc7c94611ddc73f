"""weights/convert.py: a .pth round-trips to safetensors with identical
tensors, and a .pth of another architecture is refused."""
import os
import subprocess
import sys
import tempfile

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "weights"))
from model import MnistNet, load_safetensors  # noqa: E402

failed = 0


def check(cond, name):
    global failed
    print(("ok - " if cond else "not ok - ") + name)
    failed += not cond


with tempfile.TemporaryDirectory() as d:
    torch.manual_seed(7)
    net = MnistNet()
    pth, out = os.path.join(d, "w.pth"), os.path.join(d, "w.safetensors")
    torch.save(net.state_dict(), pth)
    r = subprocess.run([sys.executable, os.path.join(here, "..", "..", "weights", "convert.py"),
                        pth, out], capture_output=True, text=True)
    check(r.returncode == 0, "convert exits 0")
    got = load_safetensors(out) if r.returncode == 0 else {}
    want = net.state_dict()
    check(set(got) == set(want), "same tensor names")
    check(all(torch.equal(got[k], want[k]) for k in want if k in got), "identical tensors")

    bad = {k: v for k, v in want.items() if not k.startswith("fc2")}
    torch.save(bad, pth)
    r = subprocess.run([sys.executable, os.path.join(here, "..", "..", "weights", "convert.py"),
                        pth, out], capture_output=True, text=True)
    check(r.returncode != 0 and "fc2" in r.stderr, "missing tensor refused, named")

sys.exit(1 if failed else 0)
