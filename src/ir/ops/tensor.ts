/**
 * Tensor plumbing: regularisation, elementwise combination, concatenation and splitting,
 * reshaping, resizing, padding and channel repetition. None has parameters or MACs.
 * Every shape keeps the batch dim first; ops that could move or merge it refuse to.
 */
import type { InferResult, OpContext, OpDef } from "../op.js";
import { formatShape, type Dim } from "../types.js";
import {
  boolArg,
  broadcastShapes,
  dimProduct,
  dimsCompatible,
  dimSum,
  expectInputCount,
  expectRank,
  fail,
  failed,
  formatNums,
  intArg,
  LAYOUT,
  normaliseAxis,
  numArg,
  numsArg,
  perDim,
  spatialNames,
  spatialRank,
  strArg,
  UNKNOWN,
} from "./util.js";

function sameShapeOp(name: string, doc: string, args: OpDef["args"], attrs: (ctx: OpContext) => Record<string, unknown>): OpDef {
  return {
    name,
    doc,
    args,
    inputs: 1,
    infer(ctx) {
      const bad = expectRank(ctx, 0, { min: 1 }, name);
      if (bad) return bad;
      return { outputs: [ctx.inputs[0]!.shape], attrs: attrs(ctx) };
    },
  };
}

const dropout = sameShapeOp(
  "dropout",
  "Zeroes each element with probability p during training (scaling the rest by 1 / (1 - p)).",
  [{ name: "p", type: "float", default: 0.5, min: 0, max: 1 }],
  (ctx) => ({ p: numArg(ctx, "p") }),
);

const stochasticDepth = sameShapeOp(
  "stochastic_depth",
  "Drops a whole residual branch with probability p during training (per sample, or per batch).",
  [
    { name: "p", type: "float", min: 0, max: 1 },
    { name: "mode", type: "enum", choices: ["row", "batch"], default: "row" },
  ],
  (ctx) => ({ p: numArg(ctx, "p"), mode: strArg(ctx, "mode") }),
);

/**
 * Elementwise ops broadcast channels-first: shapes are aligned at the batch dim, a shorter
 * one is padded with trailing 1s, then each dim must be equal or 1. So [N, C, 1, 1] and
 * [N, C] both scale [N, C, H, W] (squeeze-excitation), and [1, T, C] adds to [N, T, C].
 * Attribute `broadcast` tells backends some input needs expanding.
 */
function elementwise(name: string, doc: string): OpDef {
  return {
    name,
    doc,
    args: [],
    inputs: "variadic",
    infer(ctx) {
      const bad = expectInputCount(ctx, { min: 2 }, name);
      if (bad) return bad;
      const shapes = ctx.inputs.map((t) => t.shape);
      const b = broadcastShapes(shapes);
      if (!("shape" in b)) {
        const [sa, sb] = [shapes[b.a]!, shapes[b.b]!];
        return fail(
          b.dim === 1 && shapes.every((s) => s.length === sa.length) ? "MEDG301" : "MEDG305",
          `${name} expects inputs of the same shape (or one broadcastable like [N, C, 1, 1] against [N, C, H, W]), ` +
            `but dim ${b.dim} differs: ${String(sa[b.dim])} in ${ctx.describe(b.a)} vs ${String(sb[b.dim])} in ${ctx.describe(b.b)}`,
        );
      }
      const broadcast = shapes.some((s) => s.length !== b.shape.length || s.some((d, i) => d !== b.shape[i]));
      return { outputs: [b.shape], attrs: { broadcast } };
    },
  };
}

const concat: OpDef = {
  name: "concat",
  doc: "Concatenates its inputs along `axis` (default channels); every other dim must match.",
  args: [{ name: "axis", type: "int", default: 1 }],
  inputs: "variadic",
  infer(ctx) {
    const bad = expectInputCount(ctx, { min: 1 }, "concat");
    if (bad) return bad;
    const shapes = ctx.inputs.map((t) => t.shape);
    const rank = shapes[0]!.length;
    for (let i = 1; i < shapes.length; i++)
      if (shapes[i]!.length !== rank)
        return fail("MEDG302", `concat expects inputs of equal rank, got ${ctx.describe(0)} and ${ctx.describe(i)}`);
    const axis = normaliseAxis(ctx, intArg(ctx, "axis"), rank, "concat");
    if (failed(axis)) return axis;
    if (axis === 0) return fail("MEDG306", "concat cannot join along the batch dim (axis 0)");
    const out: Dim[] = [...shapes[0]!];
    for (let i = 1; i < shapes.length; i++)
      for (let d = 0; d < rank; d++) {
        if (d === axis) continue;
        const [x, y] = [shapes[0]![d]!, shapes[i]![d]!];
        if (!dimsCompatible(x, y))
          return fail(
            "MEDG305",
            `concat along dim ${axis} needs every other dim equal, but dim ${d} is ${String(x)} in ${ctx.describe(0)} and ${String(y)} in ${ctx.describe(i)}`,
          );
        if (out[d] === UNKNOWN) out[d] = y;
      }
    out[axis] = dimSum(shapes.map((s) => s[axis]!));
    return { outputs: [out], attrs: { axis } };
  },
};

const split: OpDef = {
  name: "split",
  doc: "Splits along `axis` into n equal parts (sizes=n) or parts of the listed sizes; one output per part.",
  args: [
    { name: "sizes", type: "ints", min: 1, doc: "number of equal parts, or the list of part sizes" },
    { name: "axis", type: "int", default: 1 },
  ],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 2 }, "split");
    if (bad) return bad;
    const shape = ctx.inputs[0]!.shape;
    const axis = normaliseAxis(ctx, intArg(ctx, "axis"), shape.length, "split");
    if (failed(axis)) return axis;
    if (axis === 0) return fail("MEDG306", "split cannot divide the batch dim (axis 0)");
    const size = shape[axis]!;
    if (typeof size !== "number") return fail("MEDG305", `split needs a known size on dim ${axis}, got ${ctx.describe(0)}`);
    const spec = numsArg(ctx, "sizes")!;
    let sizes: number[];
    if (typeof spec === "number") {
      if (!(spec >= 1)) return fail("MEDG306", `split into ${spec} parts: the number of parts must be 1 or more`);
      if (size % spec !== 0)
        return fail("MEDG305", `split into ${spec} equal parts needs dim ${axis} divisible by ${spec}, got ${size} in ${ctx.describe(0)}`);
      sizes = new Array<number>(spec).fill(size / spec);
    } else {
      if (spec.length === 0 || spec.some((s) => !(s >= 1)))
        return fail("MEDG306", `split sizes ${formatNums(spec)} must be a non-empty list of sizes 1 or more`);
      const total = spec.reduce((a, b) => a + b, 0);
      if (total !== size)
        return fail("MEDG305", `split sizes ${formatNums(spec)} sum to ${total}, but dim ${axis} of ${ctx.describe(0)} is ${size}`);
      sizes = [...spec];
    }
    const outputs = sizes.map((s) => shape.map((d, i) => (i === axis ? s : d)));
    return { outputs, attrs: { axis, sizes } };
  },
};

/**
 * `shape` lists the per-sample dims (the batch stays first and symbolic): -1 is inferred from
 * the element count, 0 copies the input's per-sample dim at the same position.
 */
const reshape: OpDef = {
  name: "reshape",
  doc: "Reshapes each sample to `shape` (per-sample dims; -1 inferred, 0 copied); the batch dim is kept.",
  args: [{ name: "shape", type: "ints", min: -1, doc: "per-sample dims after the batch" }],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 1 }, "reshape");
    if (bad) return bad;
    const shape = ctx.inputs[0]!.shape;
    const inDims = shape.slice(1);
    const raw = numsArg(ctx, "shape")!;
    const spec = typeof raw === "number" ? [raw] : [...raw];
    const shown = `reshape to ${formatShape(spec)}`;
    if (spec.filter((d) => d === -1).length > 1) return fail("MEDG306", `${shown}: at most one dim may be -1`);
    const out: Dim[] = [];
    const copied = new Set<number>();
    for (let i = 0; i < spec.length; i++) {
      const d = spec[i]!;
      if (!Number.isInteger(d) || d < -1) return fail("MEDG306", `${shown}: dims must be sizes, -1 (inferred) or 0 (copied), got ${d}`);
      if (d === 0) {
        if (i >= inDims.length) return fail("MEDG306", `${shown}: 0 at position ${i} copies a dim that ${ctx.describe(0)} does not have`);
        copied.add(i);
        out.push(inDims[i]!);
      } else out.push(d);
    }
    // Dims copied by 0 cancel out on both sides, so symbolic ones there don't block the check.
    const rest = inDims.filter((_, i) => !copied.has(i));
    const free = out.filter((_, i) => !copied.has(i));
    const hole = out.indexOf(-1);
    if (rest.some((d) => typeof d !== "number")) {
      if (hole >= 0) out[hole] = UNKNOWN;
      return { outputs: [[shape[0]!, ...out]], attrs: { shape: out } };
    }
    const total = (rest as number[]).reduce((a, b) => a * b, 1);
    const known = free.filter((d) => d !== -1).reduce<number>((a, b) => a * (b as number), 1);
    if (hole >= 0) {
      if (total % known !== 0)
        return fail(
          "MEDG305",
          `${shown} cannot hold the ${total} elements per sample of ${ctx.describe(0)}: ${total} is not divisible by ${known}`,
        );
      out[hole] = total / known;
    } else if (known !== total) {
      return fail("MEDG305", `${shown} holds ${known} elements per sample, but ${ctx.describe(0)} has ${total}`);
    }
    return { outputs: [[shape[0]!, ...out]], attrs: { shape: out } };
  },
};

const flatten: OpDef = {
  name: "flatten",
  doc: "Merges dims start..end (inclusive) into one, like torch.flatten; the batch dim is kept.",
  args: [
    { name: "start", type: "int", default: 1 },
    { name: "end", type: "int", default: -1 },
  ],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 1 }, "flatten");
    if (bad) return bad;
    const shape = ctx.inputs[0]!.shape;
    // A rank-1 input has nothing after the batch to merge.
    if (shape.length === 1) return { outputs: [shape], attrs: { start: 1, end: 0 } };
    const start = normaliseAxis(ctx, intArg(ctx, "start"), shape.length, "flatten", "start");
    if (failed(start)) return start;
    const end = normaliseAxis(ctx, intArg(ctx, "end"), shape.length, "flatten", "end");
    if (failed(end)) return end;
    if (start === 0) return fail("MEDG306", `flatten cannot merge the batch dim (start=0) of ${ctx.describe(0)}`);
    if (start > end) return fail("MEDG306", `flatten start=${start} comes after end=${end} for ${ctx.describe(0)}`);
    const merged = dimProduct(shape.slice(start, end + 1));
    return { outputs: [[...shape.slice(0, start), merged, ...shape.slice(end + 1)]], attrs: { start, end } };
  },
};

function checkPermutation(ctx: OpContext, op: string, perm: readonly number[]): InferResult {
  const shape = ctx.inputs[0]!.shape;
  const rank = shape.length;
  const dims: number[] = [];
  for (const p of perm) {
    const a = normaliseAxis(ctx, p, rank, op, "dim");
    if (failed(a)) return a;
    dims.push(a);
  }
  if (new Set(dims).size !== rank) return fail("MEDG306", `${op} dims ${formatNums(perm)} is not a permutation of 0..${rank - 1}`);
  if (dims[0] !== 0) return fail("MEDG306", `${op} must keep the batch dim first, got dims ${formatNums(perm)}`);
  return { outputs: [dims.map((d) => shape[d]!)], attrs: { perm: dims } };
}

const permute: OpDef = {
  name: "permute",
  doc: "Reorders dims; `dims` is a full permutation that keeps the batch at 0, e.g. [0, 2, 3, 1] for NCHW → NHWC.",
  args: [{ name: "dims", type: "ints" }],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 1 }, "permute");
    if (bad) return bad;
    const raw = numsArg(ctx, "dims")!;
    const perm = typeof raw === "number" ? [raw] : raw;
    const rank = ctx.inputs[0]!.shape.length;
    if (perm.length !== rank)
      return fail("MEDG302", `permute dims ${formatNums(perm)} has ${perm.length} entries, but ${ctx.describe(0)} has rank ${rank}`);
    return checkPermutation(ctx, "permute", perm);
  },
};

const transpose: OpDef = {
  name: "transpose",
  doc: "Swaps two dims a and b (never the batch).",
  args: [
    { name: "a", type: "int" },
    { name: "b", type: "int" },
  ],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 2 }, "transpose");
    if (bad) return bad;
    const rank = ctx.inputs[0]!.shape.length;
    const a = normaliseAxis(ctx, intArg(ctx, "a"), rank, "transpose", "a");
    if (failed(a)) return a;
    const b = normaliseAxis(ctx, intArg(ctx, "b"), rank, "transpose", "b");
    if (failed(b)) return b;
    if (a === 0 || b === 0) return fail("MEDG306", `transpose cannot move the batch dim (dim 0) of ${ctx.describe(0)}`);
    const perm = Array.from({ length: rank }, (_, i) => (i === a ? b : i === b ? a : i));
    return checkPermutation(ctx, "transpose", perm);
  },
};

const MODE_RANK: Readonly<Record<string, number>> = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };

function resizeOp(name: string): OpDef {
  return {
    name,
    doc: "Resizes the spatial dims by `scale` or to `size` (PyTorch's interpolate / Upsample).",
    args: [
      { name: "scale", type: "floats", default: null, min: 0, doc: "scale factor per spatial dim, or one for all" },
      { name: "size", type: "ints", default: null, min: 1, doc: "output spatial size" },
      { name: "mode", type: "enum", choices: ["nearest", "linear", "bilinear", "bicubic", "trilinear"], default: "nearest" },
      { name: "align_corners", type: "bool", default: false },
    ],
    inputs: 1,
    infer(ctx) {
      const bad = expectRank(ctx, 0, [3, 4, 5], name, { layout: LAYOUT.spatial });
      if (bad) return bad;
      const shape = ctx.inputs[0]!.shape;
      const n = spatialRank(shape.length);
      const mode = strArg(ctx, "mode");
      const alignCorners = boolArg(ctx, "align_corners");
      const wantRank = MODE_RANK[mode];
      if (wantRank !== undefined && wantRank !== shape.length)
        return fail("MEDG302", `${name} mode ${mode} needs an input of rank ${wantRank}, got ${ctx.describe(0)}`);
      if (alignCorners && mode === "nearest")
        return fail("MEDG306", `${name} align_corners only applies to the interpolating modes, not nearest`);
      const scaleArg = numsArg(ctx, "scale");
      const sizeArg = numsArg(ctx, "size");
      if ((scaleArg === null) === (sizeArg === null))
        return fail("MEDG306", `${name} needs exactly one of scale and size, got ${scaleArg === null ? "neither" : "both"}`);
      let sizes: Dim[];
      let scales: number[] | null = null;
      if (sizeArg !== null) {
        const s = perDim(ctx, name, "size", sizeArg, n, { min: 1, integer: true });
        if (failed(s)) return s;
        sizes = s;
      } else {
        const s = perDim(ctx, name, "scale", scaleArg!, n);
        if (failed(s)) return s;
        if (s.some((x) => !(x > 0))) return fail("MEDG306", `${name} scale must be positive, got ${formatNums(scaleArg!)}`);
        scales = s;
        sizes = [];
        const names = spatialNames(n);
        for (let i = 0; i < n; i++) {
          const d = shape[2 + i]!;
          if (typeof d !== "number") {
            sizes.push(s[i] === 1 ? d : UNKNOWN);
            continue;
          }
          // PyTorch floors the scaled size.
          const o = Math.floor(d * s[i]!);
          if (o < 1) return fail("MEDG303", `${name} scale ${s[i]} shrinks the ${names[i]} ${d} of ${ctx.describe(0)} to ${o}`);
          sizes.push(o);
        }
      }
      return { outputs: [[shape[0]!, shape[1]!, ...sizes]], attrs: { rank: n, mode, alignCorners, sizes, scales } };
    },
  };
}

/**
 * `pads` in torch.nn.functional.pad order: last dim first, (before, after) per dim.
 * Attributes also give full-rank `begin` and `end` arrays, batch included, for backends.
 */
const pad: OpDef = {
  name: "pad",
  doc: "Pads the trailing dims; `pads` as F.pad: [left, right, top, bottom, front, back] (last dim first).",
  args: [
    { name: "pads", type: "ints" },
    { name: "mode", type: "enum", choices: ["constant", "reflect", "replicate"], default: "constant" },
    { name: "value", type: "float", default: 0 },
  ],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 2 }, "pad");
    if (bad) return bad;
    const shape = ctx.inputs[0]!.shape;
    const rank = shape.length;
    const raw = numsArg(ctx, "pads")!;
    const pads = typeof raw === "number" ? [raw, raw] : [...raw];
    const mode = strArg(ctx, "mode");
    if (pads.length === 0 || pads.length % 2 !== 0)
      return fail("MEDG306", `pad pads ${formatNums(raw)} must have an even number of entries (before, after per dim)`);
    const maxDims = mode === "constant" ? rank - 1 : Math.max(rank - 2, 0);
    if (pads.length / 2 > maxDims) {
      const which = mode === "constant" ? "non-batch" : "spatial";
      return fail(
        "MEDG302",
        `pad pads ${formatNums(raw)} pad ${pads.length / 2} dims, but ${ctx.describe(0)} has ${maxDims} ${which} dims (${mode} mode)`,
      );
    }
    const begin = new Array<number>(rank).fill(0);
    const end = new Array<number>(rank).fill(0);
    for (let j = 0; j < pads.length / 2; j++) {
      begin[rank - 1 - j] = pads[2 * j]!;
      end[rank - 1 - j] = pads[2 * j + 1]!;
    }
    const out: Dim[] = [];
    for (let d = 0; d < rank; d++) {
      const size = shape[d]!;
      const [b, e] = [begin[d]!, end[d]!];
      if (typeof size !== "number") {
        out.push(b + e === 0 ? size : UNKNOWN);
        continue;
      }
      // Reflection mirrors without repeating the edge, so it cannot reach past the far side.
      if (mode === "reflect" && (b >= size || e >= size))
        return fail("MEDG303", `pad reflect padding ${Math.max(b, e)} must be smaller than dim ${d} (${size}) of ${ctx.describe(0)}`);
      const o = size + b + e;
      if (o < 1) return fail("MEDG303", `pad leaves dim ${d} of ${ctx.describe(0)} with size ${o}`);
      out.push(o);
    }
    return { outputs: [out], attrs: { mode, value: numArg(ctx, "value"), pads, begin, end } };
  },
};

function channelRepeat(ctx: OpContext, repeats: number): InferResult {
  const shape = ctx.inputs[0]!.shape;
  const c = shape[1]!;
  const channels = typeof c === "number" ? c * repeats : repeats === 1 ? c : UNKNOWN;
  return { outputs: [[shape[0]!, channels, ...shape.slice(2)]], attrs: { repeats } };
}

const grayToRgb: OpDef = {
  name: "gray_to_rgb",
  doc: "Repeats a single grayscale channel three times: [N, 1, ...] → [N, 3, ...] (for RGB-pretrained backbones).",
  args: [],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 2 }, "gray_to_rgb", { layout: LAYOUT.channels });
    if (bad) return bad;
    const c = ctx.inputs[0]!.shape[1]!;
    if (c !== 1)
      return fail(
        "MEDG301",
        `gray_to_rgb expects 1 channel (grayscale), got ${typeof c === "number" ? `${c} channels` : `channel dim ${c}`} in ${ctx.describe(0)}`,
        c === 3 ? { hint: "the input already has 3 channels; remove gray_to_rgb" } : {},
      );
    return channelRepeat(ctx, 3);
  },
};

const repeatChannels: OpDef = {
  name: "repeat_channels",
  doc: "Tiles the channels n times: [N, C, ...] → [N, C·n, ...], like x.repeat(1, n, 1, 1).",
  args: [{ name: "n", type: "int", min: 1 }],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 2 }, "repeat_channels", { layout: LAYOUT.channels });
    if (bad) return bad;
    const n = intArg(ctx, "n");
    if (!(n >= 1)) return fail("MEDG306", `repeat_channels n must be 1 or more, got ${n}`);
    return channelRepeat(ctx, n);
  },
};

export const ops: OpDef[] = [
  dropout,
  stochasticDepth,
  elementwise("add", "Elementwise sum of its inputs (residual connections); broadcasts channels-first."),
  elementwise("mul", "Elementwise product of its inputs (gating, squeeze-excitation scaling); broadcasts channels-first."),
  concat,
  split,
  reshape,
  flatten,
  permute,
  transpose,
  resizeOp("resize"),
  resizeOp("upsample"),
  pad,
  grayToRgb,
  repeatChannels,
];
