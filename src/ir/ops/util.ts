/**
 * Helpers shared by the operator definitions: argument access, rank and channel checks that
 * produce well-worded errors, per-dimension argument normalisation and sliding-window size
 * arithmetic. Every check returns a `Failure` value instead of throwing.
 */
import type { Code } from "../../diagnostics/codes.js";
import type { OpContext, OpError } from "../op.js";
import type { Dim, Shape } from "../types.js";

/**
 * A dimension whose size cannot be known before running: the result of arithmetic on a
 * symbolic dim. Shape checks treat it as compatible with any size.
 */
export const UNKNOWN = "?";

export interface Failure {
  error: OpError;
}

export type Result<T> = T | Failure;

export function fail(code: Code, message: string, extra: { hint?: string; insertBefore?: string } = {}): Failure {
  const error: OpError = { code, message };
  if (extra.hint !== undefined) error.hint = extra.hint;
  if (extra.insertBefore !== undefined) error.insertBefore = extra.insertBefore;
  return { error };
}

export function failed(x: unknown): x is Failure {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "error" in x;
}

// ---- arguments (already type checked by the binder, so these only narrow the type) ----

export function intArg(ctx: OpContext, name: string): number {
  return ctx.args[name] as number;
}

export function numArg(ctx: OpContext, name: string): number {
  return ctx.args[name] as number;
}

export function boolArg(ctx: OpContext, name: string): boolean {
  return ctx.args[name] as boolean;
}

export function strArg(ctx: OpContext, name: string): string {
  return ctx.args[name] as string;
}

/** An "ints"/"floats" argument: a single number or a list; null stays null. */
export function numsArg(ctx: OpContext, name: string): number | readonly number[] | null {
  const v = ctx.args[name];
  return v === undefined ? null : (v as number | readonly number[] | null);
}

export function formatNums(v: number | readonly number[]): string {
  return typeof v === "number" ? String(v) : `[${v.join(", ")}]`;
}

// ---- inputs and ranks ----

/** "3, 4 or 5", "2", "2 or more". */
export function formatRanks(ranks: readonly number[] | { min: number }): string {
  if (!Array.isArray(ranks)) return `${(ranks as { min: number }).min} or more`;
  const r = ranks as readonly number[];
  return r.length === 1 ? String(r[0]) : `${r.slice(0, -1).join(", ")} or ${r[r.length - 1]}`;
}

export function expectInputCount(ctx: OpContext, count: number | { min: number }, op: string): Failure | undefined {
  const n = ctx.inputs.length;
  if (typeof count === "number") {
    if (n === count) return undefined;
    return fail("MEDG307", `${op} expects ${count} input${count === 1 ? "" : "s"}, got ${n}`);
  }
  if (n >= count.min) return undefined;
  return fail("MEDG307", `${op} expects ${count.min} or more inputs, got ${n}`);
}

/**
 * Checks the rank of input `i`: `conv expects an input of rank 3, 4 or 5 ([N, C, ...spatial]),
 * got [N, 512] from backbone.fc`. A missing input is a MEDG307.
 */
export function expectRank(
  ctx: OpContext,
  i: number,
  ranks: readonly number[] | { min: number; max?: number },
  op: string,
  opts: { layout?: string; hint?: string; insertBefore?: string } = {},
): Failure | undefined {
  const input = ctx.inputs[i];
  if (input === undefined) return fail("MEDG307", `${op} expects ${i + 1} input${i === 0 ? "" : "s"}, got ${ctx.inputs.length}`);
  const rank = input.shape.length;
  let ok: boolean;
  let wanted: string;
  if (Array.isArray(ranks)) {
    const list = ranks as readonly number[];
    ok = list.includes(rank);
    wanted = formatRanks(list);
  } else {
    const { min, max } = ranks as { min: number; max?: number };
    ok = rank >= min && (max === undefined || rank <= max);
    const list: number[] = [];
    if (max !== undefined) for (let r = min; r <= max; r++) list.push(r);
    wanted = max === undefined ? formatRanks({ min }) : formatRanks(list);
  }
  if (ok) return undefined;
  const layout = opts.layout ? ` (${opts.layout})` : "";
  const which = ctx.inputs.length > 1 ? `input ${i + 1}` : "an input";
  const extra: { hint?: string; insertBefore?: string } = {};
  if (opts.hint !== undefined) extra.hint = opts.hint;
  if (opts.insertBefore !== undefined) extra.insertBefore = opts.insertBefore;
  return fail("MEDG302", `${op} expects ${which} of rank ${wanted}${layout}, got ${ctx.describe(i)}`, extra);
}

/** Layout descriptions used in rank messages. */
export const LAYOUT = {
  spatial: "[N, C, ...spatial]",
  channels: "[N, C, ...]",
  features: "[N, ..., C]",
} as const;

/** Number of spatial dims of a channels-first tensor: [N, C, ...spatial]. */
export function spatialRank(rank: number): number {
  return rank - 2;
}

export function spatialNames(n: number): string[] {
  if (n === 1) return ["length"];
  if (n === 2) return ["height", "width"];
  if (n === 3) return ["depth", "height", "width"];
  return Array.from({ length: n }, (_, i) => `spatial dim ${i + 1}`);
}

/**
 * A dim that sizes parameters must be static: `bn needs a known channel count (dim 1) to size
 * its parameters, got [N, C, H, W] from x`.
 */
export function staticDim(ctx: OpContext, i: number, axis: number, op: string, what = "channel count"): Result<number> {
  const d = ctx.inputs[i]!.shape[axis];
  if (typeof d === "number") return d;
  return fail("MEDG301", `${op} needs a known ${what} (dim ${axis}) to size its parameters, got ${ctx.describe(i)}`);
}

/** Checks an optional declared channel count (`bn(c=64)`) against the actual one. */
export function expectChannels(ctx: OpContext, i: number, declared: unknown, actual: number, op: string, axis = 1): Failure | undefined {
  if (declared === null || declared === undefined || declared === actual) return undefined;
  return fail(
    "MEDG301",
    `${op}(c=${String(declared)}) expects ${String(declared)} channels (dim ${axis}), got ${actual} in ${ctx.describe(i)}`,
  );
}

/** Resolves a possibly negative axis against `rank`; out of range is a MEDG306. */
export function normaliseAxis(ctx: OpContext, axis: number, rank: number, op: string, arg = "axis"): Result<number> {
  const a = axis < 0 ? axis + rank : axis;
  if (Number.isInteger(a) && a >= 0 && a < rank) return a;
  return fail("MEDG306", `${op} ${arg}=${axis} is out of range for ${ctx.describe(0)} (rank ${rank})`);
}

/**
 * Normalises an int-or-list argument to one value per spatial dim. A single number, or a
 * list of one, applies to every dim; a list of another length than `n` is a rank mismatch.
 */
export function perDim(
  ctx: OpContext,
  op: string,
  name: string,
  value: number | readonly number[],
  n: number,
  opts: { min?: number; integer?: boolean } = {},
): Result<number[]> {
  let list: number[];
  if (typeof value === "number") list = new Array<number>(n).fill(value);
  else if (value.length === 1) list = new Array<number>(n).fill(value[0]!);
  else if (value.length === n) list = [...value];
  else
    return fail(
      "MEDG302",
      `${op} ${name}=${formatNums(value)} has ${value.length} entries, but ${ctx.describe(0)} has ${n} spatial dim${n === 1 ? "" : "s"}`,
    );
  for (const v of list) {
    if (opts.min !== undefined && !(v >= opts.min))
      return fail("MEDG306", `${op} ${name} must be ${opts.min} or more, got ${formatNums(value)}`);
    if (opts.integer && !Number.isInteger(v)) return fail("MEDG306", `${op} ${name} must be an integer, got ${formatNums(value)}`);
  }
  return list;
}

/** ONNX-style per-side pads [begin..., end...] from symmetric per-dim padding. */
export function symmetricPads(p: readonly number[]): number[] {
  return [...p, ...p];
}

export interface Window {
  kernel: readonly number[];
  strides: readonly number[];
  /** Per side, ONNX layout: [begin_1, …, begin_n, end_1, …, end_n]. */
  pads: readonly number[];
  dilations: readonly number[];
  ceil?: boolean;
}

/**
 * One output size of a convolution or pooling window, as PyTorch computes it. A symbolic
 * input size stays itself when the window preserves size, otherwise becomes UNKNOWN.
 * Returns null when the (dilated) kernel does not fit in the padded input.
 */
export function windowOutSize(size: Dim, k: number, s: number, padBegin: number, padEnd: number, d: number, ceil = false): Dim | null {
  const reach = d * (k - 1);
  if (typeof size !== "number") return s === 1 && padBegin + padEnd === reach ? size : UNKNOWN;
  const span = size + padBegin + padEnd - reach - 1;
  if (span < 0) return null;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch: the last window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= size + padBegin) out--;
  return out;
}

/** Output spatial sizes of a sliding window over input 0's spatial dims, or a MEDG303. */
export function windowOutput(ctx: OpContext, op: string, w: Window): Result<Dim[]> {
  const shape = ctx.inputs[0]!.shape;
  const n = w.kernel.length;
  const names = spatialNames(n);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const size = shape[2 + i]!;
    const k = w.kernel[i]!;
    const d = w.dilations[i]!;
    const pb = w.pads[i]!;
    const pe = w.pads[n + i]!;
    const o = windowOutSize(size, k, w.strides[i]!, pb, pe, d, w.ceil ?? false);
    if (o === null || (typeof o === "number" && o < 1)) {
      const reach = d * (k - 1) + 1;
      const kernel = d === 1 ? `kernel ${k}` : `kernel ${k} (dilation ${d}, reach ${reach})`;
      return fail(
        "MEDG303",
        `${op} ${kernel} is larger than the padded ${names[i]} ${Number(size) + pb + pe} (${String(size)} + padding ${pb + pe}) of ${ctx.describe(0)}`,
        { hint: "the input is too small for this many downsampling steps; use a larger input or fewer strides" },
      );
    }
    out.push(o);
  }
  return out;
}

/** Product of dims; UNKNOWN if any is symbolic (never arithmetic on a symbol). */
export function dimProduct(dims: readonly Dim[]): Dim {
  let p = 1;
  for (const d of dims) {
    if (typeof d !== "number") return dims.length === 1 ? d : UNKNOWN;
    p *= d;
  }
  return p;
}

/** Sum of dims; UNKNOWN if any is symbolic. */
export function dimSum(dims: readonly Dim[]): Dim {
  let s = 0;
  for (const d of dims) {
    if (typeof d !== "number") return UNKNOWN;
    s += d;
  }
  return s;
}

/** Whether two dims may be equal: identical, or either is UNKNOWN. */
export function dimsCompatible(a: Dim, b: Dim): boolean {
  return a === b || a === UNKNOWN || b === UNKNOWN;
}

export function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/**
 * Channels-first broadcasting of several shapes. Shapes are aligned at the batch dim; a
 * shorter shape is padded with trailing 1s (so [N, C] acts as [N, C, 1, 1] against
 * [N, C, H, W], as squeeze-excitation needs). Per dim, sizes must be equal or one must be 1;
 * UNKNOWN is compatible with anything. Returns the broadcast shape, or the first
 * offending pair (input indices and dim).
 */
export function broadcastShapes(shapes: readonly Shape[]): { shape: Dim[] } | { a: number; b: number; dim: number } {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let d = 0; d < rank; d++) {
    let cur: Dim = 1;
    let src = 0;
    for (let i = 0; i < shapes.length; i++) {
      const x: Dim = shapes[i]![d] ?? 1;
      if (x === 1 || x === cur) continue;
      if (cur === 1) {
        cur = x;
        src = i;
      } else if (x === UNKNOWN) {
        continue;
      } else if (cur === UNKNOWN) {
        cur = x;
        src = i;
      } else {
        return { a: src, b: i, dim: d };
      }
    }
    out.push(cur);
  }
  return { shape: out };
}
