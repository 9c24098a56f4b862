"""The torchvision side of `npm run parity`: for each model name, writes to OUT_DIR

    NAME.safetensors   the model's state_dict (the file `--weights backbone=` reads)
    NAME.input.bin     the input, float32 [1, 3, SIZE, SIZE], little-endian
    NAME.output64.bin  torchvision's logits in eval mode, computed in float64, stored as float32
    NAME.output32.bin  the same in float32 (how far torch itself is from float64)

    /usr/bin/python3 scripts/parity/torchvision_side.py OUT_DIR SEED SIZE NAME...

Weights are torchvision's random initialisation under torch.manual_seed(SEED), then every tensor
the initialisation leaves constant is drawn at random, so that no layer is an identity: BatchNorm
running statistics and affine parameters, LayerNorm affines, ConvNeXt's layer scales (1e-6),
zero biases, ViT's zero-initialised class token and head. Nothing is downloaded.
"""
import os
import struct
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from export_weights import save_safetensors  # noqa: E402


def randomise(model, generator):
    """Draws every constant tensor of the state_dict at random, keeping the variances positive."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point() or t.numel() == 0:
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=generator))
            elif name.endswith("running_mean"):
                t.copy_(0.2 * torch.randn(t.shape, generator=generator))
            elif bool((t == t.flatten()[0]).all()):
                value = float(t.flatten()[0])
                if value != 0.0 and t.dim() <= 1 or "layer_scale" in name:
                    # scales (norm weights, layer scales): around 1 in magnitude, sign kept
                    t.copy_(0.5 + torch.rand(t.shape, generator=generator))
                else:
                    t.copy_(0.05 * torch.randn(t.shape, generator=generator))


def write_floats(path, tensor):
    data = tensor.detach().to(torch.float32).contiguous().flatten().tolist()
    with open(path, "wb") as f:
        f.write(struct.pack("<%df" % len(data), *data))


def main(argv):
    out_dir, seed, size, names = argv[1], int(argv[2]), int(argv[3]), argv[4:]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in names:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed + 1)
        model = getattr(torchvision.models, name)(weights=None).eval()
        randomise(model, generator)
        x = torch.rand((1, 3, size, size), generator=generator) * 2 - 1
        save_safetensors(model.state_dict(), os.path.join(out_dir, name + ".safetensors"))
        write_floats(os.path.join(out_dir, name + ".input.bin"), x)
        with torch.no_grad():
            y32 = model(x)
            y64 = model.double()(x.double())
        write_floats(os.path.join(out_dir, name + ".output32.bin"), y32)
        write_floats(os.path.join(out_dir, name + ".output64.bin"), y64)
        print(name, flush=True)


if __name__ == "__main__":
    main(sys.argv)
