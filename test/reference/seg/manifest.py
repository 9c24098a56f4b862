#!/usr/bin/python3
"""Write state_dict manifests of the reference segmentation models to test/reference/seg/.

None of the reference libraries is packaged for this machine, so each is imported from a source
checkout (random initialisation, nothing downloaded; only names, shapes and counts are kept):

    SMP_SRC=…/segmentation_models.pytorch  MONAI_SRC=…/MONAI  UNET_SRC=…/Pytorch-UNet \\
      /tmp/timmvenv/bin/python test/reference/seg/manifest.py

  SMP_SRC    qubvel-org/segmentation_models.pytorch (needs timm; huggingface_hub, safetensors and
             tqdm are only used for downloads and are replaced by stubs below)
  MONAI_SRC  Project-MONAI/MONAI (its networks import with torch 1.13 and numpy)
  UNET_SRC   milesial/Pytorch-UNet

Each manifest records the checkout's commit (from GIT_COMMIT_<NAME> when given). Fields as in
scripts/reference/state_dict_manifest.py: params (sum of numel over parameters()), macs (Conv2d and
ConvTranspose2d multiply-accumulates at macs_input, batch 1), entries (state_dict order,
num_batches_tracked left out, [name, shape, "param" | "buffer"]). `prefixes` maps the reference's
top-level modules to medg roles where the medg model is split into roles.

`manifest.py outputs [smp|milesial|monai …]` writes test/seg/fixtures/unet_*.expected.safetensors (for
the libraries named, all by default): small configurations of the same networks run in eval mode on
fixed inputs, every parameter and buffer set to values computed from its medg name (synthetic()
below, the same rule as test/seg/unet-pytorch.test.ts), so only the outputs are stored.
"""

import json
import os
import sys
import types

import torch
import torch.nn as nn

OUT = os.path.dirname(os.path.abspath(__file__))


def stub_modules():
    """Download-only dependencies of smp, replaced so that it imports offline."""

    class HubMixin:
        def __init_subclass__(cls, **kwargs):
            pass

        def __new__(cls, *args, **kwargs):
            return object.__new__(cls)

        def save_pretrained(self, *args, **kwargs):
            pass

        def push_to_hub(self, *args, **kwargs):
            pass

        @classmethod
        def from_pretrained(cls, *args, **kwargs):
            raise RuntimeError("offline")

    hub = types.ModuleType("huggingface_hub")
    hub.PyTorchModelHubMixin = HubMixin
    hub.ModelCard = hub.ModelCardData = object

    def offline(*args, **kwargs):
        raise RuntimeError("offline")

    hub.hf_hub_download = offline
    st = types.ModuleType("safetensors")
    st_torch = types.ModuleType("safetensors.torch")
    st_torch.load_file = st_torch.save_file = offline
    tqdm = types.ModuleType("tqdm")
    tqdm.tqdm = type("tqdm", (), {"__init__": lambda self, *a, **k: None})
    for name, mod in {"huggingface_hub": hub, "safetensors": st, "safetensors.torch": st_torch, "tqdm": tqdm}.items():
        sys.modules.setdefault(name, mod)


def count_macs(model, shape):
    total = [0]

    def conv(mod, inp, out):
        k = 1
        for d in mod.kernel_size:
            k *= d
        if isinstance(mod, nn.ConvTranspose2d):
            total[0] += inp[0].numel() * (mod.out_channels // mod.groups) * k
        else:
            total[0] += out.numel() * (mod.in_channels // mod.groups) * k

    handles = [m.register_forward_hook(conv) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(*shape))
    for h in handles:
        h.remove()
    if isinstance(out, (list, tuple)):
        out = out[-1]
    return total[0], list(out.shape)


def manifest(name, model, reference, shape, source, prefixes=None, note=None):
    params = {n for n, _ in model.named_parameters()}
    entries = [
        [k, list(v.shape), "param" if k in params else "buffer"]
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    ]
    macs, out_shape = count_macs(model, shape)
    doc = {
        "model": name,
        "reference": reference,
        "source": source,
        "regenerate": "see the header of test/reference/seg/manifest.py",
        "params": sum(p.numel() for p in model.parameters()),
        "macs": macs,
        "macs_input": list(shape),
        "output": out_shape,
    }
    if prefixes:
        doc["prefixes"] = prefixes
    if note:
        doc["note"] = note
    doc["entries"] = entries
    lines = ["{"]
    for k, v in doc.items():
        if k != "entries":
            lines.append("  %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append('  "entries": [')
    lines.append(",\n".join("    " + json.dumps(e) for e in entries))
    lines.append("  ]")
    lines.append("}")
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(name, doc["params"], macs)


def commit(var):
    return os.environ.get("GIT_COMMIT_" + var, "unknown commit")


def smp_models():
    src = os.environ["SMP_SRC"]
    sys.path.insert(0, src)
    stub_modules()
    import segmentation_models_pytorch as smp

    where = "qubvel-org/segmentation_models.pytorch %s (smp %s)" % (commit("SMP"), smp.__version__)
    model = smp.Unet("resnet34", encoder_weights=None, classes=1)
    manifest(
        "smp_unet_resnet34",
        model,
        'smp.Unet("resnet34", encoder_weights=None, classes=1)',
        (1, 3, 224, 224),
        where,
        prefixes={"encoder.": "backbone.", "decoder.": "decoder.", "segmentation_head.": "head."},
    )
    roles = {"encoder.": "backbone.", "decoder.": "decoder.", "segmentation_head.": "head."}
    manifest(
        "smp_unet_resnet50",
        smp.Unet("resnet50", encoder_weights=None, classes=1),
        'smp.Unet("resnet50", encoder_weights=None, classes=1)',
        (1, 3, 224, 224),
        where,
        prefixes=roles,
    )
    manifest(
        "smp_unet_resnet18_depth4",
        smp.Unet("resnet18", encoder_weights=None, encoder_depth=4, decoder_channels=(128, 64, 32, 16), classes=3),
        'smp.Unet("resnet18", encoder_weights=None, encoder_depth=4, decoder_channels=(128, 64, 32, 16), classes=3)',
        (1, 3, 64, 64),
        where,
        prefixes=roles,
    )
    manifest(
        "smp_unet_densenet121",
        smp.Unet("densenet121", encoder_weights=None, classes=1),
        'smp.Unet("densenet121", encoder_weights=None, classes=1)',
        (1, 3, 224, 224),
        where,
        prefixes=roles,
    )
    # timm's EfficientNet-B0 has torchvision's layers under other names; the count is compared.
    manifest(
        "smp_unet_efficientnet_b0",
        smp.Unet("timm-efficientnet-b0", encoder_weights=None, classes=1),
        'smp.Unet("timm-efficientnet-b0", encoder_weights=None, classes=1)',
        (1, 3, 224, 224),
        where,
        prefixes=roles,
        note="timm's parameter names, not torchvision's; the encoder ends before timm's conv_head",
    )
    from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder

    model = smp.Unet("resnet34", encoder_weights=None, classes=1)
    # smp adds the centre block for VGG encoders only; the decoder takes it on any.
    model.decoder = UnetDecoder(model.encoder.out_channels, (256, 128, 64, 32, 16), n_blocks=5, add_center_block=True)
    manifest(
        "smp_unet_resnet34_center",
        model,
        'smp.Unet("resnet34", encoder_weights=None, classes=1) with decoder = UnetDecoder(encoder.out_channels, (256, 128, 64, 32, 16), n_blocks=5, add_center_block=True)',
        (1, 3, 224, 224),
        where,
        prefixes=roles,
    )


def milesial_models():
    sys.path.insert(0, os.environ["UNET_SRC"])
    from unet.unet_model import UNet

    where = "milesial/Pytorch-UNet %s" % commit("UNET")
    model = UNet(n_channels=1, n_classes=2, bilinear=False)
    manifest("unet2015_bn", model, "UNet(n_channels=1, n_classes=2, bilinear=False)", (1, 1, 256, 256), where)
    # The paper's network: the same modules without batch norm, each 3x3 conv with a bias.
    for mod in list(model.modules()):
        if hasattr(mod, "double_conv"):
            convs = [m for m in mod.double_conv if isinstance(m, nn.Conv2d)]
            mod.double_conv = nn.Sequential(
                nn.Conv2d(convs[0].in_channels, convs[0].out_channels, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(convs[1].in_channels, convs[1].out_channels, 3, padding=1),
                nn.ReLU(inplace=True),
            )
    manifest(
        "unet2015",
        model,
        "UNet(n_channels=1, n_classes=2, bilinear=False), each DoubleConv without BatchNorm and with conv biases (Ronneberger et al. 2015)",
        (1, 1, 256, 256),
        where,
    )


def monai_models():
    sys.path.insert(0, os.environ["MONAI_SRC"])
    import monai
    from monai.networks.nets import AttentionUnet, BasicUNetPlusPlus, UNet

    where = "Project-MONAI/MONAI %s (monai %s)" % (commit("MONAI"), monai.__version__)
    five = dict(channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2))
    manifest(
        "monai_unet_res",
        UNet(spatial_dims=2, in_channels=1, out_channels=2, num_res_units=2, act="relu", norm="batch", **five),
        'UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2, act="relu", norm="batch")',
        (1, 1, 96, 96),
        where,
    )
    manifest(
        "monai_unet",
        UNet(spatial_dims=2, in_channels=1, out_channels=2, act="relu", **five),
        'UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), act="relu")',
        (1, 1, 96, 96),
        where,
    )
    manifest(
        "monai_unet_res_prelu",
        UNet(spatial_dims=2, in_channels=1, out_channels=2, num_res_units=2, **five),
        "UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2)",
        (1, 1, 96, 96),
        where,
        note="MONAI's default activation, PReLU: one learned slope (adn.A.weight, shape [1]) per Convolution",
    )
    manifest(
        "monai_attention_unet",
        AttentionUnet(spatial_dims=2, in_channels=1, out_channels=2, **five),
        "AttentionUnet(spatial_dims=2, in_channels=1, out_channels=2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2))",
        (1, 1, 96, 96),
        where,
        note="each AttentionLayer's merge Convolution keeps MONAI's default PReLU (merge.adn.A.weight, shape [1])",
    )
    manifest(
        "monai_unetpp",
        BasicUNetPlusPlus(spatial_dims=2, in_channels=1, out_channels=2, deep_supervision=True),
        "BasicUNetPlusPlus(spatial_dims=2, in_channels=1, out_channels=2, deep_supervision=True) (features (32, 32, 64, 128, 256, 32))",
        (1, 1, 96, 96),
        where,
        note="final_conv_0_1..0_3 exist (and count) with deep_supervision=False too; only final_conv_0_4 is then used",
    )


def lcg_uniform(n, seed):
    """test/onnx/helpers.ts randomData: uniform in [-1, 1) from s <- 1664525 s + 1013904223 mod 2^32."""
    import numpy as np

    a, c = np.uint64(1664525), np.uint64(1013904223)
    powers = np.cumprod(np.full(n, a, dtype=np.uint64))  # a^k mod 2^64, k = 1..n
    sums = np.cumsum(np.concatenate([[np.uint64(1)], powers[:-1]]))  # 1 + a + … + a^(k-1)
    with np.errstate(over="ignore"):
        states = (powers * np.uint64(seed & 0xFFFFFFFF) + sums * c) & np.uint64(0xFFFFFFFF)
    return (states.astype(np.float64) / 2**32 * 2 - 1).astype(np.float32)


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def synthetic(name, shape):
    """Deterministic values for a tensor named `name` (its medg name)."""
    import numpy as np

    n = int(np.prod(shape)) if len(shape) else 1
    u = lcg_uniform(n, fnv1a(name)).astype(np.float64)
    if name.endswith(".A.weight"):  # PReLU slopes, well away from 0 (ReLU) and 1 (identity)
        v = 0.25 + 0.2 * u
    elif name.endswith("running_var") or (name.endswith(".weight") and len(shape) == 1):
        v = 1 + 0.5 * u
    elif len(shape) >= 2:
        v = u / np.sqrt(n / shape[0])
    else:
        v = 0.2 * u
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(len(head).to_bytes(8, "little") + head + b"".join(blobs))


def run_fixture(name, model, to_medg, channels, size):
    """Loads synthetic values (by medg name), runs one [1, C, size, size] input, writes the outputs."""
    state = model.state_dict()
    for key, t in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        t.copy_(synthetic(to_medg(key), list(t.shape)))
    model.eval()
    x = lcg_uniform(channels * size * size, 1).reshape(1, channels, size, size)
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    outs = out if isinstance(out, (list, tuple)) else [out]
    path = os.path.join(OUT, "..", "..", "seg", "fixtures", name + ".expected.safetensors")
    write_safetensors(os.path.normpath(path), {"output%d" % i: o for i, o in enumerate(outs)})
    print(name, [list(o.shape) for o in outs])


def backbone(k):
    return "backbone." + k


def outputs(which):
    torch.manual_seed(0)
    if "smp" in which:
        outputs_smp()
    if "milesial" in which:
        outputs_milesial()
    if "monai" in which:
        outputs_monai()


def outputs_smp():
    sys.path.insert(0, os.environ["SMP_SRC"])
    stub_modules()
    import segmentation_models_pytorch as smp

    roles = {"encoder.": "backbone.", "decoder.": "decoder.", "segmentation_head.": "head."}

    def smp_name(k):
        for a, b in roles.items():
            if k.startswith(a):
                return b + k[len(a) :]
        return k

    model = smp.Unet("resnet18", encoder_weights=None, decoder_channels=(32, 16, 16, 8, 8), classes=2)
    run_fixture("unet_smp_resnet18", model, smp_name, 3, 32)


def outputs_milesial():
    sys.path.insert(0, os.environ["UNET_SRC"])
    from unet.unet_parts import DoubleConv, Down, OutConv, Up

    class SmallUNet(nn.Module):
        """milesial's UNet(bilinear=False) with base width 8."""

        def __init__(self, bn):
            super().__init__()
            self.inc = DoubleConv(1, 8)
            self.down1, self.down2, self.down3, self.down4 = Down(8, 16), Down(16, 32), Down(32, 64), Down(64, 128)
            self.up1, self.up2 = Up(128, 64, bilinear=False), Up(64, 32, bilinear=False)
            self.up3, self.up4 = Up(32, 16, bilinear=False), Up(16, 8, bilinear=False)
            self.outc = OutConv(8, 2)
            if not bn:
                for mod in list(self.modules()):
                    if hasattr(mod, "double_conv"):
                        convs = [m for m in mod.double_conv if isinstance(m, nn.Conv2d)]
                        mod.double_conv = nn.Sequential(
                            nn.Conv2d(convs[0].in_channels, convs[0].out_channels, 3, padding=1), nn.ReLU(),
                            nn.Conv2d(convs[1].in_channels, convs[1].out_channels, 3, padding=1), nn.ReLU(),
                        )

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x4 = self.down3(x3)
            x = self.up1(self.down4(x4), x4)
            x = self.up2(x, x3)
            x = self.up3(x, x2)
            return self.outc(self.up4(x, x1))

    run_fixture("unet_milesial_bn", SmallUNet(True), backbone, 1, 32)
    run_fixture("unet_milesial", SmallUNet(False), backbone, 1, 32)


def outputs_monai():
    sys.path.insert(0, os.environ["MONAI_SRC"])
    from monai.networks.nets import AttentionUnet, BasicUNetPlusPlus, UNet

    run_fixture(
        "unet_monai_res",
        UNet(2, 1, 2, channels=(4, 8, 16, 32), strides=(2, 2, 2), num_res_units=2, act="relu", norm="batch"),
        backbone, 1, 16,
    )
    run_fixture("unet_monai", UNet(2, 1, 2, channels=(4, 8, 16), strides=(2, 2), act="relu"), backbone, 1, 16)
    run_fixture(
        "unet_monai_res_prelu",
        UNet(2, 1, 2, channels=(4, 8, 16, 32), strides=(2, 2, 2), num_res_units=2),
        backbone, 1, 16,
    )
    run_fixture("unet_monai_prelu", UNet(2, 1, 2, channels=(4, 8, 16), strides=(2, 2)), backbone, 1, 16)
    run_fixture(
        "unet_monai_attention",
        AttentionUnet(2, 1, 2, channels=(4, 8, 16, 32), strides=(2, 2, 2)),
        backbone, 1, 16,
    )
    run_fixture(
        "unet_monai_unetpp",
        BasicUNetPlusPlus(2, 1, 2, features=(4, 4, 8, 8, 16, 4), deep_supervision=True),
        backbone, 1, 32,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["outputs"]:
        outputs(sys.argv[2:] or ["smp", "milesial", "monai"])
        sys.exit(0)
    which = sys.argv[1:] or ["smp", "milesial", "monai"]
    if "smp" in which:
        smp_models()
    if "milesial" in which:
        milesial_models()
    if "monai" in which:
        monai_models()
