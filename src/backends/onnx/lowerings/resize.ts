/**
 * Resize as PyTorch's interpolate computes it (ATen's CPU kernels), in ONNX forms that give the
 * same values:
 *  - nearest, sizes known: a Gather per resized axis with PyTorch's source indices ⌊i · s⌋ in
 *    float32, s = 1 / factor or in / out. ONNX's Resize divides by out / in instead, which
 *    float32 rounding can move across an integer, and onnxruntime copies an input whose sizes
 *    are all unchanged where PyTorch maps them by the factor.
 *  - bicubic, sizes known, where onnxruntime's cubic Resize does not compute what PyTorch does
 *    (see `cubicAlike`): a constant interpolation matrix per axis, PyTorch's taps with
 *    A = -0.75 at clamped indices.
 *  - otherwise Resize: nearest asymmetric + floor; the interpolating modes pytorch_half_pixel
 *    (or align_corners), half_pixel where an output length is 1 (pytorch_half_pixel reads
 *    source 0 there, PyTorch (0.5 · scale − 0.5)), bicubic with a = -0.75. PyTorch's linear
 *    modes copy an axis whose size a factor leaves unchanged: its scale is written as 1.
 * Target sizes go in as sizes where ONNX can take them for the spatial axes only (opset 18's
 * `axes`, or a fixed batch); at opset 17 an exact float scale does, and only an inexact one
 * needs the batch from Shape.
 */
import { float, int, ints, str, type Attrs } from "../builder.js";
import { isFailure, type Lowering, type LoweringContext, type LoweringFailure } from "../lowering.js";
import { applyAlongLastAxes, type AxisMatrix } from "./separable.js";

/** One spatial axis of a resize: its length, the output's, and the factor when one was given. */
interface Axis {
  length: number;
  out: number;
  factor: number | null;
}

const LINEAR_MODES: ReadonlySet<string> = new Set(["linear", "bilinear", "trilinear"]);

/** PyTorch's nearest source index of each output index (the generic kernel: no copy at equal sizes). */
function nearestIndices({ length, out, factor }: Axis): number[] {
  const scale = Math.fround(factor !== null ? 1 / factor : length / out);
  return Array.from({ length: out }, (_, i) => Math.min(Math.floor(Math.fround(i * scale)), length - 1));
}

/** PyTorch's bicubic interpolation along one axis as a [length, out] matrix (taps at clamped indices add up). */
function bicubicMatrix({ length, out, factor }: Axis, alignCorners: boolean): AxisMatrix {
  const A = -0.75;
  const near = (z: number) => ((A + 2) * z - (A + 3)) * z * z + 1;
  const far = (z: number) => ((A * z - 5 * A) * z + 8 * A) * z - 4 * A;
  const scale = alignCorners ? (out > 1 ? (length - 1) / (out - 1) : 0) : factor !== null ? 1 / factor : length / out;
  const weight = new Float32Array(length * out);
  for (let o = 0; o < out; o++) {
    const s = alignCorners ? o * scale : (o + 0.5) * scale - 0.5;
    const f = Math.floor(s);
    const t = s - f;
    [far(t + 1), near(t), near(1 - t), far(2 - t)].forEach((w, k) => {
      const i = Math.min(Math.max(f - 1 + k, 0), length - 1);
      weight[i * out + o]! += w;
    });
  }
  const key = `bicubic(${length}->${out}${alignCorners ? ",align_corners" : factor !== null ? `,scale=${factor}` : ""})`;
  return { length, out, weight, key };
}

/** The resized axes with known lengths, or null. */
function axesOf(ctx: LoweringContext): Axis[] | null {
  const inSize = ctx.inputShape().slice(2);
  const outSize = ctx.outputShape().slice(2);
  const scales = ctx.attr<number[] | null>("scales");
  if (![...inSize, ...outSize].every((d) => typeof d === "number")) return null;
  return inSize.map((length, i) => ({ length: length as number, out: outSize[i] as number, factor: scales ? scales[i]! : null }));
}

function byGathers(ctx: LoweringContext, axes: readonly Axis[]): string {
  let y = ctx.input();
  axes.forEach((a, d) => {
    const index = nearestIndices(a);
    if (index.every((v, i) => v === i) && a.out === a.length) return;
    const key = `nearest(${a.length}->${a.out}${a.factor !== null ? `,scale=${a.factor}` : ""})`;
    y = ctx.op("Gather", [y, ctx.int64s(key, [a.out], index)], { axis: int(2 + d) });
  });
  return y;
}

const isExactFloat32 = (x: number) => Math.fround(x) === x;

function byResize(ctx: LoweringContext, axes: readonly Axis[] | null): string | LoweringFailure {
  const mode = ctx.attr<string>("mode");
  const rank = ctx.inputShape().length;
  const alignCorners = ctx.attr<boolean>("alignCorners");
  const halfPixel = axes !== null && axes.some((a) => a.out === 1) ? "half_pixel" : "pytorch_half_pixel";
  const attrs: Attrs =
    mode === "nearest"
      ? { mode: str("nearest"), coordinate_transformation_mode: str("asymmetric"), nearest_mode: str("floor") }
      : {
          mode: str(mode === "bicubic" ? "cubic" : "linear"),
          coordinate_transformation_mode: str(alignCorners ? "align_corners" : halfPixel),
          ...(mode === "bicubic" ? { cubic_coeff_a: float(-0.75) } : {}),
        };
  const scales = ctx.attr<number[] | null>("scales");
  const inSize = ctx.inputShape().slice(2);
  const outSize = ctx.attr<(number | string)[]>("sizes");
  const floats = (xs: number[]) => ctx.constant(`scales`, [xs.length], Float32Array.from(xs));
  if (scales !== null) {
    const copied = (i: number) => LINEAR_MODES.has(mode) && axes !== null && axes[i]!.out === axes[i]!.length;
    return ctx.op("Resize", [ctx.input(), "", floats([1, 1, ...scales.map((s, i) => (copied(i) ? 1 : s))])], attrs);
  }
  if (!outSize.every((d): d is number => typeof d === "number") || !inSize.every((d): d is number => typeof d === "number"))
    return ctx.fail(`${ctx.node.op} to a size needs known spatial sizes, got [${ctx.inputShape().join(", ")}]`);
  if (ctx.opset >= 18) {
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    return ctx.op("Resize", [ctx.input(), "", "", ctx.ints("sizes", outSize)], { ...attrs, axes: ints(spatial) });
  }
  const channels = ctx.inputShape()[1];
  if (ctx.batch !== null && typeof channels === "number") return ctx.op("Resize", [ctx.input(), "", "", ctx.ints("sizes", [ctx.batch, channels, ...outSize])], attrs);
  const ratios = outSize.map((o, i) => o / inSize[i]!);
  if (ratios.every(isExactFloat32)) return ctx.op("Resize", [ctx.input(), "", floats([1, 1, ...ratios])], attrs);
  const leading = ctx.op("Shape", [ctx.input()], { start: int(0), end: int(2) });
  const sizes = ctx.op("Concat", [leading, ctx.ints("sizes", outSize)], { axis: int(0) });
  return ctx.op("Resize", [ctx.input(), "", "", sizes], attrs);
}

/**
 * Whether onnxruntime's cubic Resize computes this axis as PyTorch does. It copies an input whose
 * sizes are all unchanged, and once its optimizer has moved transposes through the Resize (a
 * channels-last layer before, ln2d after), it refuses scales below 1 and copies any axis of
 * unchanged length, which PyTorch interpolates by the factor.
 */
const cubicAlike = (a: Axis) => a.out > a.length || (a.out === a.length && (a.factor === null || a.factor === 1));

export const resize: Lowering = (ctx) => {
  const mode = ctx.attr<string>("mode");
  const axes = axesOf(ctx);
  if (axes !== null && mode === "nearest") return [byGathers(ctx, axes)];
  if (axes !== null && mode === "bicubic" && !axes.every(cubicAlike)) {
    const alignCorners = ctx.attr<boolean>("alignCorners");
    const [h, w] = axes.map((a) => bicubicMatrix(a, alignCorners));
    return [applyAlongLastAxes(ctx, ctx.input(), w!, h!)];
  }
  const y = byResize(ctx, axes);
  return isFailure(y) ? y : [y];
};
