import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { classCounts, openImageFolder } from "../../src/runtime/data/datasets.js";
import { decodeImage } from "../../src/runtime/data/decode.js";
import { writeDemoData } from "../../src/runtime/demo-data.js";

const root = mkdtempSync(join(tmpdir(), "medg-demo-"));

function decoded(path: string) {
  const r = decodeImage(path);
  if (!r.ok) throw new Error(r.error);
  return r.image;
}

/** Mean of the brightest 5% of pixels minus the median: large where a bright blob is. */
function blobScore(data: Float32Array): number {
  const sorted = Float32Array.from(data).sort();
  const top = sorted.subarray(Math.floor(sorted.length * 0.95));
  return top.reduce((a, b) => a + b, 0) / top.length - sorted[sorted.length >> 1]!;
}

describe("writeDemoData classify", () => {
  const dir = join(root, "cls");
  const summary = writeDemoData(dir, { task: "classify", size: 32, count: 40, seed: 7 });

  it("writes a class-balanced ImageFolder of 16-bit gray PNGs", () => {
    expect(summary.counts).toEqual({ train: { lesion: 16, normal: 16 }, val: { lesion: 4, normal: 4 } });
    const ds = openImageFolder(dir);
    expect(ds.ok).toBe(true);
    if (!ds.ok) return;
    expect(ds.dataset.classNames).toEqual(["lesion", "normal"]);
    expect(classCounts(ds.dataset, "train")).toEqual([16, 16]);
    expect(classCounts(ds.dataset, "val")).toEqual([4, 4]);
    const img = decoded(ds.dataset.samples[0]!.path);
    expect(img.shape).toEqual([1, 32, 32]);
    expect(img.meta).toMatchObject({ format: "png", bitDepth: 16 });
    expect(new Set(img.data).size).toBeGreaterThan(100);
  });

  it("is deterministic from the seed", () => {
    const again = join(root, "cls-again");
    const other = join(root, "cls-other");
    writeDemoData(again, { task: "classify", size: 32, count: 40, seed: 7 });
    writeDemoData(other, { task: "classify", size: 32, count: 40, seed: 8 });
    for (const f of summary.files) {
      const rel = relative(dir, f);
      expect(readFileSync(join(again, rel)).equals(readFileSync(f)), rel).toBe(true);
    }
    const first = relative(dir, summary.files[0]!);
    expect(readFileSync(join(other, first)).equals(readFileSync(summary.files[0]!))).toBe(false);
  });

  it("has a learnable signal: lesion images hold a bright blob", () => {
    const scores = (cls: string) => summary.files.filter((f) => f.includes(`/${cls}/`)).map((f) => blobScore(decoded(f).data));
    const lesion = scores("lesion");
    const normal = scores("normal");
    const threshold = Math.max(...normal);
    // A simple threshold on the blob score separates most images.
    expect(lesion.filter((s) => s > threshold).length).toBeGreaterThanOrEqual(lesion.length * 0.8);
  });
});

describe("writeDemoData segment", () => {
  it("writes images and integral masks with elliptical lesions", () => {
    const dir = join(root, "seg");
    const summary = writeDemoData(dir, { task: "segment", size: 32, count: 6, seed: 1 });
    expect(summary.files.length).toBe(12);
    let lesionPixels = 0;
    for (let i = 0; i < 6; i++) {
      const name = `case_${String(i).padStart(4, "0")}.png`;
      const img = decoded(join(dir, "images", name));
      const mask = decoded(join(dir, "masks", name));
      expect(img.shape).toEqual([1, 32, 32]);
      expect(img.meta?.bitDepth).toBe(16);
      expect(mask.shape).toEqual([1, 32, 32]);
      expect(mask.data.every((v) => v === 0 || v === 1)).toBe(true);
      // Lesion pixels are brighter than background on average.
      const inside = img.data.filter((_, k) => mask.data[k] === 1);
      const outside = img.data.filter((_, k) => mask.data[k] === 0);
      lesionPixels += inside.length;
      if (inside.length > 0) expect(inside.reduce((a, b) => a + b, 0) / inside.length).toBeGreaterThan(outside.reduce((a, b) => a + b, 0) / outside.length);
    }
    expect(lesionPixels).toBeGreaterThan(0);
  });
});
