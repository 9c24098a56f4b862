/**
 * Initial values for a graph's parameters from their InitRules, following the reference
 * implementations' rules (PyTorch's nn.init, timm's trunc_normal_). The values have the same
 * distributions as PyTorch's, not the same numbers.
 *
 * Each parameter draws from its own generator seeded by (seed, parameter name), so a value
 * depends only on the seed and the name: adding, removing or reordering other layers leaves
 * it unchanged, and a backend may initialise any subset.
 */
import type { Graph, Param } from "../ir/graph.js";
import type { InitRule } from "../ir/init.js";
import { swinRelativePositionIndex } from "../ir/ops/transformer.js";

export interface InitOptions {
  /** An integer; the same seed gives the same values. Default 0. */
  seed?: number;
  /** Names to leave out, such as those already loaded from a weights file. */
  skip?: { has(name: string): boolean };
}

/** A value for every parameter and buffer of `graph` not in `skip`, keyed by parameter name. */
export function initialValues(graph: Graph, options: InitOptions = {}): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const p of graph.params.values()) if (!options.skip?.has(p.name)) out.set(p.name, initialValue(p, options.seed ?? 0));
  return out;
}

/** The initial value of one parameter, from its rule, its shape and (for biases) its node's weight. */
export function initialValue(param: Param, seed = 0): Float32Array {
  const fill = rules[param.init.kind] as (rule: InitRule, param: Param, rng: Rng) => Float32Array;
  return fill(param.init, param, new Rng(seed, param.name));
}

// ---- generator ----

/**
 * sfc32 (Chris Doty-Humphrey's small fast chaotic generator): 128 bits of state, passes
 * PractRand, and needs only 32-bit integer arithmetic.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  private spare: number | null = null;

  constructor(seed: number, name: string) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    // Two independent 32-bit hashes of the name, so distinct names practically never share a stream.
    let h1 = 0x811c9dc5 ^ lo;
    let h2 = 0x9e3779b9 ^ hi;
    for (let i = 0; i < name.length; i++) {
      const k = name.charCodeAt(i);
      h1 = Math.imul(h1 ^ k, 0x01000193);
      h2 = Math.imul(h2 ^ k, 0x5bd1e995) ^ (h2 >>> 15);
    }
    this.a = fmix32(h1);
    this.b = fmix32(h2 ^ Math.imul(lo, 0x85ebca6b));
    this.c = fmix32(hi ^ Math.imul(name.length, 0xc2b2ae35) ^ 0x27d4eb2f);
    // sfc32's authors discard the first outputs so nearby seeds decorrelate.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Standard normal by Box–Muller; the second value of each pair is kept for the next call. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    // (0, 1]: log never sees 0.
    const u1 = (this.nextUint32() + 1) / 2 ** 32;
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---- fans, as torch.nn.init._calculate_fan_in_and_fan_out ----

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * fan_in = shape[1] · prod(kernel), fan_out = shape[0] · prod(kernel). This also gives PyTorch's
 * values for conv_transpose weights [in, out / g, ...k] (fan_in = out / g · prod(k)), since
 * PyTorch reads the dims of the stored tensor too. PyTorch refuses tensors of rank < 2; here
 * they count their own size.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: numel(shape), fanOut: numel(shape) };
  const receptive = numel(shape.slice(2));
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/**
 * The fan_in that PyTorch's default rule uses: a bias takes its layer's weight's fan_in
 * (`bias` ↔ `weight`, `in_proj_bias` ↔ `in_proj_weight`); anything else its own.
 */
export function defaultFanIn(param: Param): number {
  if (param.shape.length < 2 && param.name.endsWith("bias")) {
    const weightName = `${param.name.slice(0, -"bias".length)}weight`;
    const weight = param.node.params.find((p) => p.name === weightName);
    if (weight && weight.shape.length >= 2) return fans(weight.shape).fanIn;
  }
  return fans(param.shape).fanIn;
}

// ---- rules ----

const RELU_GAIN = Math.SQRT2;

function filled(param: Param, draw: () => number): Float32Array {
  const out = new Float32Array(numel(param.shape));
  for (let i = 0; i < out.length; i++) out[i] = draw();
  return out;
}

function uniform(param: Param, rng: Rng, bound: number): Float32Array {
  return filled(param, () => (2 * rng.uniform() - 1) * bound);
}

/** 1 / sqrt(fan), or 0 for an empty fan as PyTorch does. */
const invSqrt = (fan: number) => (fan > 0 ? 1 / Math.sqrt(fan) : 0);

/**
 * N(0, std²) truncated to [a, b] = [-2, 2]: timm's and torch's trunc_normal_ take the cut-offs
 * as absolute values, not multiples of std, so with the usual std = 0.02 the cut never bites.
 * Rejection sampling: from the normal while the interval holds most of its mass, otherwise
 * from the uniform on [a, b] weighted by the normal density; both are exact.
 */
function truncNormal(rng: Rng, std: number, a = -2, b = 2): number {
  if (std <= 0) return 0;
  if (std <= 1) {
    for (;;) {
      const x = rng.normal() * std;
      if (x >= a && x <= b) return x;
    }
  }
  for (;;) {
    const x = a + (b - a) * rng.uniform();
    if (rng.uniform() < Math.exp((-x * x) / (2 * std * std))) return x;
  }
}

/** Buffers computed from their node's attributes, by rule name. */
const computed: Record<string, (param: Param) => number[]> = {
  swin_relative_position_index: (p) => swinRelativePositionIndex(p.node.attrs["window"] as [number, number]),
};

type Fill<K extends InitRule["kind"]> = (rule: Extract<InitRule, { kind: K }>, param: Param, rng: Rng) => Float32Array;

const rules: { [K in InitRule["kind"]]: Fill<K> } = {
  zeros: (_, p) => new Float32Array(numel(p.shape)),
  ones: (_, p) => new Float32Array(numel(p.shape)).fill(1),
  constant: (r, p) => new Float32Array(numel(p.shape)).fill(r.value),
  /** kaiming_uniform(a=√5) for weights and U(±1/√fan_in) for biases: both U(±1/√fan_in). */
  uniform_fan_in: (_, p, rng) => uniform(p, rng, invSqrt(defaultFanIn(p))),
  kaiming_normal: (r, p, rng) => {
    const std = (r.gain ?? RELU_GAIN) * invSqrt(r.mode === "fan_in" ? fans(p.shape).fanIn : fans(p.shape).fanOut);
    return filled(p, () => rng.normal() * std);
  },
  kaiming_uniform: (r, p, rng) =>
    uniform(p, rng, RELU_GAIN * Math.sqrt(3) * invSqrt(r.mode === "fan_in" ? fans(p.shape).fanIn : fans(p.shape).fanOut)),
  normal: (r, p, rng) => filled(p, () => rng.normal() * r.std),
  trunc_normal: (r, p, rng) => filled(p, () => truncNormal(rng, r.std)),
  xavier_uniform: (_, p, rng) => {
    const { fanIn, fanOut } = fans(p.shape);
    return uniform(p, rng, Math.sqrt(3) * Math.SQRT2 * invSqrt(fanIn + fanOut));
  },
  computed: (r, p) => {
    const compute = computed[r.rule];
    // A rule name comes from an op definition, never from user text: a miss is a compiler bug.
    if (!compute) throw new Error(`no computed init rule '${r.rule}' (parameter ${p.name})`);
    const values = compute(p);
    if (values.length !== numel(p.shape))
      throw new Error(`computed init rule '${r.rule}' gave ${values.length} values for ${p.name} of shape [${p.shape.join(", ")}]`);
    return Float32Array.from(values);
  },
};
