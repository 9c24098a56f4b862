/**
 * Transformer ops. Every shape but the batch is static, so reshapes are constants; the only
 * runtime shape read is the batch size a class token is expanded to (none with a fixed batch).
 * Work that depends only on weights and attributes (query scaling, the relative position bias,
 * Swin's shift mask and window order) is done here once instead of in the graph.
 */
import { swinRelativePositionIndex } from "../../../ir/ops/transformer.js";
import { float, int, ints } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";
import { transpose, transposedWeight } from "./linear.js";

export const classToken: Lowering = (ctx) => {
  const c = ctx.attr<number>("dim");
  const token = ctx.param("");
  const shape =
    ctx.batch !== null
      ? ctx.ints("shape", [ctx.batch, 1, c])
      : ctx.op("Concat", [ctx.op("Shape", [ctx.input()], { start: int(0), end: int(1) }), ctx.ints("shape", [1, c])], { axis: int(0) });
  return [ctx.op("Concat", [ctx.op("Expand", [token, shape]), ctx.input()], { axis: int(1) })];
};

export const posEmbedding: Lowering = (ctx) => [ctx.op("Add", [ctx.input(), ctx.param("")])];

export const token: Lowering = (ctx) => {
  const index = ctx.attr<number>("index");
  return [ctx.op("Gather", [ctx.input(), ctx.int64s(`index(${index})`, [], [index])], { axis: int(1) })];
};

export const meanTokens: Lowering = (ctx) => {
  const start = ctx.attr<number>("start");
  const tokens = ctx.attr<number>("tokens");
  const x = start === 0 ? ctx.input() : ctx.op("Slice", [ctx.input(), ctx.ints("starts", [start]), ctx.ints("ends", [tokens]), ctx.ints("axes", [1])]);
  return [ctx.reduceMean(x, [1], false)];
};

export const layerScale: Lowering = (ctx) => [ctx.op("Mul", [ctx.input(), ctx.param(ctx.attr<string>("param"))])];

/** The packed q, k, v projection as [C, 3C] for MatMul, query rows pre-multiplied by head_dim^-0.5. */
function qkvProjection(ctx: LoweringContext, weight: string, bias: string | null, c: number, scale: number): (x: string) => string {
  const w = ctx.derived(
    weight,
    "q_scaled:T",
    [c, 3 * c],
    (v) => {
      const scaled = Float32Array.from(v);
      for (let i = 0; i < c * c; i++) scaled[i]! *= scale;
      return transpose(scaled, 3 * c, c);
    },
    `${ctx.node.scope}.${weight} with the query rows scaled by head_dim^-0.5, transposed to [in, out] for MatMul`,
  );
  const b =
    bias &&
    ctx.derived(
      bias,
      "q_scaled",
      [3 * c],
      (v) => {
        const scaled = Float32Array.from(v);
        for (let i = 0; i < c; i++) scaled[i]! *= scale;
        return scaled;
      },
      `${ctx.node.scope}.${bias} with the query part scaled by head_dim^-0.5`,
    );
  return (x) => {
    const y = ctx.op("MatMul", [x, w]);
    return b ? ctx.op("Add", [y, b]) : y;
  };
}

function outProjection(ctx: LoweringContext, weight: string, bias: string | null, x: string): string {
  const y = ctx.op("MatMul", [x, transposedWeight(ctx, weight)]);
  return bias ? ctx.op("Add", [y, ctx.param(bias)]) : y;
}

/**
 * Scaled dot-product attention over `qkv` packed as [..., 3·heads, tokens, head_dim] (axis
 * `axis`); `bias` is added to the scores before the softmax. Returns [..., heads, tokens, head_dim].
 */
function attention(ctx: LoweringContext, qkv: string, heads: number, axis: number, rank: number, bias: string | null): string {
  const [q, k, v] = ctx.ops("Split", [qkv, ctx.ints("split", [heads, heads, heads])], { axis: int(axis) }, 3) as [string, string, string];
  const swapLast = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  let scores = ctx.op("MatMul", [q, ctx.op("Transpose", [k], { perm: ints(swapLast) })]);
  if (bias) scores = ctx.op("Add", [scores, bias]);
  return ctx.op("MatMul", [ctx.op("Softmax", [scores], { axis: int(-1) }), v]);
}

/** Multi-head self-attention on [N, T, C]: nn.MultiheadAttention (torch) or timm's Attention. */
export const mhsa: Lowering = (ctx) => {
  const [c, heads, hd, t] = [ctx.attr<number>("dim"), ctx.attr<number>("heads"), ctx.attr<number>("head_dim"), ctx.attr<number>("tokens")];
  const timm = ctx.attr<string>("style") === "timm";
  const names = timm
    ? { w: "qkv.weight", b: "qkv.bias", ow: "proj.weight", ob: "proj.bias" }
    : { w: "in_proj_weight", b: "in_proj_bias", ow: "out_proj.weight", ob: "out_proj.bias" };
  const n = ctx.inputShape()[0]!;
  const qkv = qkvProjection(ctx, names.w, ctx.hasParam(names.b) ? names.b : null, c, ctx.attr<number>("scale"))(ctx.input());
  const heads3 = ctx.op("Transpose", [ctx.reshape(qkv, [n, t, 3 * heads, hd])], { perm: ints([0, 2, 1, 3]) });
  const o = attention(ctx, heads3, heads, 1, 4, null);
  const merged = ctx.reshape(ctx.op("Transpose", [o], { perm: ints([0, 2, 1, 3]) }), [n, t, c]);
  return [outProjection(ctx, names.ow, ctx.hasParam(names.ob) ? names.ob : null, merged)];
};

// ---- Swin ----

interface Windows {
  size: [number, number];
  shift: [number, number];
  padded: [number, number];
  grid: [number, number];
}

/**
 * Position in the padded map, row-major, of each token in window order (window-major, then
 * row-major inside the window) after the cyclic shift: torch.roll(-shift) then window
 * partition, as one gather.
 */
function windowOrder(w: Windows): number[] {
  const [[wh, ww], [s0, s1], [hp, wp], [gh, gw]] = [w.size, w.shift, w.padded, w.grid];
  const order: number[] = [];
  for (let bh = 0; bh < gh; bh++)
    for (let bw = 0; bw < gw; bw++)
      for (let th = 0; th < wh; th++)
        for (let tw = 0; tw < ww; tw++) order.push((((bh * wh + th + s0) % hp) * wp + ((bw * ww + tw + s1) % wp)));
  return order;
}

/**
 * torchvision's shift mask: regions of the shifted padded map numbered as its slices do
 * (an axis with shift 0 is one region), -1e4 between tokens of a window from different regions
 * (torchvision uses -100; exp(-100) is a subnormal float that slows the attention MatMul on x86,
 * while -1e4 underflows to an exact 0 with the same softmax).
 * Returns [windows, n, n].
 */
function shiftMask(w: Windows): Float32Array {
  const [[wh, ww], [s0, s1], [hp, wp], [gh, gw]] = [w.size, w.shift, w.padded, w.grid];
  const region = (i: number, size: number, win: number, shift: number) => (shift === 0 ? 2 : i < size - win ? 0 : i < size - shift ? 1 : 2);
  const n = wh * ww;
  const mask = new Float32Array(gh * gw * n * n);
  for (let b = 0; b < gh * gw; b++) {
    const [bh, bw] = [Math.floor(b / gw), b % gw];
    const ids = Array.from({ length: n }, (_, t) => {
      const [h, x] = [bh * wh + Math.floor(t / ww), bw * ww + (t % ww)];
      return region(h, hp, wh, s0) * 3 + region(x, wp, ww, s1);
    });
    for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) mask[(b * n + q) * n + k] = ids[q] === ids[k] ? 0 : -1e4;
  }
  return mask;
}

/** bias[h, q, k] = table[index[q, k], h]: the relative position bias gathered once, [heads, n, n]. */
function relativeBias(table: Float32Array, heads: number, window: [number, number]): Float32Array {
  const index = swinRelativePositionIndex(window);
  const n = window[0] * window[1];
  const bias = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n * n; i++) bias[h * n * n + i] = table[index[i]! * heads + h]!;
  return bias;
}

const isIdentity = (xs: readonly number[]) => xs.every((x, i) => x === i);

/**
 * torchvision's shifted_window_attention on [N, H, W, C]: pad to whole windows, roll by
 * -shift, partition, attention with the relative position bias (plus the shift mask), merge,
 * roll back, crop. The roll and partition are one constant-index Gather each way (the way
 * back also crops), and bias and mask are one constant added to the scores.
 */
export const windowAttention: Lowering = (ctx) => {
  const [c, heads, hd] = [ctx.attr<number>("dim"), ctx.attr<number>("heads"), ctx.attr<number>("head_dim")];
  const shape = ctx.inputShape();
  const [n, h, w] = [shape[0]!, shape[1] as number, shape[2] as number];
  const size = ctx.attr<[number, number]>("window");
  const pad = ctx.attr<[number, number]>("pad");
  const padded = ctx.attr<[number, number]>("padded");
  const shift = ctx.attr<[number, number]>("effective_shift");
  const win: Windows = { size, shift, padded, grid: [padded[0] / size[0], padded[1] / size[1]] };
  const [windows, tokens] = [ctx.attr<number>("num_windows"), size[0] * size[1]];
  const shifted = shift[0] + shift[1] > 0;

  let x = ctx.input();
  if (pad[0] + pad[1] > 0) x = ctx.op("Pad", [x, ctx.ints("pads", [0, 0, 0, 0, 0, pad[0], pad[1], 0])]);
  x = ctx.reshape(x, [n, padded[0] * padded[1], c]);
  const order = windowOrder(win);
  const key = `${padded[0]}x${padded[1]},window=${size.join("x")},shift=${shift.join("x")}`;
  if (!isIdentity(order)) x = ctx.op("Gather", [x, ctx.int64s(`swin_window_order(${key})`, [order.length], order)], { axis: int(1) });

  const qkv = qkvProjection(ctx, "qkv.weight", ctx.hasParam("qkv.bias") ? "qkv.bias" : null, c, ctx.attr<number>("scale"))(x);
  const heads3 = ctx.op("Transpose", [ctx.reshape(qkv, [n, windows, tokens, 3 * heads, hd])], { perm: ints([0, 1, 3, 2, 4]) });
  const table = "relative_position_bias_table";
  const bias = shifted
    ? ctx.derived(
        table,
        "bias+shift_mask",
        [windows, heads, tokens, tokens],
        (t) => {
          const b = relativeBias(t, heads, size);
          const mask = shiftMask(win);
          const out = new Float32Array(windows * b.length);
          const nn = tokens * tokens;
          for (let wi = 0; wi < windows; wi++)
            for (let hh = 0; hh < heads; hh++)
              for (let i = 0; i < nn; i++) out[(wi * heads + hh) * nn + i] = b[hh * nn + i]! + mask[wi * nn + i]!;
          return out;
        },
        `${ctx.node.scope}.${table} gathered by relative_position_index to [windows, heads, n, n], plus the shifted-window mask`,
      )
    : ctx.derived(
        table,
        "bias",
        [heads, tokens, tokens],
        (t) => relativeBias(t, heads, size),
        `${ctx.node.scope}.${table} gathered by relative_position_index to [heads, n, n]`,
      );
  const o = attention(ctx, heads3, heads, 2, 5, bias);
  const merged = ctx.reshape(ctx.op("Transpose", [o], { perm: ints([0, 1, 3, 2, 4]) }), [n, windows * tokens, c]);
  let y = outProjection(ctx, "proj.weight", "proj.bias", merged);

  // Back to row-major positions: the inverse order, restricted to the unpadded map.
  const inverse = new Array<number>(order.length);
  order.forEach((p, j) => (inverse[p] = j));
  const back: number[] = [];
  for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) back.push(inverse[r * padded[1] + col]!);
  if (!isIdentity(back) || back.length !== order.length)
    y = ctx.op("Gather", [y, ctx.int64s(`swin_window_order_inverse(${key},crop=${h}x${w})`, [back.length], back)], { axis: int(1) });
  return [ctx.reshape(y, [n, h, w, c])];
};

/**
 * torchvision's PatchMerging: the 2×2 neighbours x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2],
 * x[1::2, 1::2] concatenated on channels. One Reshape–Transpose–Reshape gathers them in that
 * order (column offset, then row offset, then channel) instead of four strided Slices and a Concat.
 */
export const patchMerging: Lowering = (ctx) => {
  const c = ctx.attr<number>("dim");
  const [ho, wo] = ctx.attr<[number, number]>("size");
  const pad = ctx.attr<[number, number]>("pad");
  const n = ctx.inputShape()[0]!;
  let x = ctx.input();
  if (pad[0] + pad[1] > 0) x = ctx.op("Pad", [x, ctx.ints("pads", [0, 0, 0, 0, 0, pad[0], pad[1], 0])]);
  const blocks = ctx.op("Transpose", [ctx.reshape(x, [n, ho, 2, wo, 2, c])], { perm: ints([0, 1, 3, 4, 2, 5]) });
  const merged = ctx.reshape(blocks, [n, ho, wo, 4 * c]);
  const normalised = ctx.op("LayerNormalization", [merged, ctx.param("norm.weight"), ctx.param("norm.bias")], {
    axis: int(-1),
    epsilon: float(ctx.attr<number>("eps")),
  });
  return [ctx.op("MatMul", [normalised, transposedWeight(ctx, "reduction.weight")])];
};

/**
 * SegFormer's efficient self-attention on [N, H, W, C]: queries from every position; keys and
 * values from the map reduced by the sr x sr strided Conv and a LayerNormalization (sr > 1).
 * The query projection carries the head_dim^-0.5 scaling, as the packed projections above do.
 */
export const srAttention: Lowering = (ctx) => {
  const [c, heads, hd] = [ctx.attr<number>("dim"), ctx.attr<number>("heads"), ctx.attr<number>("head_dim")];
  const [t, kv, sr] = [ctx.attr<number>("tokens"), ctx.attr<number>("kv_tokens"), ctx.attr<number>("sr")];
  const scale = ctx.attr<number>("scale");
  const shape = ctx.inputShape();
  const [n, h, w] = [shape[0]!, shape[1] as number, shape[2] as number];
  const bias = ctx.hasParam("query.bias");

  const tokens = ctx.reshape(ctx.input(), [n, t, c]);
  const queryWeight = ctx.derived(
    "query.weight",
    "scaled:T",
    [c, c],
    (v) => transpose(Float32Array.from(v, (x) => x * scale), c, c),
    `${ctx.node.scope}.query.weight scaled by head_dim^-0.5, transposed to [in, out] for MatMul`,
  );
  let q = ctx.op("MatMul", [tokens, queryWeight]);
  if (bias) {
    const b = ctx.derived("query.bias", "scaled", [c], (v) => Float32Array.from(v, (x) => x * scale), `${ctx.node.scope}.query.bias scaled by head_dim^-0.5`);
    q = ctx.op("Add", [q, b]);
  }

  let source = tokens;
  if (sr > 1) {
    const map = ctx.op("Transpose", [ctx.input()], { perm: ints([0, 3, 1, 2]) });
    const reduced = ctx.op("Conv", [map, ctx.param("sr.weight"), ctx.param("sr.bias")], {
      kernel_shape: ints([sr, sr]),
      strides: ints([sr, sr]),
    });
    const flat = ctx.op("Transpose", [ctx.reshape(reduced, [n, c, kv])], { perm: ints([0, 2, 1]) });
    source = ctx.op("LayerNormalization", [flat, ctx.param("layer_norm.weight"), ctx.param("layer_norm.bias")], {
      axis: int(-1),
      epsilon: float(ctx.attr<number>("eps")),
    });
  }
  const project = (name: string) => {
    const y = ctx.op("MatMul", [source, transposedWeight(ctx, `${name}.weight`)]);
    return bias ? ctx.op("Add", [y, ctx.param(`${name}.bias`)]) : y;
  };
  const split = (x: string, length: number) => ctx.op("Transpose", [ctx.reshape(x, [n, length, heads, hd])], { perm: ints([0, 2, 1, 3]) });
  const [qh, kh, vh] = [split(q, t), split(project("key"), kv), split(project("value"), kv)];
  const scores = ctx.op("MatMul", [qh, ctx.op("Transpose", [kh], { perm: ints([0, 1, 3, 2]) })]);
  const o = ctx.op("MatMul", [ctx.op("Softmax", [scores], { axis: int(-1) }), vh]);
  return [ctx.reshape(ctx.op("Transpose", [o], { perm: ints([0, 2, 1, 3]) }), [n, h, w, c])];
};
