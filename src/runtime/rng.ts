/**
 * Seeded random numbers for the training runtime. Every consumer (shuffling, each sample's
 * augmentation, dropout seeds) asks for its own stream, so results do not depend on the order in
 * which streams are drawn from, and a run is reproducible from `seed` alone.
 *
 * Generator: sfc32 (Small Fast Counting, from PractRand), whose 128-bit state is filled by
 * splitmix32 from the seed and the stream. Uniforms carry 53 random bits; normals come from the
 * Box–Muller transform, whose second value is kept for the next call.
 */
import type { Rng } from "./types.js";

/** A stream identifier: a number (sample index, epoch) or a name ("shuffle", a file path). */
export type StreamId = number | string;

/** splitmix32 output function: a bijective 32-bit mix with good avalanche. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** Splits any finite number into 32-bit words so seeds above 2^32, negatives and fractions stay distinct. */
function numberWords(v: number): number[] {
  if (!Number.isFinite(v)) throw new RangeError(`rng seed must be a finite number, got ${v}`);
  if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
    const neg = v < 0 ? 1 : 0;
    const a = Math.abs(v);
    return [a >>> 0, Math.floor(a / 4294967296) >>> 0, neg];
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return [view.getUint32(0), view.getUint32(4), 2];
}

function streamWords(s: StreamId): number[] {
  if (typeof s === "number") return numberWords(s);
  // Strings: UTF-16 code units, tagged so that "1" and 1 differ.
  const words = [3, s.length];
  for (let i = 0; i < s.length; i++) words.push(s.charCodeAt(i));
  return words;
}

/** Folds words into one 32-bit hash (each step mixes, so order matters). */
function fold(h: number, words: readonly number[]): number {
  for (const w of words) h = mix32((h ^ w) >>> 0);
  return h;
}

class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  constructor(key: number, key2: number) {
    this.a = mix32(key);
    this.b = mix32(key2 ^ 0x85ebca6b);
    this.c = mix32((key ^ key2 ^ 0xc2b2ae35) >>> 0);
    this.d = 1; // the counter: guarantees a period of at least 2^32
    // The first outputs of sfc32 are correlated with the seed; discard them as the author advises.
    for (let i = 0; i < 12; i++) this.u32();
  }

  private u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal N(0, 1). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u1 = 1 - this.next(); // (0, 1]: log stays finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isFinite(n)) throw new RangeError(`rng.int expects n >= 1, got ${n}`);
    return Math.floor(this.next() * Math.floor(n));
  }
}

/**
 * A generator for `seed` and an optional stream. Different streams of one seed, and different
 * seeds, give independent-looking sequences; the same (seed, stream) always gives the same one.
 */
export function createRng(seed: number, stream?: StreamId): Rng {
  const seedWords = numberWords(seed);
  const sw = stream === undefined ? [0x6a09e667] : streamWords(stream);
  const k1 = fold(fold(0x243f6a88, seedWords), sw);
  const k2 = fold(fold(0xb7e15162, sw), seedWords);
  return new Sfc32(k1, k2);
}

/** Fisher–Yates shuffle in place, drawing from `rng`. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
