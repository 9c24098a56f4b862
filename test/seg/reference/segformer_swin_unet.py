"""Writes the reference data of test/seg: state_dict manifests of Hugging Face's
SegformerForSemanticSegmentation (B0/B1/B2, 150 labels) and of the official Swin-UNet (SwinUnet,
9 classes, 224 px), and the PyTorch outputs of a small model of each on weights that the tests
compute from the parameter names (fixtures/*.expected.safetensors).

    python3 segformer_swin_unet.py MODELING_SEGFORMER_PY SWIN_UNET_SYS_PY

MODELING_SEGFORMER_PY: transformers/models/segformer/modeling_segformer.py of transformers 4.57.6
(the last release whose module names are the checkpoints'); SWIN_UNET_SYS_PY:
networks/swin_transformer_unet_skip_expand_decoder_sys.py of HuCaoFighting/Swin-Unet (f48f623).
Both are loaded with their package imports replaced by the few names they use (PyTorch 1.13, no
transformers, timm or einops needed).
"""
import json, os, re, struct, sys, types
import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")


def load_segformer(path):
    src = open(path).read()
    src = re.sub(r"from \.\.\.[a-z_.]+ import .*\n", "", src)
    src = re.sub(r"from \.configuration_segformer import .*\n", "", src)
    mod = types.ModuleType("hf_segformer")

    class Out(dict):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.__dict__.update(kw)

        def __getitem__(self, k):
            return [v for v in self.values() if v is not None][k] if isinstance(k, int) else dict.__getitem__(self, k)

    class PreTrainedModel(nn.Module):
        def __init__(self, config, *a, **k):
            super().__init__()
            self.config = config

        def post_init(self):
            self.apply(self._init_weights)

    def auto_docstring(*a, **k):
        return a[0] if a and callable(a[0]) and not k else (lambda f: f)

    import logging
    mod.__dict__.update(BaseModelOutput=Out, ImageClassifierOutput=Out, SemanticSegmenterOutput=Out, PreTrainedModel=PreTrainedModel,
                        auto_docstring=auto_docstring, logging=types.SimpleNamespace(get_logger=logging.getLogger), ACT2FN={"gelu": nn.GELU()},
                        find_pruneable_heads_and_indices=None, prune_linear_layer=None, SegformerConfig=object)
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


def load_swin_unet(path):
    timm_layers = types.ModuleType("timm.models.layers")

    class DropPath(nn.Module):
        def __init__(self, p=0.0):
            super().__init__()

        def forward(self, x):
            return x

    timm_layers.DropPath = DropPath
    timm_layers.to_2tuple = lambda x: tuple(x) if isinstance(x, (list, tuple)) else (x, x)
    timm_layers.trunc_normal_ = lambda t, std=1.0: nn.init.trunc_normal_(t, std=std)
    einops = types.ModuleType("einops")

    def rearrange(x, pattern, p1, p2, c):
        assert pattern.replace(" ", "") == "bhw(p1p2c)->b(hp1)(wp2)c"
        b, h, w, _ = x.shape
        return x.reshape(b, h, w, p1, p2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h * p1, w * p2, c)

    einops.rearrange = rearrange
    for name, m in [("timm", types.ModuleType("timm")), ("timm.models", types.ModuleType("timm.models")), ("timm.models.layers", timm_layers), ("einops", einops)]:
        sys.modules[name] = m
    mod = types.ModuleType("swin_unet_sys")
    exec(compile(open(path).read(), path, "exec"), mod.__dict__)
    return mod


SEGFORMER = {
    "b0": dict(hidden_sizes=[32, 64, 160, 256], depths=[2, 2, 2, 2], num_attention_heads=[1, 2, 5, 8], decoder_hidden_size=256),
    "b1": dict(hidden_sizes=[64, 128, 320, 512], depths=[2, 2, 2, 2], num_attention_heads=[1, 2, 5, 8], decoder_hidden_size=256),
    "b2": dict(hidden_sizes=[64, 128, 320, 512], depths=[3, 4, 6, 3], num_attention_heads=[1, 2, 5, 8], decoder_hidden_size=768),
    "tiny": dict(hidden_sizes=[8, 16, 24, 32], depths=[1, 2, 1, 1], num_attention_heads=[1, 2, 3, 4], decoder_hidden_size=16),
}


def segformer_config(name, labels):
    c = dict(num_channels=3, num_encoder_blocks=4, sr_ratios=[8, 4, 2, 1], patch_sizes=[7, 3, 3, 3], strides=[4, 2, 2, 2], mlp_ratios=[4, 4, 4, 4],
             hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.1, initializer_range=0.02,
             drop_path_rate=0.1, layer_norm_eps=1e-6, semantic_loss_ignore_index=255, reshape_last_stage=True, num_labels=labels,
             output_attentions=False, output_hidden_states=False, use_return_dict=True)
    c.update(SEGFORMER[name])
    return types.SimpleNamespace(**c)


class SwinUnet(nn.Module):
    """networks/vision_transformer.py's wrapper, whose state_dict the training scripts save."""

    def __init__(self, sys_cls, img_size, classes, dim=96, heads=(3, 6, 12, 24), window=7):
        super().__init__()
        self.swin_unet = sys_cls(img_size=img_size, patch_size=4, in_chans=3, num_classes=classes, embed_dim=dim, depths=[2, 2, 2, 2],
                                 num_heads=list(heads), window_size=window, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, drop_rate=0.0,
                                 drop_path_rate=0.2, ape=False, patch_norm=True)

    def forward(self, x):
        return self.swin_unet(x)


def manifest(model, name, source, **extra):
    params = {k for k, _ in model.named_parameters()}
    entries = [[k, list(v.shape), "param" if k in params else "buffer"] for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    data = {"model": name, "source": source, "params": sum(p.numel() for p in model.parameters()), **extra, "entries": entries}
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        f.write("{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k != "entries"))
        f.write(',\n  "entries": [\n' + ",\n".join(f"    {json.dumps(e)}" for e in entries) + "\n  ]\n}\n")


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v.detach().numpy().astype(np.float32)).tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def lcg(n, seed):
    """test/onnx/helpers.ts randomData: uniform in [-1, 1) from the same linear congruential generator."""
    s, out = seed & 0xFFFFFFFF, np.empty(n, dtype=np.float32)
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = np.float32(s / 2**32 * 2 - 1)
    return out


def fnv1a(name):
    h = 0x811C9DC5
    for ch in name.encode():
        h = ((h ^ ch) * 0x01000193) & 0xFFFFFFFF
    return h


def synthetic(name, shape):
    """test/seg/transformer-helpers.ts synthetic(): every value from an LCG seeded by the FNV-1a hash of its name."""
    n = int(np.prod(shape))
    u = lcg(n, fnv1a(name)).astype(np.float64)
    if name.endswith("running_var") or (name.endswith(".weight") and len(shape) == 1):
        v = 1 + 0.5 * u
    elif name.endswith("relative_position_bias_table"):
        v = u
    elif len(shape) >= 2:
        v = u / np.sqrt(n / shape[0])
    else:
        v = 0.2 * u
    return torch.from_numpy(v.astype(np.float32)).reshape(shape)


def fixture(model, name, forward, size):
    """Loads the synthetic weights (computed buffers kept) and writes the output on the LCG image."""
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.is_floating_point() and not k.endswith("attn_mask"):
                v.copy_(synthetic(k, list(v.shape)))
    model.eval()
    x = torch.from_numpy(lcg(3 * size * size, 1)).reshape(1, 3, size, size)
    with torch.no_grad():
        y = forward(x)
    save_safetensors(os.path.join(FIXTURES, f"{name}.expected.safetensors"), {"output": y})
    print(name, sum(p.numel() for p in model.parameters()), list(y.shape), float(y.abs().max()))


def main(segformer_py, swin_unet_py):
    hf = load_segformer(segformer_py)
    for n in ["b0", "b1", "b2"]:
        m = hf.SegformerForSemanticSegmentation(segformer_config(n, 150))
        manifest(m, f"segformer_{n}", "transformers 4.57.6 SegformerForSemanticSegmentation, num_labels=150", encoder_params=sum(p.numel() for p in m.segformer.parameters()))
    sw = load_swin_unet(swin_unet_py)
    manifest(SwinUnet(sw.SwinTransformerSys, 224, 9), "swin_unet", "HuCaoFighting/Swin-Unet f48f623, SwinUnet(img_size=224, num_classes=9)")

    torch.manual_seed(0)
    m = hf.SegformerForSemanticSegmentation(segformer_config("tiny", 3))
    # HF's logits are at 1/4 of the image; medg upsamples them as HF's loss does.
    up = lambda x: nn.functional.interpolate(m(x).logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
    fixture(m, "segformer_tiny", up, 32)
    torch.manual_seed(0)
    s = SwinUnet(sw.SwinTransformerSys, 32, 3, dim=8, heads=(1, 2, 2, 4), window=2)
    fixture(s, "swin_unet_tiny", s, 32)


if __name__ == "__main__":
    main(*sys.argv[1:3])
