import { describe, expect, it } from "vitest";
import { createRng, shuffleInPlace } from "../../src/runtime/rng.js";

const draw = (n: number, f: () => number) => Array.from({ length: n }, f);

describe("createRng", () => {
  it("is deterministic for a seed and stream", () => {
    const a = createRng(42, 7);
    const b = createRng(42, 7);
    expect(draw(20, () => a.next())).toEqual(draw(20, () => b.next()));
    const c = createRng(42, "augment/img_001.png");
    const d = createRng(42, "augment/img_001.png");
    expect(draw(10, () => c.normal())).toEqual(draw(10, () => d.normal()));
  });
  it("seeds and streams give different sequences", () => {
    const first = (seed: number, stream?: number | string) => createRng(seed, stream).next();
    const values = [first(1), first(2), first(1, 0), first(1, 1), first(1, "0"), first(2 ** 32 + 1), first(-1), first(0.5), first(1, "a"), first(1, "b")];
    expect(new Set(values).size).toBe(values.length);
  });
  it("next() is uniform on [0, 1)", () => {
    const r = createRng(123);
    const xs = draw(100_000, () => r.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeCloseTo(0.5, 2);
    // ten equal bins, chi-square with 9 degrees of freedom: 27.9 is its 0.999 quantile
    const bins = new Array(10).fill(0);
    for (const x of xs) bins[Math.floor(x * 10)]++;
    const chi2 = bins.reduce((s, o) => s + (o - 10_000) ** 2 / 10_000, 0);
    expect(chi2).toBeLessThan(27.9);
  });
  it("normal() has mean 0 and variance 1", () => {
    const r = createRng(9, "noise");
    const xs = draw(100_000, () => r.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    expect(xs.every(Number.isFinite)).toBe(true);
    const within1 = xs.filter((x) => Math.abs(x) < 1).length / xs.length;
    expect(within1).toBeCloseTo(0.6827, 2);
  });
  it("int(n) covers 0..n-1 evenly", () => {
    const r = createRng(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => r.int(0)).toThrow(RangeError);
  });
  it("streams of one seed are uncorrelated", () => {
    const a = createRng(1, 0);
    const b = createRng(1, 1);
    const xs = draw(20_000, () => a.next() - 0.5);
    const ys = draw(20_000, () => b.next() - 0.5);
    const cov = xs.reduce((s, x, i) => s + x * (ys[i] as number), 0) / xs.length;
    expect(Math.abs(cov / (1 / 12))).toBeLessThan(0.03);
  });
  it("rejects non-finite seeds", () => {
    expect(() => createRng(Number.NaN)).toThrow(RangeError);
  });
});

describe("shuffleInPlace", () => {
  it("permutes deterministically", () => {
    const a = shuffleInPlace([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], createRng(3, "shuffle"));
    const b = shuffleInPlace([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], createRng(3, "shuffle"));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
