/**
 * Transformer operators: tokens, learned embeddings, attention, patch merging, layer scale.
 * Tokens are [N, T, C] and Swin's maps [N, H, W, C] (channels last), exactly as torchvision's
 * tensors are, so parameter names, shapes and state_dict order equal torchvision's.
 */
import type { InitRule } from "../init.js";
import type { InferResult, NodeView, OpContext, OpDef, OpError, ParamSpec } from "../op.js";
import { isStatic, type Shape } from "../types.js";

// ---------------------------------------------------------------------------------------------
// Helpers

function fail(code: OpError["code"], message: string, hint?: string): InferResult {
  return {
    error: hint === undefined ? { code, message } : { code, message, hint },
  };
}

/**
 * The single input's shape when it has `rank` dims and every dim after the batch is static,
 * otherwise the error to report. `layout` spells the expected shape for the message.
 */
function staticInput(op: string, ctx: OpContext, rank: number, layout: string, hint?: string): number[] | InferResult {
  const input = ctx.inputs[0];
  if (input === undefined || ctx.inputs.length !== 1) {
    return fail("MEDG307", `${op} expects 1 input, got ${ctx.inputs.length}`);
  }
  const shape: Shape = input.shape;
  if (shape.length !== rank) {
    return fail("MEDG302", `${op} expects 1 input of rank ${rank} ${layout}, got ${ctx.describe(0)}`, hint);
  }
  const dims: number[] = [];
  for (let i = 1; i < shape.length; i++) {
    const d = shape[i]!;
    if (!isStatic(d)) {
      return fail("MEDG305", `${op} needs every dim of ${layout} but the batch to be known, got ${ctx.describe(0)}`);
    }
    dims.push(d);
  }
  return dims;
}

function isError(v: unknown): v is { error: OpError } {
  return typeof v === "object" && v !== null && "error" in v;
}

/** An `ints` argument as [height, width]: one int means a square. */
function pair(v: unknown): [number, number] | null {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
    if (v.length === 1) return [v[0], v[0]];
    if (v.length === 2) return [v[0], v[1]];
  }
  return null;
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;

function formatPair(p: readonly [number, number]): string {
  return p[0] === p[1] ? String(p[0]) : `[${p[0]}, ${p[1]}]`;
}

const TOKENS = "[N, T, C]";
const TOKENS_HINT = "flatten the spatial dims and permute channels last to get tokens";
const MAP_LAST = "[N, H, W, C] (channels last)";
const MAP_LAST_HINT = "permute the map to channels last first";

// timm and torchvision's Swin re-initialise every Linear this way after construction.
const TRUNC_02: InitRule = { kind: "trunc_normal", std: 0.02 };
const ZEROS: InitRule = { kind: "zeros" };
const ONES: InitRule = { kind: "ones" };

function numAttr(node: NodeView, key: string): number {
  const v = node.attrs[key];
  return typeof v === "number" ? v : 0;
}

function pairAttr(node: NodeView, key: string): [number, number] {
  return pair(node.attrs[key]) ?? [0, 0];
}

// ---------------------------------------------------------------------------------------------
// Tokens and learned embeddings

const classToken: OpDef = {
  name: "class_token",
  doc: "Prepends a learned token: [N, T, C] -> [N, T+1, C] (ViT's class_token).",
  args: [
    {
      name: "std",
      type: "float",
      default: 0,
      min: 0,
      keywordOnly: true,
      doc: "init std; 0 initialises with zeros",
    },
  ],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("class_token", ctx, 3, TOKENS, TOKENS_HINT);
    if (isError(dims)) return dims;
    const [t, c] = dims as [number, number];
    const std = ctx.args.std as number;
    return {
      outputs: [[ctx.inputs[0]!.shape[0]!, t + 1, c]],
      attrs: { dim: c, tokens: t + 1, std },
    };
  },
  params(node) {
    const std = numAttr(node, "std");
    return [
      {
        name: "",
        shape: [1, 1, numAttr(node, "dim")],
        init: std > 0 ? { kind: "normal", std } : ZEROS,
      },
    ];
  },
};

const posEmbedding: OpDef = {
  name: "pos_embedding",
  doc: "Adds a learned position embedding of shape [1, T, C] to [N, T, C] tokens.",
  args: [
    { name: "std", type: "float", default: 0.02, min: 0 },
    {
      name: "trunc",
      type: "bool",
      default: false,
      keywordOnly: true,
      doc: "truncated normal init (timm)",
    },
  ],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("pos_embedding", ctx, 3, TOKENS, TOKENS_HINT);
    if (isError(dims)) return dims;
    const [t, c] = dims as [number, number];
    return {
      outputs: [ctx.inputs[0]!.shape],
      attrs: {
        dim: c,
        tokens: t,
        std: ctx.args.std as number,
        trunc: ctx.args.trunc === true,
      },
    };
  },
  params(node) {
    const std = numAttr(node, "std");
    const init: InitRule = node.attrs.trunc === true ? { kind: "trunc_normal", std } : { kind: "normal", std };
    return [
      {
        name: "",
        shape: [1, numAttr(node, "tokens"), numAttr(node, "dim")],
        init,
      },
    ];
  },
};

const token: OpDef = {
  name: "token",
  doc: "Takes one token: [N, T, C] -> [N, C] (ViT classifies token 0).",
  args: [{ name: "index", type: "int", default: 0 }],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("token", ctx, 3, TOKENS, TOKENS_HINT);
    if (isError(dims)) return dims;
    const [t, c] = dims as [number, number];
    const index = ctx.args.index as number;
    if (!Number.isInteger(index) || index < -t || index >= t) {
      return fail("MEDG306", `token(index=${index}) needs an index in ${-t}..${t - 1}, got ${ctx.describe(0)}`);
    }
    return {
      outputs: [[ctx.inputs[0]!.shape[0]!, c]],
      attrs: { index: index < 0 ? index + t : index, tokens: t },
    };
  },
};

const meanTokens: OpDef = {
  name: "mean_tokens",
  doc: "Averages tokens from index `start` on: [N, T, C] -> [N, C].",
  args: [
    {
      name: "start",
      type: "int",
      default: 0,
      min: 0,
      doc: "tokens before it (class tokens) are left out",
    },
  ],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("mean_tokens", ctx, 3, TOKENS, TOKENS_HINT);
    if (isError(dims)) return dims;
    const [t, c] = dims as [number, number];
    const start = ctx.args.start as number;
    if (!Number.isInteger(start) || start < 0 || start >= t) {
      return fail("MEDG306", `mean_tokens(start=${start}) needs a start in 0..${t - 1}, got ${ctx.describe(0)}`);
    }
    return {
      outputs: [[ctx.inputs[0]!.shape[0]!, c]],
      attrs: { start, tokens: t },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Attention

function headsError(op: string, heads: unknown, c: number, ctx: OpContext): InferResult | null {
  if (!isCount(heads)) return fail("MEDG306", `${op} needs heads >= 1, got heads=${String(heads)}`);
  if (c % heads !== 0) {
    return fail(
      "MEDG306",
      `${op}(heads=${heads}) needs heads to divide the channel count ${c}, got ${ctx.describe(0)}`,
      `${c} / ${heads} = ${(c / heads).toFixed(2)}`,
    );
  }
  return null;
}

function dropoutError(op: string, name: string, v: unknown): InferResult | null {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) {
    return fail("MEDG306", `${op} needs ${name} in [0, 1), got ${name}=${String(v)}`);
  }
  return null;
}

const mhsa: OpDef = {
  name: "mhsa",
  doc: "Multi-head self-attention on [N, T, C] tokens (torch: nn.MultiheadAttention names; timm: qkv/proj).",
  args: [
    { name: "heads", type: "int", min: 1 },
    {
      name: "dropout",
      type: "float",
      default: 0.0,
      min: 0,
      max: 1,
      doc: "dropout on the attention weights",
    },
    { name: "qkv_bias", type: "bool", default: true },
    {
      name: "style",
      type: "enum",
      choices: ["torch", "timm"],
      default: "torch",
    },
  ],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("mhsa", ctx, 3, TOKENS, TOKENS_HINT);
    if (isError(dims)) return dims;
    const [t, c] = dims as [number, number];
    const heads = ctx.args.heads;
    const bad = headsError("mhsa", heads, c, ctx) ?? dropoutError("mhsa", "dropout", ctx.args.dropout);
    if (bad) return bad;
    const h = heads as number;
    const style = ctx.args.style === "timm" ? "timm" : "torch";
    const qkvBias = ctx.args.qkv_bias !== false;
    return {
      outputs: [ctx.inputs[0]!.shape],
      attrs: {
        dim: c,
        heads: h,
        head_dim: c / h,
        scale: (c / h) ** -0.5,
        tokens: t,
        dropout: ctx.args.dropout as number,
        style,
        qkv_bias: qkvBias,
        // nn.MultiheadAttention has one bias flag for both projections; timm always biases proj.
        proj_bias: style === "timm" ? true : qkvBias,
      },
    };
  },
  params(node) {
    const c = numAttr(node, "dim");
    const qkvBias = node.attrs.qkv_bias === true;
    const projBias = node.attrs.proj_bias === true;
    const out: ParamSpec[] = [];
    if (node.attrs.style === "timm") {
      out.push({ name: "qkv.weight", shape: [3 * c, c], init: TRUNC_02 });
      if (qkvBias) out.push({ name: "qkv.bias", shape: [3 * c], init: ZEROS });
      out.push({ name: "proj.weight", shape: [c, c], init: TRUNC_02 });
      if (projBias) out.push({ name: "proj.bias", shape: [c], init: ZEROS });
      return out;
    }
    // nn.MultiheadAttention._reset_parameters; out_proj keeps nn.Linear's default weight init.
    out.push({
      name: "in_proj_weight",
      shape: [3 * c, c],
      init: { kind: "xavier_uniform" },
    });
    if (qkvBias) out.push({ name: "in_proj_bias", shape: [3 * c], init: ZEROS });
    out.push({
      name: "out_proj.weight",
      shape: [c, c],
      init: { kind: "uniform_fan_in" },
    });
    if (projBias) out.push({ name: "out_proj.bias", shape: [c], init: ZEROS });
    return out;
  },
  macs(node) {
    const c = numAttr(node, "dim");
    const t = numAttr(node, "tokens");
    return 4 * t * c * c + 2 * t * t * c;
  },
};

const windowAttention: OpDef = {
  name: "window_attention",
  doc: "Swin (v1) shifted-window self-attention with relative position bias on [N, H, W, C].",
  args: [
    { name: "heads", type: "int", min: 1 },
    { name: "window", type: "ints", default: 7, min: 1 },
    { name: "shift", type: "ints", default: 0, min: 0 },
    { name: "qkv_bias", type: "bool", default: true },
    {
      name: "attention_dropout",
      type: "float",
      default: 0.0,
      min: 0,
      max: 1,
      keywordOnly: true,
    },
    {
      name: "dropout",
      type: "float",
      default: 0.0,
      min: 0,
      max: 1,
      keywordOnly: true,
    },
    {
      name: "index_shape",
      type: "enum",
      choices: ["flat", "square"],
      default: "flat",
      keywordOnly: true,
      doc: "relative_position_index as torchvision stores it ([n*n]) or as the official Swin code does ([n, n])",
    },
  ],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("window_attention", ctx, 4, MAP_LAST, MAP_LAST_HINT);
    if (isError(dims)) return dims;
    const [h, w, c] = dims as [number, number, number];
    const bad =
      headsError("window_attention", ctx.args.heads, c, ctx) ??
      dropoutError("window_attention", "attention_dropout", ctx.args.attention_dropout) ??
      dropoutError("window_attention", "dropout", ctx.args.dropout);
    if (bad) return bad;
    const heads = ctx.args.heads as number;
    const window = pair(ctx.args.window);
    if (window === null || !window.every(isCount)) {
      return fail(
        "MEDG306",
        `window_attention needs window as 1 or 2 ints >= 1, got window=${JSON.stringify(ctx.args.window)}`,
      );
    }
    const shift = pair(ctx.args.shift);
    if (shift === null || !shift.every((s) => Number.isInteger(s) && s >= 0)) {
      return fail(
        "MEDG306",
        `window_attention needs shift as 1 or 2 ints >= 0, got shift=${JSON.stringify(ctx.args.shift)}`,
      );
    }
    if (shift[0] >= window[0] || shift[1] >= window[1]) {
      return fail(
        "MEDG306",
        `window_attention needs shift smaller than window ${formatPair(window)}, got shift=${formatPair(shift)}`,
        "Swin shifts by window // 2 in every other block",
      );
    }
    // torchvision pads the map up to a multiple of the window (bottom and right) ...
    const pad: [number, number] = [
      (window[0] - (h % window[0])) % window[0],
      (window[1] - (w % window[1])) % window[1],
    ];
    const padded: [number, number] = [h + pad[0], w + pad[1]];
    // ... and does not shift along an axis the window already covers.
    const effectiveShift: [number, number] = [
      window[0] >= padded[0] ? 0 : shift[0],
      window[1] >= padded[1] ? 0 : shift[1],
    ];
    return {
      outputs: [ctx.inputs[0]!.shape],
      attrs: {
        dim: c,
        heads,
        head_dim: c / heads,
        scale: (c / heads) ** -0.5,
        window,
        shift,
        effective_shift: effectiveShift,
        pad,
        padded,
        num_windows: (padded[0] / window[0]) * (padded[1] / window[1]),
        window_tokens: window[0] * window[1],
        qkv_bias: ctx.args.qkv_bias !== false,
        proj_bias: true,
        attention_dropout: ctx.args.attention_dropout as number,
        dropout: ctx.args.dropout as number,
        ...(ctx.args.index_shape === "square" ? { index_shape: "square" } : {}),
      },
    };
  },
  params(node) {
    const c = numAttr(node, "dim");
    const heads = numAttr(node, "heads");
    const [wh, ww] = pairAttr(node, "window");
    const n = wh * ww;
    const out: ParamSpec[] = [
      // Parameters and buffers owned by the module itself precede its submodules' in a state_dict.
      {
        name: "relative_position_bias_table",
        shape: [(2 * wh - 1) * (2 * ww - 1), heads],
        init: TRUNC_02,
      },
      {
        name: "relative_position_index",
        shape: node.attrs.index_shape === "square" ? [n, n] : [n * n],
        init: { kind: "computed", rule: "swin_relative_position_index" },
        buffer: true,
      },
      { name: "qkv.weight", shape: [3 * c, c], init: TRUNC_02 },
    ];
    if (node.attrs.qkv_bias === true) out.push({ name: "qkv.bias", shape: [3 * c], init: ZEROS });
    out.push({ name: "proj.weight", shape: [c, c], init: TRUNC_02 });
    out.push({ name: "proj.bias", shape: [c], init: ZEROS });
    return out;
  },
  macs(node) {
    const c = numAttr(node, "dim");
    const [ph, pw] = pairAttr(node, "padded");
    const tokens = ph * pw;
    // qkv and proj over every padded position, plus QK^T and AV inside each window.
    return 4 * tokens * c * c + 2 * tokens * numAttr(node, "window_tokens") * c;
  },
};

/**
 * The values of torchvision's `relative_position_index` buffer for a window, row-major over
 * (query, key) pairs: the index into the bias table of their relative offset.
 */
export function swinRelativePositionIndex(window: readonly [number, number]): number[] {
  const [wh, ww] = window;
  const n = wh * ww;
  const out = new Array<number>(n * n);
  for (let q = 0; q < n; q++) {
    const qh = Math.floor(q / ww);
    const qw = q % ww;
    for (let k = 0; k < n; k++) {
      const dh = qh - Math.floor(k / ww) + wh - 1;
      const dw = qw - (k % ww) + ww - 1;
      out[q * n + k] = dh * (2 * ww - 1) + dw;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Swin patch merging and layer scale

const patchMerging: OpDef = {
  name: "patch_merging",
  doc: "Swin patch merging: [N, H, W, C] -> [N, ceil(H/2), ceil(W/2), 2C] (2x2 concat, LayerNorm(4C), Linear(4C, 2C)).",
  args: [{ name: "eps", type: "float", default: 1e-5, min: 0, keywordOnly: true }],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("patch_merging", ctx, 4, MAP_LAST, MAP_LAST_HINT);
    if (isError(dims)) return dims;
    const [h, w, c] = dims as [number, number, number];
    // torchvision pads odd sizes by one row/column at the bottom/right before the 2x2 gather.
    const pad: [number, number] = [h % 2, w % 2];
    const size: [number, number] = [(h + pad[0]) / 2, (w + pad[1]) / 2];
    return {
      outputs: [[ctx.inputs[0]!.shape[0]!, size[0], size[1], 2 * c]],
      attrs: { dim: c, out_dim: 2 * c, pad, size, eps: ctx.args.eps as number },
    };
  },
  params(node) {
    const c = numAttr(node, "dim");
    return [
      { name: "reduction.weight", shape: [2 * c, 4 * c], init: TRUNC_02 },
      { name: "norm.weight", shape: [4 * c], init: ONES },
      { name: "norm.bias", shape: [4 * c], init: ZEROS },
    ];
  },
  macs(node) {
    const [ho, wo] = pairAttr(node, "size");
    const c = numAttr(node, "dim");
    return ho * wo * 4 * c * 2 * c;
  },
};

const PARAM_NAME = /^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const layerScale: OpDef = {
  name: "layer_scale",
  doc: "Multiplies by a learned per-channel vector along `axis` (ConvNeXt layer_scale, timm ls.gamma).",
  args: [
    { name: "init", type: "float", default: 1e-6 },
    { name: "axis", type: "int", default: 1 },
    {
      name: "param",
      type: "string",
      default: "",
      doc: 'parameter name under the node\'s scope; "" is the scope itself',
    },
  ],
  inputs: 1,
  infer(ctx) {
    const input = ctx.inputs[0];
    if (input === undefined || ctx.inputs.length !== 1) {
      return fail("MEDG307", `layer_scale expects 1 input, got ${ctx.inputs.length}`);
    }
    const rank = input.shape.length;
    const axisArg = ctx.args.axis as number;
    const axis = axisArg < 0 ? axisArg + rank : axisArg;
    if (rank < 2) {
      return fail("MEDG302", `layer_scale expects an input of rank >= 2, got ${ctx.describe(0)}`);
    }
    if (!Number.isInteger(axis) || axis < 1 || axis >= rank) {
      return fail(
        "MEDG306",
        `layer_scale(axis=${axisArg}) needs a non-batch axis in 1..${rank - 1} (or ${1 - rank}..-1), got ${ctx.describe(0)}`,
      );
    }
    const channels = input.shape[axis]!;
    if (!isStatic(channels)) {
      return fail("MEDG305", `layer_scale needs a known size along axis ${axisArg}, got ${ctx.describe(0)}`);
    }
    const param = ctx.args.param as string;
    if (param !== "" && !PARAM_NAME.test(param)) {
      return fail(
        "MEDG306",
        `layer_scale needs param to be a dotted name such as "gamma", got param=${JSON.stringify(param)}`,
      );
    }
    // Trailing ones let the vector broadcast against the dims after the axis ([C, 1, 1] for NCHW).
    const shape = [channels, ...new Array<number>(rank - 1 - axis).fill(1)];
    return {
      outputs: [input.shape],
      attrs: {
        dim: channels,
        axis,
        param,
        init: ctx.args.init as number,
        shape,
      },
    };
  },
  params(node) {
    const shape = Array.isArray(node.attrs.shape) ? (node.attrs.shape as number[]) : [numAttr(node, "dim")];
    const param = typeof node.attrs.param === "string" ? node.attrs.param : "";
    return [
      {
        name: param,
        shape,
        init: { kind: "constant", value: numAttr(node, "init") },
      },
    ];
  },
};

// ---------------------------------------------------------------------------------------------
// Attention with spatial reduction (PVT, SegFormer)

// Hugging Face's SegformerPreTrainedModel._init_weights: N(0, 0.02) for every Linear and Conv2d.
const NORMAL_02: InitRule = { kind: "normal", std: 0.02 };

const srAttention: OpDef = {
  name: "sr_attention",
  doc: "Self-attention on [N, H, W, C] whose keys and values come from the map reduced by an sr x sr strided conv + LayerNorm (SegFormer's efficient self-attention; the output projection is a separate linear).",
  args: [
    { name: "heads", type: "int", min: 1 },
    { name: "sr", type: "int", default: 1, min: 1, doc: "reduction ratio; 1 attends to every position" },
    { name: "qkv_bias", type: "bool", default: true },
    { name: "eps", type: "float", default: 1e-5, min: 0, keywordOnly: true, doc: "epsilon of the reduction's LayerNorm" },
    {
      name: "attention_dropout",
      type: "float",
      default: 0.0,
      min: 0,
      max: 1,
      keywordOnly: true,
    },
  ],
  inputs: 1,
  infer(ctx) {
    const dims = staticInput("sr_attention", ctx, 4, MAP_LAST, MAP_LAST_HINT);
    if (isError(dims)) return dims;
    const [h, w, c] = dims as [number, number, number];
    const bad = headsError("sr_attention", ctx.args.heads, c, ctx) ?? dropoutError("sr_attention", "attention_dropout", ctx.args.attention_dropout);
    if (bad) return bad;
    const heads = ctx.args.heads as number;
    const sr = ctx.args.sr as number;
    if (!isCount(sr)) return fail("MEDG306", `sr_attention needs sr >= 1, got sr=${String(sr)}`);
    if (h < sr || w < sr) {
      return fail(
        "MEDG306",
        `sr_attention(sr=${sr}) reduces the map with a ${sr}x${sr} stride-${sr} conv, which needs at least ${sr}x${sr} positions, got ${ctx.describe(0)}`,
        "use a larger input or a smaller reduction ratio",
      );
    }
    // nn.Conv2d(kernel=sr, stride=sr, padding=0) drops the rows and columns past the last whole window.
    const reduced: [number, number] = [Math.floor(h / sr), Math.floor(w / sr)];
    return {
      outputs: [ctx.inputs[0]!.shape],
      attrs: {
        dim: c,
        heads,
        head_dim: c / heads,
        scale: (c / heads) ** -0.5,
        sr,
        size: [h, w],
        reduced,
        tokens: h * w,
        kv_tokens: reduced[0] * reduced[1],
        qkv_bias: ctx.args.qkv_bias !== false,
        eps: ctx.args.eps as number,
        attention_dropout: ctx.args.attention_dropout as number,
      },
    };
  },
  params(node) {
    const c = numAttr(node, "dim");
    const sr = numAttr(node, "sr");
    const bias = node.attrs.qkv_bias === true;
    const out: ParamSpec[] = [];
    // HF's SegformerEfficientSelfAttention registers query, key, value, then sr and layer_norm.
    for (const name of ["query", "key", "value"]) {
      out.push({ name: `${name}.weight`, shape: [c, c], init: NORMAL_02 });
      if (bias) out.push({ name: `${name}.bias`, shape: [c], init: ZEROS });
    }
    if (sr > 1) {
      out.push(
        { name: "sr.weight", shape: [c, c, sr, sr], init: NORMAL_02 },
        { name: "sr.bias", shape: [c], init: ZEROS },
        { name: "layer_norm.weight", shape: [c], init: ONES },
        { name: "layer_norm.bias", shape: [c], init: ZEROS },
      );
    }
    return out;
  },
  macs(node) {
    const c = numAttr(node, "dim");
    const sr = numAttr(node, "sr");
    const t = numAttr(node, "tokens");
    const kv = numAttr(node, "kv_tokens");
    // Queries, the reduction conv, keys and values, then QK^T and AV.
    return t * c * c + (sr > 1 ? kv * c * c * sr * sr : 0) + 2 * kv * c * c + 2 * t * kv * c;
  },
};

export const ops: OpDef[] = [
  classToken,
  posEmbedding,
  token,
  meanTokens,
  mhsa,
  windowAttention,
  patchMerging,
  layerScale,
  srAttention,
];
