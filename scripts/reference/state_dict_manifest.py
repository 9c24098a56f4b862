#!/usr/bin/python3
"""Write state_dict manifests of torchvision (and, optionally, timm) models.

Run from the repository root with the Debian Python:

    /usr/bin/python3 scripts/reference/state_dict_manifest.py [NAME ...]

With no NAME every model in MODELS is written (plus the DeiT models when
timm can be imported; Debian has no timm package, see REGENERATE_TIMM for
the command that writes deit_b / deit_s / deit_ti).  Each manifest goes to test/reference/<name>.json.
Models are built with random initialisation (weights=None / pretrained=False):
nothing is downloaded, only names, shapes and counts are recorded.

Fields of a manifest:
  model          the manifest's name (the stdlib model it is compared with)
  reference      library, version and constructor call that produced it
  regenerate     the command line that rewrites it
  params         sum of numel over model.parameters()
  feature_width  in_features of the final classifier nn.Linear
  macs           multiply-accumulates of one forward pass at macs_input
  macs_input     input shape [N, C, H, W] used for macs
  entries        state_dict entries in state_dict order, num_batches_tracked
                 left out, each [name, [shape...], "param" | "buffer"]

How MACs are counted (forward hooks, batch 1, eval mode, no_grad):
  nn.Conv2d   out_elements * (in_channels / groups) * kh * kw
  nn.Linear   out_features * in_features * tokens, tokens = input.numel() / in_features
  nn.MultiheadAttention (ViT / DeiT-style self-attention, T tokens, width C):
              4*T*C^2 (q, k, v and output projections) + 2*T^2*C (Q K^T and A V).
              torch calls these projections functionally with in_proj_weight and
              out_proj.weight, so out_proj's own nn.Linear hook never fires and
              nothing is counted twice.  T and C are read from the output's
              shape (query/key/value arrive as keywords, not seen by hooks).
  torchvision ShiftedWindowAttention (Swin), input [B, H, W, C], window w0 x w1,
              H and W padded up to multiples of the window (Hp, Wp):
              Hp*Wp*C*3C (qkv) + Hp*Wp*C*C (proj) + 2*Hp*Wp*(w0*w1)*C (attention).
              torchvision calls qkv and proj through F.linear with the modules'
              weights, so those nn.Linear hooks do not fire either; the terms are
              computed analytically from the hook's input shape and the module's
              window_size attribute.
  timm Attention (DeiT), input [B, T, C]: its qkv/proj nn.Linear modules are
              called normally and counted by the nn.Linear hook; the attention
              matmuls 2*T^2*C are added analytically from the input shape.
Biases, normalisation, activations, pooling and softmax are not counted.
"""

import json
import os
import re
import sys

import torch
import torch.nn as nn
import torchvision
from torchvision.models.swin_transformer import ShiftedWindowAttention

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO, "test", "reference")
SCRIPT = "scripts/reference/state_dict_manifest.py"

# name -> (torchvision constructor, input resolution, classifier path)
MODELS = {
    "resnet18": ("resnet18", 224, "fc"),
    "resnet34": ("resnet34", 224, "fc"),
    "resnet50": ("resnet50", 224, "fc"),
    "resnet101": ("resnet101", 224, "fc"),
    "densenet121": ("densenet121", 224, "classifier"),
    "densenet169": ("densenet169", 224, "classifier"),
    "efficientnet_b0": ("efficientnet_b0", 224, "classifier.1"),
    "efficientnet_b1": ("efficientnet_b1", 240, "classifier.1"),
    "efficientnet_b3": ("efficientnet_b3", 300, "classifier.1"),
    "vit_b_16": ("vit_b_16", 224, "heads.head"),
    "swin_t": ("swin_t", 224, "head"),
    "swin_s": ("swin_s", 224, "head"),
    "convnext_tiny": ("convnext_tiny", 224, "classifier.2"),
    "convnext_small": ("convnext_small", 224, "classifier.2"),
}

# name -> (timm model name, input resolution, classifier path)
TIMM_MODELS = {
    "deit_b": ("deit_base_patch16_224", 224, "head"),
    "deit_s": ("deit_small_patch16_224", 224, "head"),
    "deit_ti": ("deit_tiny_patch16_224", 224, "head"),
}

NUM_CLASSES = 1000


def release(version):
    """'0.14.1a0' -> '0.14.1' (Debian builds carry a pre-release suffix)."""
    m = re.match(r"\d+(\.\d+)*", version)
    return m.group(0) if m else version


def count_macs(model, size):
    """Multiply-accumulates of one forward pass of a [1, 3, size, size] input."""
    total = [0]
    timm_attention = None
    try:
        from timm.models.vision_transformer import Attention as timm_attention  # noqa: N813
    except Exception:
        pass

    def conv_hook(mod, inp, out):
        kh, kw = mod.kernel_size
        total[0] += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod, inp, out):
        tokens = inp[0].numel() // mod.in_features
        total[0] += tokens * mod.in_features * mod.out_features

    def mha_hook(mod, inp, out):
        # torchvision passes query/key/value as keywords, which torch 1.13 does
        # not hand to forward hooks; the output has the query's shape.
        y = out[0]
        if not mod.batch_first:
            y = y.transpose(0, 1)
        b, t, c = y.shape
        assert c == mod.embed_dim
        total[0] += b * (4 * t * c * c + 2 * t * t * c)

    def swin_hook(mod, inp, out):
        b, h, w, c = inp[0].shape
        w0, w1 = mod.window_size
        hp = -(-h // w0) * w0
        wp = -(-w // w1) * w1
        total[0] += b * (hp * wp * c * 3 * c + hp * wp * c * c + 2 * hp * wp * w0 * w1 * c)

    def timm_attention_hook(mod, inp, out):
        b, t, c = inp[0].shape
        total[0] += b * 2 * t * t * c

    handles = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(linear_hook))
        elif isinstance(mod, nn.MultiheadAttention):
            handles.append(mod.register_forward_hook(mha_hook))
        elif isinstance(mod, ShiftedWindowAttention):
            handles.append(mod.register_forward_hook(swin_hook))
        elif timm_attention is not None and isinstance(mod, timm_attention):
            handles.append(mod.register_forward_hook(timm_attention_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return total[0]


REGENERATE_TV = "/usr/bin/python3 " + SCRIPT
# timm is not packaged by Debian; the DeiT manifests come from the timm wheel
# installed (without its hub dependencies, which are not needed offline) into a
# venv on top of the Debian torch/torchvision.
REGENERATE_TIMM = (
    "/usr/bin/python3 -m venv --system-site-packages /tmp/timmvenv"
    " && /tmp/timmvenv/bin/pip install --no-deps timm==1.0.29"
    " && /tmp/timmvenv/bin/python " + SCRIPT + " " + " ".join(TIMM_MODELS)
)


def manifest(name, model, reference, size, classifier, regenerate):
    head = model.get_submodule(classifier)
    assert isinstance(head, nn.Linear) and head.out_features == NUM_CLASSES, (name, head)
    param_names = {n for n, _ in model.named_parameters()}
    entries = []
    for key, tensor in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        entries.append([key, list(tensor.shape), "param" if key in param_names else "buffer"])
    return {
        "model": name,
        "reference": reference,
        "regenerate": regenerate,
        "params": sum(p.numel() for p in model.parameters()),
        "feature_width": head.in_features,
        "macs": count_macs(model, size),
        "macs_input": [1, 3, size, size],
        "entries": entries,
    }


def dump(doc):
    """JSON with one state_dict entry per line."""
    lines = ["{"]
    for key, value in doc.items():
        if key == "entries":
            continue
        lines.append("  %s: %s," % (json.dumps(key), json.dumps(value, separators=(", ", ": "))))
    lines.append('  "entries": [')
    rows = [
        "    " + json.dumps(e, separators=(", ", ": ")) for e in doc["entries"]
    ]
    lines.append(",\n".join(rows))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(doc):
    path = os.path.join(OUT_DIR, doc["model"] + ".json")
    with open(path, "w") as f:
        f.write(dump(doc))
    print("%-16s params %11d  entries %4d  macs %6.3f G  %s"
          % (doc["model"], doc["params"], len(doc["entries"]), doc["macs"] / 1e9,
             os.path.relpath(path, REPO)))


def main(argv):
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    try:
        import timm
    except ImportError:
        timm = None
    wanted = argv or list(MODELS) + (list(TIMM_MODELS) if timm else [])
    tv = release(torchvision.__version__)
    for name in wanted:
        if name in MODELS:
            ctor, size, classifier = MODELS[name]
            model = getattr(torchvision.models, ctor)(weights=None, num_classes=NUM_CLASSES)
            reference = "torchvision %s torchvision.models.%s()" % (tv, ctor)
            regenerate = REGENERATE_TV
        elif name in TIMM_MODELS:
            if timm is None:
                sys.exit("%s needs timm, which is not importable" % name)
            ctor, size, classifier = TIMM_MODELS[name]
            model = timm.create_model(ctor, pretrained=False, num_classes=NUM_CLASSES)
            reference = "timm %s timm.create_model(%r, pretrained=False)" % (
                release(timm.__version__), ctor)
            regenerate = REGENERATE_TIMM
        else:
            sys.exit("unknown model %r; known: %s" % (name, ", ".join(list(MODELS) + list(TIMM_MODELS))))
        write(manifest(name, model, reference, size, classifier, regenerate))


if __name__ == "__main__":
    main(sys.argv[1:])
