/**
 * Random small models through the whole ONNX path, against the reference interpreter.
 *
 * fast-check draws an input and a list of abstract steps; `buildModel` turns them into valid .medg
 * text by tracking the tensor's shape and giving each step's numbers meaning for the op it picks
 * (a step that cannot apply is left out). Each model is compiled, given random weights (the init
 * rules with a random seed, then every constant-initialised parameter, BN statistics included,
 * drawn at random so that folding and affine transforms matter), run by the reference interpreter
 * on the graph as built, then folded, exported and run in onnxruntime on the same input.
 * A counterexample prints as its .medg text. MEDG_PROPERTY_RUNS and MEDG_PROPERTY_SEED run
 * more cases or others.
 *
 * Agreement: max |onnxruntime − reference| ≤ 1e-4 · max |reference|, the scale taken as at least 1:
 * weights and inputs keep intermediate values near 1, so an output that cancels to nearly 0 (the
 * mean of a normalised map) still carries float32 rounding of that size.
 */
import fc from "fast-check";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, it } from "vitest";
import { emitOnnx } from "../../src/backends/onnx/emit.js";
import { encodeModel } from "../../src/backends/onnx/export.js";
import { compileFile } from "../../src/compile.js";
import type { Graph } from "../../src/ir/graph.js";
import { prepareForInference } from "../../src/passes/inference.js";
import { fans, initialValues } from "../../src/weights/init.js";
import { outputShapes, runReference } from "../reference/interpreter.js";

const SEED = Number(process.env.MEDG_PROPERTY_SEED ?? 20250611);
const RUNS = Number(process.env.MEDG_PROPERTY_RUNS ?? 100);
const BATCH = 2;
const TOLERANCE = 1e-4;

// Size limits that keep every case fast in the reference interpreter.
const MAX_C = 16;
const MAX_SIZE = 16;
const MAX_TOKENS = 64;
const MAX_NUMEL = 2048;

// ---- shapes and steps ----

type State =
  | { kind: "map"; c: number; sp: number[] } // [N, C, ...spatial], 1 to 3 spatial dims
  | { kind: "tokens"; t: number; c: number } // [N, T, C]
  | { kind: "last"; h: number; w: number; c: number } // [N, H, W, C]
  | { kind: "vec"; c: number }; // [N, C]

/** Numbers an op turns into its arguments; shrinking drives them to 0, the simplest choice. */
interface Step {
  op: number;
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
}

interface Input {
  /** 0, 1: the image as it is; 2: as tokens [N, H·W, C]; 3: channels last [N, H, W, C]. */
  start: number;
  volume: boolean;
  c: number;
  d: number;
  h: number;
  w: number;
}

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;
const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const list = (xs: readonly number[]) => (xs.length === 1 ? String(xs[0]) : `[${xs.join(", ")}]`);

function numelOf(s: State): number {
  switch (s.kind) {
    case "map":
      return s.c * prod(s.sp);
    case "tokens":
      return s.t * s.c;
    case "last":
      return s.h * s.w * s.c;
    case "vec":
      return s.c;
  }
}

function fits(s: State): boolean {
  const sizes = s.kind === "map" ? s.sp : s.kind === "last" ? [s.h, s.w] : [];
  return s.c >= 1 && s.c <= MAX_C && sizes.every((v) => v >= 1 && v <= MAX_SIZE) && (s.kind !== "tokens" || s.t <= MAX_TOKENS) && numelOf(s) <= MAX_NUMEL;
}

/** Output size of a window, as PyTorch computes it (null when it does not fit). */
function windowOut(size: number, k: number, s: number, p: number, d: number, ceil = false): number | null {
  const span = size + 2 * p - d * (k - 1) - 1;
  if (span < 0) return null;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/**
 * Normalising 2 or 3 values divides by their spread, which two random values may make tiny: the
 * float32 rounding of onnxruntime's inputs is then amplified past any fixed tolerance. A single
 * value normalises exactly to 0.
 */
const wellConditioned = (count: number) => count === 1 || count >= 4;

/**
 * The same holds for a group of equal values (a 1x1 map padded or upsampled): their spread is
 * float32 rounding, divided by sqrt(eps). Epsilons of 1e-3 and 1e-2 keep that gain at 30 or
 * less (and check that eps reaches the exported node).
 */
const eps = (n: number) => pick(["1e-3", "1e-2"], n);

interface Built {
  text: string;
  state: State;
}

/** Fresh labels for parameterised ops, so names never collide whatever the nesting. */
class Labels {
  private n = 0;
  next(): string {
    return `l${this.n++}`;
  }
}

const ACTIVATIONS = [
  "relu",
  "gelu",
  "silu",
  "sigmoid",
  "tanh",
  "relu6",
  "leaky_relu(0.2)",
  'gelu(approximate="tanh")',
  "hardswish",
  "hardsigmoid",
  "identity",
  "dropout(0.3)",
  "stochastic_depth(0.2)",
];

type Rule = (s: State, x: Step, labels: Labels) => Built | null;

const same = (s: State, text: string): Built => ({ text, state: s });

// ---- rules on [N, C, ...spatial] ----

type MapState = Extract<State, { kind: "map" }>;
const map = (c: number, sp: number[]): MapState => ({ kind: "map", c, sp });

/** Per-dim values from one number: the same for every dim, or (when `vary`) a different one per dim. */
function perDim(r: number, base: number, vary: boolean, choices: readonly number[]): number[] {
  return Array.from({ length: r }, (_, i) => pick(choices, vary ? base + i * 7 + Math.floor(base / 3) : base));
}

/** Resizing is where PyTorch and ONNX differ most: drawn twice as often as other rules. */
const resizeRule: Rule = (s, x) => {
  const m = s as MapState;
  const r = m.sp.length;
  const interpolating = x.a % 2 === 1;
  const mode = interpolating ? (r === 2 && x.a % 4 === 3 ? "bicubic" : ["linear", "bilinear", "trilinear"][r - 1]!) : "nearest";
  const alignCorners = interpolating && x.b % 2 === 1;
  let sp: number[];
  let how: string;
  if (x.c % 2 === 0) {
    const scale = pick([2, 0.5, 1.5, 3, 0.75, 1.25, 0.7], x.d);
    sp = m.sp.map((v) => Math.floor(v * scale));
    how = `scale=${scale}`;
  } else {
    sp = m.sp.map((v, i) => 1 + ((x.d + i * x.e) % Math.min(MAX_SIZE, 2 * v)));
    how = `size=${list(sp)}`;
  }
  if (sp.some((v) => v < 1)) return null;
  const args = [how, ...(mode !== "nearest" ? [`mode="${mode}"`] : []), ...(alignCorners ? ["align_corners=true"] : [])];
  return { text: `${pick(["resize", "upsample"], x.e)}(${args.join(", ")})`, state: map(m.c, sp) };
};

/** prelu with one slope, or one per entry of dim 1 as nn.PReLU(num_parameters) has (the channels of a map). */
const preluRule: Rule = (s, x, l) => {
  const dim1 = s.kind === "tokens" ? s.t : s.kind === "last" ? s.h : s.c;
  return same(s, `${l.next()}: prelu${x.a % 2 ? `(${dim1})` : ""}`);
};

const mapRules: Rule[] = [
  (s, x) => same(s, pick(ACTIVATIONS, x.a)),
  preluRule,
  (s, x, l) => {
    const m = s as MapState;
    const r = m.sp.length;
    const g = pick(divisors(m.c), x.a);
    const out = g * (1 + (x.b % Math.max(1, Math.floor(8 / g))));
    const k = perDim(r, x.c, x.e % 3 === 0, [1, 3, 2]);
    const st = pick([1, 2], x.d);
    const d = pick([1, 1, 2], x.e);
    const explicitPad = x.d % 3 === 2;
    const p = explicitPad ? pick([0, 1, 2], x.b) : null;
    const sp: number[] = [];
    for (let i = 0; i < r; i++) {
      const pad = p ?? Math.floor((k[i]! - 1) / 2) * d;
      const o = windowOut(m.sp[i]!, k[i]!, st, pad, d);
      if (o === null || o < 1) return null;
      sp.push(o);
    }
    const args = [`${out}`, list(k), ...(st !== 1 ? [`s=${st}`] : []), ...(p !== null ? [`p=${p}`] : []), ...(d !== 1 ? [`d=${d}`] : []), ...(g !== 1 ? [`g=${g}`] : []), ...(x.a % 2 ? ["bias=false"] : [])];
    return { text: `${l.next()}: conv(${args.join(", ")})`, state: map(out, sp) };
  },
  (s, x, l) => {
    const m = s as MapState;
    const mult = 1 + (x.a % 2);
    const k = pick([3, 1, 2], x.b);
    const st = pick([1, 2], x.c);
    const sp = m.sp.map((v) => windowOut(v, k, st, Math.floor((k - 1) / 2), 1));
    if (sp.some((v) => v === null || v < 1)) return null;
    return { text: `${l.next()}: dwconv(${k}${st !== 1 ? `, s=${st}` : ""}${mult !== 1 ? `, mult=${mult}` : ""})`, state: map(m.c * mult, sp as number[]) };
  },
  (s, x, l) => {
    const m = s as MapState;
    const g = pick(divisors(m.c), x.a);
    const out = g * (1 + (x.b % Math.max(1, Math.floor(8 / g))));
    const k = pick([2, 3, 1], x.c);
    const st = pick([2, 1, 3], x.d);
    const d = pick([1, 2], x.e);
    const p = pick([0, 1], x.a + x.e);
    const op = (x.b + x.c) % Math.max(st, d); // PyTorch allows output_padding below the stride or the dilation
    const sp = m.sp.map((v) => (v - 1) * st - 2 * p + d * (k - 1) + op + 1);
    if (sp.some((v) => v < 1)) return null;
    const args = [`${out}`, `${k}`, `${st}`, ...(p ? [`p=${p}`] : []), ...(op ? [`output_padding=${op}`] : []), ...(d !== 1 ? [`d=${d}`] : []), ...(g !== 1 ? [`g=${g}`] : [])];
    return { text: `${l.next()}: conv_transpose(${args.join(", ")})`, state: map(out, sp) };
  },
  (s, x, l) => same(s, `${l.next()}: ${pick(["bn", "bn(eps=1e-3)"], x.a)}`),
  (s, x, l) => {
    const groups = divisors(s.c).filter((g) => wellConditioned((s.c / g) * prod((s as MapState).sp)));
    return groups.length ? same(s, `${l.next()}: gn(${pick(groups, x.a)}, eps=${eps(x.b)})`) : null;
  },
  (s, x, l) => (wellConditioned(s.c) ? same(s, `${l.next()}: ln2d(eps=${eps(x.b)})`) : null),
  (s, x, l) => (wellConditioned(prod((s as MapState).sp)) ? same(s, `${l.next()}: instance_norm(eps=${eps(x.b)}${x.a % 2 ? ", affine=true" : ""})`) : null),
  (s, x) => {
    const rank = (s as MapState).sp.length + 2;
    return same(s, `softmax(${pick([1, -1, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)], x.a)})`);
  },
  (s, x) => {
    const m = s as MapState;
    const k = pick([2, 3, 1], x.a);
    const st = pick([null, 1, 2], x.b);
    const p = pick([0, 1], x.c) > Math.floor(k / 2) ? 0 : pick([0, 1], x.c);
    const d = pick([1, 1, 2], x.d);
    const ceil = x.e % 2 === 1;
    const sp = m.sp.map((v) => windowOut(v, k, st ?? k, p, d, ceil));
    if (sp.some((v) => v === null || v < 1)) return null;
    // A window of padding only is -inf in PyTorch and -FLT_MAX in onnxruntime: left out.
    const empty = (size: number, out: number) =>
      Array.from({ length: out }, (_, o) => Array.from({ length: k }, (_, j) => o * (st ?? k) - p + j * d).every((i) => i < 0 || i >= size)).some(Boolean);
    if (m.sp.some((v, i) => empty(v, sp[i]!))) return null;
    const args = [`${k}`, ...(st !== null ? [`s=${st}`] : []), ...(p ? [`p=${p}`] : []), ...(d !== 1 ? [`d=${d}`] : []), ...(ceil ? ["ceil=true"] : [])];
    return { text: `maxpool(${args.join(", ")})`, state: map(m.c, sp as number[]) };
  },
  (s, x) => {
    const m = s as MapState;
    const k = pick([2, 3, 1], x.a);
    const st = pick([null, 1, 2], x.b);
    const p = pick([0, 1], x.c) > Math.floor(k / 2) ? 0 : pick([0, 1], x.c);
    const ceil = x.e % 2 === 1;
    const include = x.d % 2 === 0;
    const sp = m.sp.map((v) => windowOut(v, k, st ?? k, p, 1, ceil));
    if (sp.some((v) => v === null || v < 1)) return null;
    const args = [`${k}`, ...(st !== null ? [`s=${st}`] : []), ...(p ? [`p=${p}`] : []), ...(ceil ? ["ceil=true"] : []), ...(include ? [] : ["count_include_pad=false"])];
    return { text: `avgpool(${args.join(", ")})`, state: map(m.c, sp as number[]) };
  },
  (s, x) => {
    // Windows that overlap are exported for averages in 1d and 2d only; otherwise sizes divide.
    const m = s as MapState;
    const max = x.a % 2 === 1;
    const free = !max && m.sp.length <= 2;
    const size = m.sp.map((v, i) => (free ? 1 + ((x.b + i * x.c) % v) : pick(divisors(v), x.b + i * x.c)));
    return { text: `${max ? "adaptive_maxpool" : "adaptive_avgpool"}(${list(size)})`, state: map(m.c, size) };
  },
  (s, x) => ({ text: pick(["gap", "gmp"], x.a), state: { kind: "vec", c: s.c } }),
  resizeRule,
  resizeRule,
  (s, x) => {
    const m = s as MapState;
    const mode = pick(["constant", "reflect", "replicate"], x.a);
    // constant may pad the channels too, and crop (negative)
    const dims = mode === "constant" ? 1 + (x.b % (m.sp.length + 1)) : 1 + (x.b % m.sp.length);
    const sizes = [...m.sp].reverse().concat([m.c]); // last dim first, as F.pad
    const pads: number[] = [];
    for (let j = 0; j < dims; j++) {
      const size = sizes[j]!;
      for (const side of [0, 1]) {
        let v = pick([1, 0, 2, -1], x.c + 3 * j + side * x.d);
        if (mode === "reflect") v = Math.min(Math.max(v, 0), size - 1);
        if (mode === "replicate") v = Math.max(v, 0);
        pads.push(v);
      }
      if (size + pads[2 * j]! + pads[2 * j + 1]! < 1) return null;
    }
    const grown = sizes.map((v, j) => (j < dims ? v + pads[2 * j]! + pads[2 * j + 1]! : v));
    const c = grown[m.sp.length]!;
    const sp = grown.slice(0, m.sp.length).reverse();
    const value = mode === "constant" && x.e % 2 ? ", value=0.5" : "";
    return { text: `pad([${pads.join(", ")}]${mode !== "constant" ? `, mode="${mode}"` : ""}${value})`, state: map(c, sp) };
  },
  (s, x) => (s.c === 1 && x.a % 2 ? { text: "gray_to_rgb", state: map(3, (s as MapState).sp) } : { text: `repeat_channels(${1 + (x.b % 3)})`, state: map(s.c * (1 + (x.b % 3)), (s as MapState).sp) }),
  (s, _x, l) => same(s, `${l.next()}: layer_scale`),
  (s) => {
    const m = s as MapState;
    if (m.sp.length === 1) return { text: "transpose(1, 2)", state: { kind: "tokens", t: m.sp[0]!, c: m.c } };
    if (m.sp.length === 2) return { text: "flatten(2) | transpose(1, 2)", state: { kind: "tokens", t: m.sp[0]! * m.sp[1]!, c: m.c } };
    return null;
  },
  (s) => {
    const m = s as MapState;
    return m.sp.length === 2 ? { text: "permute([0, 2, 3, 1])", state: { kind: "last", h: m.sp[0]!, w: m.sp[1]!, c: m.c } } : null;
  },
  (s) => ({ text: "flatten", state: { kind: "vec", c: numelOf(s) } }),
  (s) => {
    const m = s as MapState;
    if (m.sp.length === 1) return { text: `reshape([${m.c}, ${m.sp[0]}, 1])`, state: map(m.c, [m.sp[0]!, 1]) };
    if (m.sp.length === 2) return { text: "reshape([0, -1])", state: map(m.c, [m.sp[0]! * m.sp[1]!]) };
    return { text: "reshape([0, 0, -1])", state: map(m.c, [m.sp[0]!, m.sp[1]! * m.sp[2]!]) };
  },
  (s, x) => {
    // split into parts along one axis, joined again along another (or the same) axis
    const m = s as MapState;
    const dims = [m.c, ...m.sp];
    const axis = 1 + (x.a % dims.length);
    const parts = pick([2, 3], x.b);
    if (dims[axis - 1]! % parts !== 0) return null;
    const to = 1 + (x.c % dims.length);
    const after = [...dims];
    after[axis - 1] = dims[axis - 1]! / parts;
    after[to - 1] = after[to - 1]! * parts;
    const join = x.d % 3 === 0 ? { text: pick(["add", "mul"], x.e), shape: dims.map((v, i) => (i === axis - 1 ? v / parts : v)) } : { text: `concat(axis=${to})`, shape: after };
    const splitText = x.e % 2 ? `split(${parts}${axis !== 1 ? `, axis=${axis}` : ""})` : `split([${new Array(parts).fill(dims[axis - 1]! / parts).join(", ")}]${axis !== 1 ? `, axis=${axis}` : ""})`;
    return { text: `${splitText} | ${join.text}`, state: map(join.shape[0]!, join.shape.slice(1)) };
  },
  (s, x, l) => {
    // size-preserving branches joined on the channels
    const m = s as MapState;
    const a = 1 + (x.a % 4);
    const b = 1 + (x.b % 4);
    const first = x.c % 2 ? "identity" : `${l.next()}: conv(${a}, ${pick([3, 1], x.d)})`;
    const c1 = first === "identity" ? m.c : a;
    return { text: `concat(${first}, ${l.next()}: conv(${b}, ${pick([1, 3], x.e)}) | relu)`, state: map(c1 + b, m.sp) };
  },
  (s, x, l) => {
    const m = s as MapState;
    return pick(
      [
        () => same(m, `residual(${l.next()}: conv(${m.c}, 3) | ${l.next()}: bn | relu)`),
        () => same(m, `add(${l.next()}: conv(${m.c}, 3), ${l.next()}: conv(${m.c}, 1))`),
        () => same(m, `mul(adaptive_avgpool(1) | ${l.next()}: conv(${1 + (x.b % 4)}, 1) | relu | ${l.next()}: conv(${m.c}, 1) | sigmoid, identity)`),
        () => same(m, `mul(gap | ${l.next()}: linear(${m.c}) | sigmoid, identity)`),
        () => same(m, `add(identity, ${l.next()}: conv(1, 1))`),
      ],
      x.a,
    )();
  },
];

// ---- rules on tokens [N, T, C] ----

type TokenState = Extract<State, { kind: "tokens" }>;

const mhsaRule: Rule = (s, x, l) => {
  const heads = pick(divisors(s.c), x.a);
  const args = [`${heads}`, ...(x.b % 2 ? ['style="timm"'] : []), ...(x.c % 3 === 2 ? ["qkv_bias=false"] : [])];
  return same(s, `${l.next()}: mhsa(${args.join(", ")})`);
};

const tokenRules: Rule[] = [
  (s, x) => same(s, pick(ACTIVATIONS, x.a)),
  preluRule,
  (s, x, l) => ({ text: `${l.next()}: linear(${1 + (x.a % 8)}${x.b % 3 === 2 ? ", bias=false" : ""})`, state: { ...(s as TokenState), c: 1 + (x.a % 8) } }),
  (s, x, l) => (wellConditioned(s.c) ? same(s, `${l.next()}: ln(eps=${eps(x.b)}${x.a % 3 === 2 ? ", affine=false" : ""})`) : null),
  (s, _x, l) => ({ text: `${l.next()}: class_token`, state: { ...(s as TokenState), t: (s as TokenState).t + 1 } }),
  (s, _x, l) => same(s, `${l.next()}: pos_embedding`),
  mhsaRule,
  mhsaRule,
  (s, x, l) => (wellConditioned(s.c) ? same(s, `residual(${l.next()}: ln(eps=${eps(x.b)}) | ${l.next()}: mhsa(${pick(divisors(s.c), x.a)}))`) : null),
  (s, _x, l) => same(s, `${l.next()}: layer_scale(axis=-1)`),
  (s, _x, l) => same(s, `${l.next()}: bn`),
  (s) => same(s, "softmax(-1)"),
  (s, x) => {
    const t = (s as TokenState).t;
    return x.a % 2 ? { text: `token(${x.b % t})`, state: { kind: "vec", c: s.c } } : { text: `mean_tokens(${x.b % t})`, state: { kind: "vec", c: s.c } };
  },
  (s) => ({ text: "transpose(1, 2)", state: map(s.c, [(s as TokenState).t]) }),
];

// ---- rules on channels-last maps [N, H, W, C] ----

type LastState = Extract<State, { kind: "last" }>;

const lastRules: Rule[] = [
  (s, x) => same(s, pick(ACTIVATIONS, x.a)),
  preluRule,
  (s, x, l) => (wellConditioned(s.c) ? same(s, `${l.next()}: ln(eps=${eps(x.b)})`) : null),
  (s, x, l) => ({ text: `${l.next()}: linear(${1 + (x.a % 8)})`, state: { ...(s as LastState), c: 1 + (x.a % 8) } }),
  (s, _x, l) => same(s, `${l.next()}: layer_scale(axis=-1)`),
  (s, x, l) => {
    const heads = pick(divisors(s.c), x.a);
    const window = 1 + (x.b % 4);
    const shift = x.c % window;
    const args = [`${heads}`, `${window}`, ...(shift ? [`${shift}`] : []), ...(x.d % 3 === 2 ? ["qkv_bias=false"] : [])];
    return same(s, `${l.next()}: window_attention(${args.join(", ")})`);
  },
  (s, x, l) => {
    const m = s as LastState;
    return { text: `${l.next()}: patch_merging(eps=${eps(x.b)})`, state: { kind: "last", h: Math.ceil(m.h / 2), w: Math.ceil(m.w / 2), c: 2 * m.c } };
  },
  (s) => ({ text: "permute([0, 3, 1, 2])", state: map(s.c, [(s as LastState).h, (s as LastState).w]) }),
];

// ---- rules on vectors [N, C] ----

const vecRules: Rule[] = [
  (s, x) => same(s, pick(ACTIVATIONS, x.a)),
  preluRule,
  (s, x, l) => ({ text: `${l.next()}: linear(${1 + (x.a % 8)})`, state: { kind: "vec", c: 1 + (x.a % 8) } }),
  (s, x, l) => (wellConditioned(s.c) ? same(s, `${l.next()}: ln(eps=${eps(x.b)})`) : null),
  (s, _x, l) => same(s, `${l.next()}: bn`),
  (s) => same(s, "softmax"),
  (s, x) => {
    const a = pick(divisors(s.c), x.a);
    return x.b % 2 ? { text: `reshape([${s.c}, 1, 1])`, state: map(s.c, [1, 1]) } : { text: `reshape([${a}, -1])`, state: map(a, [s.c / a]) };
  },
];

const rulesFor: Record<State["kind"], Rule[]> = { map: mapRules, tokens: tokenRules, last: lastRules, vec: vecRules };

/** The .medg text of a model: the input, then each step that applies to the current shape. */
function buildModel(input: Input, steps: readonly Step[]): string {
  let state: State = input.volume ? map(input.c, [input.d, input.h, input.w]) : map(input.c, [input.h, input.w]);
  const labels = new Labels();
  const parts: string[] = [];
  // Tokens and channels-last maps are a fixed prefix away; starting there gives their ops more steps.
  if (!input.volume && input.start === 2 && input.h * input.w <= MAX_TOKENS) {
    parts.push("flatten(2) | transpose(1, 2)");
    state = { kind: "tokens", t: input.h * input.w, c: input.c };
  } else if (!input.volume && input.start === 3) {
    parts.push("permute([0, 2, 3, 1])");
    state = { kind: "last", h: input.h, w: input.w, c: input.c };
  }
  for (const step of steps) {
    const rules: Rule[] = rulesFor[state.kind];
    const built: Built | null = pick(rules, step.op)(state, step, labels);
    if (!built || !fits(built.state)) continue;
    parts.push(built.text);
    state = built.state;
  }
  if (parts.length === 0) parts.push("identity");
  const inputText = input.volume ? `volume(${input.c}, ${input.d}, ${input.h}, ${input.w})` : `image(${input.c}, ${input.h}, ${input.w})`;
  return `model m {\n  input ${inputText}\n  backbone ${parts.join("\n    | ")}\n}\n`;
}

// ---- values and running ----

/** Uniform in [-1, 1) from a linear congruential generator. */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/**
 * The init rules' values, then random values for what they leave constant or tiny (BN statistics
 * and affines, layer scales, embeddings, the std-0.02 attention weights), so no layer is an identity.
 */
function randomValues(graph: Graph, seed: number): Map<string, Float32Array> {
  const values = initialValues(graph, { seed });
  const rand = lcg(seed ^ 0x5bd1e995);
  for (const p of graph.params.values()) {
    const kind = p.init.kind;
    if (kind === "computed" || kind === "uniform_fan_in" || kind === "xavier_uniform" || kind.startsWith("kaiming")) continue;
    const v = values.get(p.name)!;
    const bound = p.name.endsWith(".weight") && p.shape.length >= 2 ? Math.sqrt(3 / fans(p.shape).fanIn) : 1;
    for (let i = 0; i < v.length; i++) v[i] = p.name.endsWith("running_var") ? 1 + rand() / 2 : rand() * bound;
  }
  return values;
}

const scratch = mkdtempSync(join(tmpdir(), "medg-property-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
let counter = 0;

async function check(text: string, seed: number): Promise<void> {
  const file = join(scratch, `p${counter++}.medg`);
  writeFileSync(file, text);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`does not compile: ${errors.map((d) => `${d.code} ${d.message} at ${d.span.file}:${d.span.start.line}:${d.span.start.col}`).join("; ")}`);
  const model = r.models[0]!;
  const graph = model.graph;
  const values = randomValues(graph, seed);
  const inShape = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? BATCH : (d as number)));
  const rand = lcg(seed);
  const x = Float32Array.from({ length: inShape.reduce((a, b) => a * b, 1) }, rand);
  const shapes = outputShapes(graph, BATCH);
  const expected = runReference(graph, values, x);

  prepareForInference(graph, values);
  const emitted = emitOnnx(model, values, { sourceText: text });
  const exportErrors = emitted.diagnostics.filter((d) => d.severity === "error");
  if (!emitted.model || exportErrors.length) throw new Error(`does not export: ${exportErrors.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  const session = await ort.InferenceSession.create(encodeModel(emitted.model));
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, inShape) });
    session.outputNames.forEach((name, i) => {
      const got = out[name]!;
      const want = expected[i]!;
      if (got.dims.join() !== shapes[i]!.join()) throw new Error(`output ${name}: onnxruntime gives [${got.dims.join(", ")}], the reference [${shapes[i]!.join(", ")}]`);
      const data = got.data as Float32Array;
      let [err, scale] = [0, 0];
      for (let k = 0; k < want.length; k++) {
        if (!Number.isFinite(want[k]!) || !Number.isFinite(data[k]!)) {
          if (!Object.is(want[k], data[k])) throw new Error(`output ${name}: element ${k} is ${data[k]} in onnxruntime, ${want[k]} in the reference`);
          continue;
        }
        err = Math.max(err, Math.abs(data[k]! - want[k]!));
        scale = Math.max(scale, Math.abs(want[k]!));
      }
      if (!(err <= TOLERANCE * Math.max(scale, 1)))
        throw new Error(`output ${name}: max abs error ${err.toExponential(3)} against max abs value ${scale.toExponential(3)} (relative ${(err / scale).toExponential(3)})`);
    });
  } finally {
    await session.release();
  }
}

// ---- arbitraries ----

const inputArb: fc.Arbitrary<Input> = fc.record({
  start: fc.nat({ max: 3 }),
  volume: fc.nat({ max: 4 }).map((v) => v === 4), // one case in five; shrinks towards images
  c: fc.integer({ min: 1, max: 8 }),
  d: fc.integer({ min: 1, max: 6 }),
  h: fc.integer({ min: 1, max: 12 }),
  w: fc.integer({ min: 1, max: 12 }),
}).map((i) => (i.volume ? { ...i, h: Math.min(i.h, 6), w: Math.min(i.w, 6) } : i));

const small = fc.nat({ max: 1000 });
const stepArb: fc.Arbitrary<Step> = fc.record({ op: small, a: small, b: small, c: small, d: small, e: small });

interface Case {
  text: string;
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc.tuple(inputArb, fc.array(stepArb, { minLength: 1, maxLength: 10 }), fc.nat()).map(([input, steps, seed]) => {
  const text = buildModel(input, steps);
  // fast-check prints a counterexample with this: the model text as written, and the seed.
  return { text, seed, [fc.toStringMethod]: () => `seed ${seed}\n${text}` };
});

describe("ONNX export of random models against the reference interpreter", () => {
  it(`${RUNS} random models agree within ${TOLERANCE} relative`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ text, seed }) => {
        try {
          await check(text, seed);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n(weights seed ${seed})\n${text}`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);
});
