import { describe, expect, it } from "vitest";
import { policy } from "../../src/policy/registry.js";
import {
  augment,
  augmentDefaults,
  augmentPair,
  centerCrop,
  clahe,
  flip,
  gammaCorrect,
  gaussianBlur,
  rotate,
} from "../../src/runtime/augment.js";
import type { RuntimeImage } from "../../src/runtime/data/image.js";
import { createRng } from "../../src/runtime/rng.js";
import type { Entry } from "../../src/runtime/types.js";

const e = (name: string, args: Record<string, unknown> = {}): Entry => ({ name, args });

function image(shape: number[], f: (i: number) => number, range: [number, number] = [0, 255]): RuntimeImage {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => f(i)), shape, meta: { source: "t.png", format: "png", bitDepth: 8, range } };
}

const values = (img: RuntimeImage) => Array.from(img.data);

function std(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i]!;
  m /= xs.length;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return Math.sqrt(s / xs.length);
}

/** A smooth textured test image, so every transform visibly changes it. */
const textured = () => image([1, 24, 20], (i) => 100 + 80 * Math.sin(i * 0.37) * Math.cos((i % 20) * 0.21));

describe("arguments match the policy registry", () => {
  it("has every augment entry with the registry's argument names and defaults", () => {
    expect(Object.keys(augmentDefaults).sort()).toEqual([...policy.augment.keys()].sort());
    for (const [name, entry] of policy.augment) {
      const ours = augmentDefaults[name]!;
      expect(Object.keys(ours).sort(), name).toEqual(entry.args.map((a) => a.name).sort());
      for (const a of entry.args) if (a.default !== undefined) expect(ours[a.name], `${name}.${a.name}`).toEqual(a.default);
    }
  });

  it("rejects unknown entries and arguments by name", () => {
    const img = textured();
    expect(() => augment(img, [e("twirl")], createRng(1))).toThrow("augment: unknown augmentation 'twirl'");
    expect(() => augment(img, [e("rotate", { angle: 3 })], createRng(1))).toThrow("augment: rotate has no argument 'angle' (arguments: degrees, p)");
    expect(() => augment(img, [e("crop")], createRng(1))).toThrow("augment: crop needs argument 'size'");
  });
});

describe("geometric", () => {
  it("flip twice is the identity, for every axis", () => {
    const img = textured();
    for (const axes of [["h"], ["v"], ["h", "v"]] as ("h" | "v")[][]) {
      const once = flip(img, axes);
      expect(values(once)).not.toEqual(values(img));
      expect(values(flip(once, axes))).toEqual(values(img));
    }
    const twice = augment(img, [e("flip", { axis: "both", p: 1 }), e("flip", { axis: "both", p: 1 })], createRng(3));
    expect(values(twice)).toEqual(values(img));
  });

  it("flip h mirrors rows; flip d mirrors the slices of a volume", () => {
    const img = image([1, 1, 3], (i) => i);
    expect(values(augment(img, [e("flip", { axis: "h", p: 1 })], createRng(0)))).toEqual([2, 1, 0]);
    const vol = image([1, 2, 1, 2], (i) => i);
    expect(values(flip(vol, ["d"]))).toEqual([2, 3, 0, 1]);
  });

  it("rotate 90 turns a known image counter-clockwise (numpy.rot90) exactly", () => {
    // [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]] → numpy.rot90 →
    const img = image([1, 4, 4], (i) => i);
    expect(values(rotate(img, 90))).toEqual([3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13, 0, 4, 8, 12]);
    expect(values(rotate(rotate(img, 90), -90))).toEqual(values(img));
    expect(values(rotate(img, 180))).toEqual(values(img).reverse());
  });

  it("rotation fills the corners with the black level, or repeats the edge", () => {
    const img = image([1, 9, 9], () => 200);
    const r = rotate(img, 45);
    expect(r.data[0]).toBe(0);
    expect(r.data[4 * 9 + 4]).toBeCloseTo(200, 4);
    const ct = image([1, 9, 9], () => 40, [-1024, 3071]);
    expect(rotate(ct, 45).data[0]).toBe(-1024);
    expect(values(rotate(img, 45, "edge")).every((v) => Math.abs(v - 200) < 1e-3)).toBe(true);
  });

  it("elastic with alpha 0 is the identity", () => {
    const img = textured();
    const out = augment(img, [e("elastic", { alpha: 0, sigma: 4, p: 1 })], createRng(5));
    expect(values(out)).toEqual(values(img));
    const moved = augment(img, [e("elastic", { alpha: 30, sigma: 3, p: 1 })], createRng(5));
    expect(values(moved)).not.toEqual(values(img));
  });

  it("center_crop rounds like torchvision and pads with black when larger", () => {
    const row = image([1, 1, 7], (i) => i + 1);
    // torchvision: left = int(round((7 - 2) / 2)) = round(2.5) = 2 (halves to even).
    expect(values(centerCrop(row, 1, 2))).toEqual([3, 4]);
    expect(values(augment(row, [e("center_crop", { size: [1, 3] })], createRng(0)))).toEqual([3, 4, 5]);
    // Padding: (9 - 7) // 2 = 1 column of black on the left.
    expect(values(centerCrop(row, 1, 9))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0]);
  });

  it("crops always leave with their size", () => {
    const img = textured();
    for (const p of [0, 1]) {
      expect(augment(img, [e("crop", { size: [8, 6], p })], createRng(2)).shape).toEqual([1, 8, 6]);
      expect(augment(img, [e("random_resized_crop", { size: 16, p })], createRng(2)).shape).toEqual([1, 16, 16]);
    }
    // A random crop is a window of the image.
    const ramp = image([1, 10, 10], (i) => i);
    const c = augment(ramp, [e("crop", { size: 4 })], createRng(9));
    const top = Math.floor(c.data[0]! / 10);
    const left = c.data[0]! % 10;
    expect(values(c)).toEqual(Array.from({ length: 16 }, (_, k) => (top + Math.floor(k / 4)) * 10 + left + (k % 4)));
  });

  it("affine, scale and translate keep the size and move content", () => {
    const img = textured();
    for (const entry of [e("affine", { degrees: 20, translate: 0.1, scale: [0.8, 1.2], shear: 10, p: 1 }), e("scale", { p: 1 }), e("translate", { p: 1 })]) {
      const out = augment(img, [entry], createRng(4));
      expect(out.shape, entry.name).toEqual(img.shape);
      expect(values(out), entry.name).not.toEqual(values(img));
    }
  });
});

describe("intensity", () => {
  it("gamma maps known values on the per-image [0, 1] scale", () => {
    const img = image([1, 1, 4], (i) => [0, 64, 128, 256][i]!);
    expect(values(gammaCorrect(img, 2))).toEqual([0, 16, 64, 256]);
    const shifted = image([1, 1, 3], (i) => [100, 150, 200][i]!);
    expect(values(gammaCorrect(shifted, 0.5))[1]).toBeCloseTo(100 + 100 * Math.sqrt(0.5), 4);
    const g = augment(img, [e("gamma", { lo: 2, hi: 2, p: 1 })], createRng(0));
    expect(values(g)).toEqual([0, 16, 64, 256]);
  });

  it("brightness shifts every pixel by the same amount within ± amount · range", () => {
    const img = textured();
    const out = augment(img, [e("brightness", { amount: 0.2, p: 1 })], createRng(8));
    const delta = out.data[0]! - img.data[0]!;
    expect(Math.abs(delta)).toBeLessThanOrEqual(0.2 * 255 + 1e-3);
    expect(Math.abs(delta)).toBeGreaterThan(0);
    out.data.forEach((v, i) => expect(v - img.data[i]!).toBeCloseTo(delta, 3));
  });

  it("contrast keeps the mean and scales deviations", () => {
    const img = textured();
    const out = augment(img, [e("contrast", { amount: 0.5, p: 1 })], createRng(8));
    const mean = (xs: Float32Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(out.data)).toBeCloseTo(mean(img.data), 2);
    const ratio = std(out.data) / std(img.data);
    expect(ratio).toBeGreaterThanOrEqual(0.5 - 1e-6);
    expect(ratio).toBeLessThanOrEqual(1.5 + 1e-6);
  });

  it("blur keeps flat images and the total of an impulse, and smooths", () => {
    const flat = image([1, 8, 8], () => 7);
    gaussianBlur(flat, 1.5).data.forEach((v) => expect(v).toBeCloseTo(7, 5));
    const impulse = image([1, 21, 21], (i) => (i === 10 * 21 + 10 ? 1000 : 0));
    const b = gaussianBlur(impulse, 1.5);
    expect(b.data.reduce((a, v) => a + v, 0)).toBeCloseTo(1000, 2);
    expect(b.data[10 * 21 + 10]).toBeLessThan(100);
    expect(b.data[10 * 21 + 11]).toBeCloseTo(b.data[11 * 21 + 10]!, 4);
    const img = textured();
    expect(std(augment(img, [e("blur", { sigma: [2, 2], p: 1 })], createRng(0)).data)).toBeLessThan(std(img.data));
  });

  it("noise has the requested standard deviation as a fraction of the range", () => {
    const img = image([1, 100, 100], () => 100);
    const out = augment(img, [e("noise", { std: 0.05, p: 1 })], createRng(11));
    expect(std(out.data)).toBeGreaterThan(0.05 * 255 * 0.95);
    expect(std(out.data)).toBeLessThan(0.05 * 255 * 1.05);
  });

  it("CLAHE with one tile and no clipping is global histogram equalisation", () => {
    // Values 0..15, each once: the cumulative histogram at value v is (v + 1) / 16.
    const img = image([1, 4, 4], (i) => (i * 7) % 16);
    const out = clahe(img, 0, 1);
    out.data.forEach((v, i) => expect(v).toBeCloseTo((15 * (img.data[i]! + 1)) / 16, 4));
  });

  it("CLAHE stays in the input's range and spreads a narrow histogram", () => {
    const rng = createRng(21);
    // Mostly a dim, low-contrast ramp in [100, 120], with a few black and white pixels.
    const img = image([1, 64, 64], (i) => (i % 97 === 0 ? 0 : i % 89 === 0 ? 255 : 100 + 20 * ((i % 64) / 63) + rng.next()));
    const out = clahe(img, 2, 8);
    const [lo, hi] = [Math.min(...out.data), Math.max(...out.data)];
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(255);
    expect(std(out.data)).toBeGreaterThan(3 * std(img.data.filter((v) => v > 50 && v < 200)));
    // Clipping limits the stretch: a stronger clip limit spreads more.
    expect(std(clahe(img, 1, 8).data)).toBeLessThan(std(clahe(img, 40, 8).data));
  });

  it("cutout and erase blank rectangles to the black level", () => {
    const img = image([1, 20, 20], () => 50);
    const cut = augment(img, [e("cutout", { holes: 1, size: 0.25, p: 1 })], createRng(1));
    const zeros = cut.data.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(0);
    expect(zeros).toBeLessThanOrEqual(25);
    const er = augment(img, [e("erase", { scale: [0.1, 0.1], ratio: [1, 1], p: 1 })], createRng(1));
    expect(er.data.filter((v) => v === 0).length).toBe(36); // round(sqrt(400 · 0.1)) = 6 → 6 × 6
  });
});

describe("pipeline", () => {
  const pipeline = [
    e("rotate", { degrees: 15 }),
    e("flip", { axis: "both" }),
    e("affine", { degrees: 10, translate: 0.1, scale: [0.9, 1.1], shear: 5 }),
    e("gamma"),
    e("brightness"),
    e("contrast"),
    e("blur"),
    e("noise"),
    e("clahe"),
    e("elastic"),
    e("cutout"),
    e("erase"),
    e("random_resized_crop", { size: [16, 16] }),
  ];

  it("is deterministic from the seed and differs across seeds", () => {
    const img = textured();
    const a = augment(img, pipeline, createRng(42, 7));
    const b = augment(img, pipeline, createRng(42, 7));
    const c = augment(img, pipeline, createRng(43, 7));
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    expect(a.shape).toEqual([1, 16, 16]);
    expect(a.meta).toEqual(img.meta);
    expect(values(img)).toEqual(values(textured())); // the input is untouched
  });

  it("p = 0 leaves the image alone", () => {
    const img = textured();
    const off = pipeline.filter((x) => x.name !== "random_resized_crop").map((x) => e(x.name, { ...x.args, p: 0 }));
    expect(values(augment(img, off, createRng(1)))).toEqual(values(img));
  });

  it("moves a mask with the image and keeps it integral (nearest)", () => {
    const mask = image([1, 24, 20], (i) => (i % 20 > 6 && i % 20 < 14 ? (i > 200 ? 2 : 1) : 0));
    const img = { ...mask, data: mask.data.map((v) => v * 100) };
    const geometric = [e("rotate", { degrees: 30, p: 1 }), e("elastic", { p: 1 }), e("random_resized_crop", { size: [12, 10], p: 1 }), ...pipeline];
    for (let seed = 0; seed < 5; seed++) {
      const out = augmentPair(img, mask, geometric, createRng(seed));
      expect(out.mask.shape).toEqual([1, 16, 16]);
      expect(out.mask.data.every((v) => v === 0 || v === 1 || v === 2)).toBe(true);
    }
    // Integer shifts are exact: the image still equals 100 · mask after the same move.
    const shift = [e("affine", { translate: 0.25, p: 1 }), e("flip", { axis: "both", p: 1 })];
    const moved = augmentPair(img, mask, shift, createRng(3));
    expect(values(moved.mask)).not.toEqual(values(mask));
    expect(values(moved.image)).toEqual(values(moved.mask).map((v) => v * 100));
  });

  it("rejects a mask of another size", () => {
    expect(() => augmentPair(textured(), image([1, 4, 4], () => 0), [], createRng(0))).toThrow("augmentPair: mask [1, 4, 4] does not match image [1, 24, 20] (t.png)");
  });
});
