"""Save a torchvision model's state_dict as .safetensors, the file `weights=` and `--weights` read.

    /usr/bin/python3 scripts/reference/export_weights.py resnet50 out/resnet50.safetensors [--pretrained FILE.pth]

Without --pretrained the weights are torchvision's random initialisation (useful for checking names
and shapes); with it, a checkpoint you downloaded yourself (e.g. resnet50-11ad3fa6.pth) is converted.
Needs only torch (Debian's python3-torch and python3-torchvision); the format is written by hand:
an 8-byte little-endian header length, a JSON header, then the raw little-endian F32 data.
"""
import json
import struct
import sys

import torch
import torchvision


def save_safetensors(state_dict, path):
    header, chunks, offset = {}, [], 0
    for name in sorted(state_dict):
        t = state_dict[name].detach().contiguous()
        if t.dtype != torch.float32:
            t = t.to(torch.float32) if t.is_floating_point() else t.to(torch.int64)
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32" if t.dtype == torch.float32 else "I64", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for c in chunks:
            f.write(c)


def main():
    name, out = sys.argv[1], sys.argv[2]
    model = getattr(torchvision.models, name)(weights=None)
    if "--pretrained" in sys.argv:
        model.load_state_dict(torch.load(sys.argv[sys.argv.index("--pretrained") + 1], map_location="cpu"))
    save_safetensors(model.state_dict(), out)
    print(f"wrote {out}: {len(model.state_dict())} tensors")


if __name__ == "__main__":
    main()
