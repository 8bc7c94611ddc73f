"""The CNN-Transformer of DESIGN.md, in PyTorch.

State-dict names are the contract with the C engine (worker/engine/model.c):
conv1, conv2, proj, pos_embed, transformer.layers.{0,1}.*, fc1, fc2.
Shared by train.py, convert.py and the parity tests.
"""
import json
import struct

import numpy as np
import torch
from torch import nn

MEAN, STD = 0.1307, 0.3081


class MnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.proj = nn.Linear(64, 128)
        self.pos_embed = nn.Parameter(torch.zeros(1, 49, 128))
        layer = nn.TransformerEncoderLayer(
            d_model=128, nhead=4, dim_feedforward=256, dropout=0.1,
            activation="relu", batch_first=True, norm_first=False)
        self.transformer = nn.TransformerEncoder(layer, num_layers=2)
        self.fc1 = nn.Linear(128, 64)
        self.dropout = nn.Dropout(0.1)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        """x: B x 1 x 28 x 28, already normalised with MEAN and STD."""
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.flatten(2).transpose(1, 2)
        x = self.proj(x) + self.pos_embed
        x = self.transformer(x)
        x = x.mean(dim=1)
        x = self.dropout(self.relu(self.fc1(x)))
        return self.fc2(x)


def normalise(pixels):
    """pixels: N x 784 in [0, 1] -> N x 1 x 28 x 28 model input."""
    x = torch.as_tensor(pixels, dtype=torch.float32).reshape(-1, 1, 28, 28)
    return (x - MEAN) / STD


def load_split(datadir, split):
    images = np.fromfile(f"{datadir}/{split}.images", dtype="<f4")
    labels = np.fromfile(f"{datadir}/{split}.labels", dtype=np.uint8)
    return images.reshape(-1, 784), labels.astype(np.int64)


def save_safetensors(state_dict, path, metadata=None):
    """Write float32 tensors in the safetensors format (no extra package)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(state_dict):
        t = state_dict[name].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def safetensors_header(path):
    """A safetensors file's header (tensor names -> dtype, shape, offsets;
    "__metadata__" -> its string map, if any) and where the data begins."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n


def load_safetensors(path):
    header, base = safetensors_header(path)
    with open(path, "rb") as f:
        raw = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(raw[base + a:base + b], dtype="<f4")
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


def load_model(path):
    model = MnistNet()
    model.load_state_dict(load_safetensors(path))
    return model.eval()
