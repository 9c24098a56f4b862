/**
 * Pooling, rank-generic over [N, C, ...spatial]. Windowed pools store rank (spatial dims),
 * kernel, strides, pads (per side, [begin..., end...]), dilations and ceil; global pools
 * flatten to [N, C] because that is what a head consumes.
 */
import type { OpContext, OpDef } from "../op.js";
import { boolArg, expectRank, fail, failed, LAYOUT, numsArg, perDim, spatialRank, symmetricPads, windowOutput } from "./util.js";

interface PoolSpec {
  dilation: boolean;
}

function windowPool(ctx: OpContext, op: string, spec: PoolSpec) {
  const bad = expectRank(ctx, 0, [3, 4, 5], op, { layout: LAYOUT.spatial });
  if (bad) return bad;
  const shape = ctx.inputs[0]!.shape;
  const n = spatialRank(shape.length);
  const kernel = perDim(ctx, op, "k", numsArg(ctx, "k")!, n, { min: 1, integer: true });
  if (failed(kernel)) return kernel;
  // PyTorch's default stride is the kernel size (non-overlapping windows).
  const s = numsArg(ctx, "s");
  const strides = s === null ? [...kernel] : perDim(ctx, op, "s", s, n, { min: 1, integer: true });
  if (failed(strides)) return strides;
  const pads = perDim(ctx, op, "p", numsArg(ctx, "p")!, n, { min: 0, integer: true });
  if (failed(pads)) return pads;
  const dilations = spec.dilation ? perDim(ctx, op, "d", numsArg(ctx, "d")!, n, { min: 1, integer: true }) : new Array<number>(n).fill(1);
  if (failed(dilations)) return dilations;
  for (let i = 0; i < n; i++)
    if (pads[i]! > Math.floor(kernel[i]! / 2))
      return fail("MEDG306", `${op} padding ${pads[i]} must be at most half the kernel size ${kernel[i]}`);
  const ceil = boolArg(ctx, "ceil");
  const w = { kernel, strides, pads: symmetricPads(pads), dilations, ceil };
  const spatial = windowOutput(ctx, op, w);
  if (failed(spatial)) return spatial;
  return { outputs: [[shape[0]!, shape[1]!, ...spatial]], attrs: { rank: n, ...w } };
}

const maxpool: OpDef = {
  name: "maxpool",
  doc: "Max pooling over sliding windows; stride defaults to the kernel size.",
  args: [
    { name: "k", type: "ints", min: 1, doc: "window size" },
    { name: "s", type: "ints", default: null, min: 1, doc: "stride; none: the window size" },
    { name: "p", type: "ints", default: 0, min: 0, doc: "padding per side" },
    { name: "d", type: "ints", default: 1, min: 1, doc: "dilation" },
    { name: "ceil", type: "bool", default: false, doc: "round output sizes up" },
  ],
  inputs: 1,
  infer: (ctx) => windowPool(ctx, "maxpool", { dilation: true }),
};

const avgpool: OpDef = {
  name: "avgpool",
  doc: "Average pooling over sliding windows; stride defaults to the kernel size.",
  args: [
    { name: "k", type: "ints", min: 1, doc: "window size" },
    { name: "s", type: "ints", default: null, min: 1, doc: "stride; none: the window size" },
    { name: "p", type: "ints", default: 0, min: 0, doc: "padding per side" },
    { name: "ceil", type: "bool", default: false, doc: "round output sizes up" },
    { name: "count_include_pad", type: "bool", default: true, doc: "count padded zeros in the average" },
  ],
  inputs: 1,
  infer(ctx) {
    const r = windowPool(ctx, "avgpool", { dilation: false });
    if (failed(r)) return r;
    return { outputs: r.outputs, attrs: { ...r.attrs, countIncludePad: boolArg(ctx, "count_include_pad") } };
  },
};

function globalPool(name: string, doc: string): OpDef {
  return {
    name,
    doc,
    args: [],
    inputs: 1,
    infer(ctx) {
      const bad = expectRank(ctx, 0, [3, 4, 5], name, {
        layout: LAYOUT.spatial,
        hint: ctx.inputs[0]?.shape.length === 2 ? "the input is already pooled to [N, C]" : undefined,
      });
      if (bad) return bad;
      const shape = ctx.inputs[0]!.shape;
      return { outputs: [[shape[0]!, shape[1]!]], attrs: { rank: spatialRank(shape.length) } };
    },
  };
}

function adaptivePool(name: string, doc: string): OpDef {
  return {
    name,
    doc,
    args: [{ name: "size", type: "ints", min: 1, doc: "output size, one per spatial dim or one for all" }],
    inputs: 1,
    infer(ctx) {
      const bad = expectRank(ctx, 0, [3, 4, 5], name, { layout: LAYOUT.spatial });
      if (bad) return bad;
      const shape = ctx.inputs[0]!.shape;
      const n = spatialRank(shape.length);
      const size = perDim(ctx, name, "size", numsArg(ctx, "size")!, n, { min: 1, integer: true });
      if (failed(size)) return size;
      return { outputs: [[shape[0]!, shape[1]!, ...size]], attrs: { rank: n, size } };
    },
  };
}

export const ops: OpDef[] = [
  maxpool,
  avgpool,
  globalPool("gap", "Global average pool and flatten: [N, C, ...spatial] → [N, C]."),
  globalPool("gmp", "Global max pool and flatten: [N, C, ...spatial] → [N, C]."),
  adaptivePool("adaptive_avgpool", "Adaptive average pool to a fixed spatial size: → [N, C, ...size]."),
  adaptivePool("adaptive_maxpool", "Adaptive max pool to a fixed spatial size: → [N, C, ...size]."),
];
