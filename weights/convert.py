"""Convert a PyTorch state_dict (.pth) of this architecture to safetensors.

Usage: /usr/bin/python3 weights/convert.py model_weights.pth model.safetensors

The original service shipped model_weights.pth. The state_dict is loaded
into MnistNet first, so a file with missing, extra or mis-shaped tensors is
refused with PyTorch's own message instead of producing a file the C engine
would reject later.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MnistNet, save_safetensors  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert.py IN.pth OUT.safetensors")
    src, dst = sys.argv[1], sys.argv[2]
    state = torch.load(src, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        sys.exit(f"convert: {src} holds a {type(state).__name__}, not a state_dict")
    # Checkpoints saved from DataParallel prefix every name with "module.".
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = MnistNet()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        sys.exit(f"convert: {src} does not match the architecture:\n{e}")
    save_safetensors(model.state_dict(), dst, {"format": "pt", "source": os.path.basename(src)})
    print(f"convert: wrote {dst} ({len(state)} tensors)")


if __name__ == "__main__":
    main()
