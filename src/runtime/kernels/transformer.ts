/**
 * Transformer ops on tokens [N, T, C] and Swin's channels-last maps [N, H, W, C], with the
 * arithmetic of torchvision (nn.MultiheadAttention, ShiftedWindowAttention, PatchMerging) and timm.
 */
import type { Tensor, Tf } from "../types.js";
import type { ForwardContext, Kernel, Params } from "./context.js";
import { Act, identity, layoutWithout, logical } from "./layout.js";
import { convChannelsLast } from "./conv.js";
import { dense } from "./linear.js";
import { dropoutTensor } from "./tensor.js";
import { roll, sliceAxis, vectorAlong } from "./util.js";

export const class_token: Kernel<{ dim: number }> = (ctx, [x], w) => {
  const tf = ctx.tf;
  const t = logical(tf, x!);
  const token = tf.tile(w.value!, [t.shape[0]!, 1, 1]);
  return new Act(tf.concat([token, t], 1), identity(3));
};

export const pos_embedding: Kernel<{ dim: number }> = (ctx, [x], w) => new Act(ctx.tf.add(logical(ctx.tf, x!), w.value!), identity(3));

export const token: Kernel<{ index: number }> = (ctx, [x], _w, a) => {
  const at = x!.axis(1);
  const t = ctx.tf.squeeze(sliceAxis(ctx.tf, x!.t, at, a.index, 1), [at]);
  return new Act(t, layoutWithout(x!.layout, [1]));
};

export const mean_tokens: Kernel<{ start: number; tokens: number }> = (ctx, [x], _w, a) => {
  const at = x!.axis(1);
  const t = ctx.tf.mean(sliceAxis(ctx.tf, x!.t, at, a.start, a.tokens - a.start), at);
  return new Act(t, layoutWithout(x!.layout, [1]));
};

/** softmax(q·kᵀ · scale + bias) · v per head; q, k, v: [B, heads, T, head_dim]. */
function attend(ctx: ForwardContext, q: Tensor, k: Tensor, v: Tensor, scale: number, dropout: number, bias?: (attn: Tensor) => Tensor): Tensor {
  const tf = ctx.tf;
  let attn = tf.matMul(tf.mul(q, scale), k, false, true);
  if (bias) attn = bias(attn);
  attn = dropoutTensor(ctx, tf.softmax(attn), dropout);
  return tf.matMul(attn, v);
}

interface MhsaAttrs {
  dim: number;
  heads: number;
  head_dim: number;
  scale: number;
  dropout: number;
  style: "torch" | "timm";
}

/** nn.MultiheadAttention (in_proj / out_proj) or timm's Attention (qkv / proj): the same computation. */
export const mhsa: Kernel<MhsaAttrs> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const t = logical(tf, x!);
  const [n, tokens] = t.shape as [number, number, number];
  const [inW, inB, outW, outB] =
    a.style === "timm" ? [w["qkv.weight"], w["qkv.bias"], w["proj.weight"], w["proj.bias"]] : [w.in_proj_weight, w.in_proj_bias, w["out_proj.weight"], w["out_proj.bias"]];
  const qkv = dense(tf, t, inW!, inB);
  const split = tf.split(qkv, 3, 2).map((u) => tf.transpose(tf.reshape(u, [n, tokens, a.heads, a.head_dim]), [0, 2, 1, 3]));
  const o = attend(ctx, split[0]!, split[1]!, split[2]!, a.scale, a.dropout);
  const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [n, tokens, a.dim]);
  return new Act(dense(tf, merged, outW!, outB), identity(3));
};

interface WindowAttrs {
  dim: number;
  heads: number;
  head_dim: number;
  scale: number;
  window: [number, number];
  effective_shift: [number, number];
  pad: [number, number];
  padded: [number, number];
  num_windows: number;
  window_tokens: number;
  attention_dropout: number;
  dropout: number;
}

/** Python slice bounds (negative from the end, None = end) as a [start, end) range over n. */
function pySlice(n: number, start: number, end: number | null): [number, number] {
  const at = (i: number) => Math.min(Math.max(i < 0 ? n + i : i, 0), n);
  return [at(start), end === null ? n : at(end)];
}

/**
 * torchvision's attention mask of shifted windows: [num_windows, T, T], 0 within a region and
 * -100 across regions (wrapped-around pixels must not attend to their new neighbours).
 */
export function shiftedWindowMask(a: WindowAttrs): Float32Array {
  const [ph, pw] = a.padded;
  const [wh, ww] = a.window;
  const [sh, sw] = a.effective_shift;
  const region = new Int32Array(ph * pw);
  const hs: [number, number | null][] = [[0, -wh], [-wh, -sh], [-sh, null]];
  const wsl: [number, number | null][] = [[0, -ww], [-ww, -sw], [-sw, null]];
  let count = 0;
  for (const [h0, h1] of hs) {
    for (const [w0, w1] of wsl) {
      const [ha, hb] = pySlice(ph, h0, h1);
      const [wa, wb] = pySlice(pw, w0, w1);
      for (let i = ha; i < hb; i++) for (let j = wa; j < wb; j++) region[i * pw + j] = count;
      count++;
    }
  }
  const t = wh * ww;
  const mask = new Float32Array(a.num_windows * t * t);
  const perRow = pw / ww;
  for (let win = 0; win < a.num_windows; win++) {
    const [r, c] = [Math.floor(win / perRow), win % perRow];
    const ids = Array.from({ length: t }, (_, k) => region[(r * wh + Math.floor(k / ww)) * pw + c * ww + (k % ww)]!);
    for (let q = 0; q < t; q++) for (let k = 0; k < t; k++) mask[(win * t + q) * t + k] = ids[q] === ids[k] ? 0 : -100;
  }
  return mask;
}

/** [N, Hp, Wp, C] → [N · windows, wh · ww, C], windows in row-major order. */
function partition(tf: Tf, t: Tensor, a: WindowAttrs): Tensor {
  const [ph, pw] = a.padded;
  const [wh, ww] = a.window;
  const n = t.shape[0]!;
  const r = tf.reshape(t, [n, ph / wh, wh, pw / ww, ww, a.dim]);
  return tf.reshape(tf.transpose(r, [0, 1, 3, 2, 4, 5]), [n * a.num_windows, wh * ww, a.dim]);
}

function unpartition(tf: Tf, t: Tensor, n: number, a: WindowAttrs): Tensor {
  const [ph, pw] = a.padded;
  const [wh, ww] = a.window;
  const r = tf.reshape(t, [n, ph / wh, pw / ww, wh, ww, a.dim]);
  return tf.reshape(tf.transpose(r, [0, 1, 3, 2, 4, 5]), [n, ph, pw, a.dim]);
}

function relativePositionBias(tf: Tf, w: Params, a: WindowAttrs): Tensor {
  const t = a.window_tokens;
  const index = tf.cast(tf.reshape(w.relative_position_index!, [-1]), "int32");
  const bias = tf.reshape(tf.gather(w.relative_position_bias_table!, index), [t, t, a.heads]);
  return tf.transpose(bias, [2, 0, 1]);
}

/** torchvision.models.swin_transformer.shifted_window_attention. */
export const window_attention: Kernel<WindowAttrs> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const input = logical(tf, x!);
  const [n, h, wd] = input.shape as [number, number, number, number];
  const [sh, sw] = a.effective_shift;
  let t = a.pad[0] + a.pad[1] > 0 ? tf.pad(input, [[0, 0], [0, a.pad[0]], [0, a.pad[1]], [0, 0]]) : input;
  t = roll(tf, roll(tf, t, -sh, 1), -sw, 2);
  const windows = partition(tf, t, a);
  const b = windows.shape[0]!;
  const tokens = a.window_tokens;
  const qkv = dense(tf, windows, w["qkv.weight"]!, w["qkv.bias"]);
  const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [b, tokens, 3, a.heads, a.head_dim]), [2, 0, 3, 1, 4]));
  const bias = relativePositionBias(tf, w, a);
  const shifted = sh + sw > 0;
  const mask = shifted ? tf.tensor(shiftedWindowMask(a), [1, a.num_windows, 1, tokens, tokens]) : null;
  const addBias = (attn: Tensor) => {
    const biased = tf.add(attn, bias);
    if (!mask) return biased;
    const perImage = tf.reshape(biased, [n, a.num_windows, a.heads, tokens, tokens]);
    return tf.reshape(tf.add(perImage, mask), [b, a.heads, tokens, tokens]);
  };
  const o = attend(ctx, q!, k!, v!, a.scale, a.attention_dropout, addBias);
  let y = dense(tf, tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, tokens, a.dim]), w["proj.weight"]!, w["proj.bias"]);
  y = dropoutTensor(ctx, y, a.dropout);
  let out = roll(tf, roll(tf, unpartition(tf, y, n, a), sh, 1), sw, 2);
  if (a.pad[0] + a.pad[1] > 0) out = tf.slice(out, [0, 0, 0, 0], [n, h, wd, a.dim]);
  return new Act(out, identity(4));
};

/** torchvision's PatchMerging: 2×2 neighbours concatenated as (0,0), (1,0), (0,1), (1,1), LayerNorm, Linear. */
export const patch_merging: Kernel<{ dim: number; pad: [number, number]; size: [number, number]; eps: number }> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  let t = logical(tf, x!);
  if (a.pad[0] + a.pad[1] > 0) t = tf.pad(t, [[0, 0], [0, a.pad[0]], [0, a.pad[1]], [0, 0]]);
  const n = t.shape[0]!;
  const [h2, w2] = a.size;
  // [N, H/2, dh, W/2, dw, C] → [N, H/2, W/2, dw, dh, C]: channel block index dw · 2 + dh.
  const grouped = tf.transpose(tf.reshape(t, [n, h2, 2, w2, 2, a.dim]), [0, 1, 3, 4, 2, 5]);
  const merged = tf.reshape(grouped, [n, h2, w2, 4 * a.dim]);
  const { mean, variance } = tf.moments(merged, [3], true);
  let y = tf.mul(tf.sub(merged, mean), tf.rsqrt(tf.add(variance, a.eps)));
  y = tf.add(tf.mul(y, w["norm.weight"]!), w["norm.bias"]!);
  return new Act(dense(tf, y, w["reduction.weight"]!), identity(4));
};

/** A learned vector along logical axis `axis` (its stored shape carries trailing 1s, e.g. [C, 1, 1]). */
export const layer_scale: Kernel<{ dim: number; axis: number }> = (ctx, [x], w, a) => {
  const gamma = Object.values(w)[0]!;
  return new Act(ctx.tf.mul(x!.t, vectorAlong(ctx.tf, gamma, x!.rank, x!.axis(a.axis))), x!.layout);
};

interface SrAttentionAttrs {
  dim: number;
  heads: number;
  head_dim: number;
  scale: number;
  sr: number;
  reduced: [number, number];
  eps: number;
  attention_dropout: number;
}

/**
 * Hugging Face's SegformerEfficientSelfAttention on [N, H, W, C]: queries from every position,
 * keys and values from the map reduced by the sr x sr strided conv and a LayerNorm.
 */
export const sr_attention: Kernel<SrAttentionAttrs> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const map = logical(tf, x!);
  const [n, h, wd] = map.shape as [number, number, number, number];
  const tokens = tf.reshape(map, [n, h * wd, a.dim]);
  let source = tokens;
  if (a.sr > 1) {
    const weight = w["sr.weight"]!;
    const conv = { rank: 2, in: a.dim, out: a.dim, kernel: [a.sr, a.sr], strides: [a.sr, a.sr], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, bias: true };
    // A frozen weight (a variable that is not trainable) gets no gradient.
    const reduced = tf.add(convChannelsLast(tf, map, weight, conv, (weight as { trainable?: boolean }).trainable !== false), w["sr.bias"]!);
    const flat = tf.reshape(reduced, [n, a.reduced[0] * a.reduced[1], a.dim]);
    const { mean, variance } = tf.moments(flat, [2], true);
    const normalised = tf.mul(tf.sub(flat, mean), tf.rsqrt(tf.add(variance, a.eps)));
    source = tf.add(tf.mul(normalised, w["layer_norm.weight"]!), w["layer_norm.bias"]!);
  }
  const split = (t: Tensor) => tf.transpose(tf.reshape(t, [n, -1, a.heads, a.head_dim]), [0, 2, 1, 3]);
  const q = split(dense(tf, tokens, w["query.weight"]!, w["query.bias"]));
  const k = split(dense(tf, source, w["key.weight"]!, w["key.bias"]));
  const v = split(dense(tf, source, w["value.weight"]!, w["value.bias"]));
  const o = attend(ctx, q, k, v, a.scale, a.attention_dropout);
  return new Act(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [n, h, wd, a.dim]), identity(4));
};

export const transformerKernels = {
  class_token,
  pos_embedding,
  token,
  mean_tokens,
  mhsa,
  window_attention,
  patch_merging,
  layer_scale,
  sr_attention,
};
