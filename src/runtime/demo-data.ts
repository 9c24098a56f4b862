/**
 * Synthetic demo datasets, so a model file can be trained end to end without downloading data.
 *
 * classify: ImageFolder layout `DIR/train/{lesion,normal}/*.png` and `DIR/val/…`. Every image is a
 * noisy, textured 16-bit grayscale background (random level, low-frequency shading, smooth
 * texture, pixel noise); "lesion" images add one bright blob of random position, size,
 * elongation and orientation whose edge falls off like a Gaussian. The blob changes the mean
 * intensity far less than the background level varies, so a model must find the blob itself.
 *
 * segment: `DIR/images/case_NNNN.png` (16-bit) and `DIR/masks/case_NNNN.png` (8-bit, the class
 * index per pixel: 0 background, 1 lesion) with zero to three elliptical lesions per image.
 *
 * Each image draws from its own random stream of the seed, so the same seed gives the same files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePng } from "./data/encode.js";
import { createRng } from "./rng.js";
import type { Rng } from "./types.js";

export interface DemoOptions {
  task: "classify" | "segment";
  /** Side of the square images in pixels (default 64). */
  size?: number;
  /** Number of images in all (default 200); classify splits them evenly between the two classes. */
  count?: number;
  seed?: number;
  /** Fraction of each class written to val/ (classify; default 0.2). */
  valFraction?: number;
}

export interface DemoSummary {
  dir: string;
  task: "classify" | "segment";
  classNames: string[];
  /** Images written per split and class (classify), or per split "images" (segment). */
  counts: Record<string, Record<string, number>>;
  files: string[];
}

interface Lesion {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  theta: number;
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();

/** A box blur applied three times (close to a Gaussian), for the background texture. */
function smooth(field: Float64Array, size: number, radius: number): void {
  const tmp = new Float64Array(field.length);
  for (let pass = 0; pass < 3; pass++) {
    for (const horizontal of [true, false]) {
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          let s = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = horizontal ? Math.min(size - 1, Math.max(0, x + k)) : x;
            const yy = horizontal ? y : Math.min(size - 1, Math.max(0, y + k));
            s += field[yy * size + xx]!;
          }
          tmp[y * size + x] = s / (2 * radius + 1);
        }
      field.set(tmp);
    }
  }
}

/** Background intensities in roughly [0.15, 0.55]. */
function background(size: number, rng: Rng): Float64Array {
  const img = new Float64Array(size * size);
  const level = uniform(rng, 0.25, 0.4);
  // Low-frequency shading: a few random plane waves.
  const waves = Array.from({ length: 3 }, () => ({
    fx: uniform(rng, 0.3, 2) / size,
    fy: uniform(rng, 0.3, 2) / size,
    phase: uniform(rng, 0, 2 * Math.PI),
    amp: uniform(rng, 0.01, 0.04),
  }));
  const texture = new Float64Array(size * size);
  for (let i = 0; i < texture.length; i++) texture[i] = rng.normal();
  smooth(texture, size, Math.max(1, Math.round(size / 32)));
  let tStd = 0;
  for (const v of texture) tStd += v * v;
  tStd = Math.sqrt(tStd / texture.length) || 1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let v = level;
      for (const w of waves) v += w.amp * Math.sin(2 * Math.PI * (w.fx * x + w.fy * y) + w.phase);
      v += (0.03 * texture[y * size + x]!) / tStd;
      v += 0.015 * rng.normal();
      img[y * size + x] = v;
    }
  return img;
}

function randomLesion(size: number, rng: Rng, margin: number): Lesion {
  const r = uniform(rng, 0.06, 0.15) * size;
  const elongation = uniform(rng, 0.5, 1);
  return {
    cx: uniform(rng, margin, 1 - margin) * size,
    cy: uniform(rng, margin, 1 - margin) * size,
    rx: r,
    ry: r * elongation,
    theta: uniform(rng, 0, Math.PI),
  };
}

/** The normalized elliptical radius of pixel (x, y): ≤ 1 inside the lesion. */
function radius(l: Lesion, x: number, y: number): number {
  const dx = x - l.cx;
  const dy = y - l.cy;
  const c = Math.cos(l.theta);
  const s = Math.sin(l.theta);
  const u = (c * dx + s * dy) / l.rx;
  const v = (-s * dx + c * dy) / l.ry;
  return Math.sqrt(u * u + v * v);
}

/** Adds a blob of height `amp`: flat inside the ellipse, a Gaussian fall-off outside. */
function addBlob(img: Float64Array, size: number, l: Lesion, amp: number, edge: number): void {
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const r = radius(l, x, y);
      const t = r <= 1 ? 1 : Math.exp(-((r - 1) ** 2) / (2 * edge * edge));
      img[y * size + x]! += amp * t;
    }
}

function to16bit(img: Float64Array, size: number): { data: Float32Array; shape: number[] } {
  const data = new Float32Array(img.length);
  for (let i = 0; i < img.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, img[i]!)) * 65535);
  return { data, shape: [1, size, size] };
}

const pad = (i: number) => String(i).padStart(4, "0");

/** Writes a synthetic dataset under `dir` and says what it wrote. */
export function writeDemoData(dir: string, opts: DemoOptions): DemoSummary {
  const size = opts.size ?? 64;
  const count = opts.count ?? 200;
  const seed = opts.seed ?? 0;
  if (!(Number.isInteger(size) && size >= 8)) throw new Error(`writeDemoData: size must be an integer ≥ 8, got ${size}`);
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`writeDemoData: count must be a positive integer, got ${count}`);
  const files: string[] = [];
  const write = (path: string, bytes: Buffer) => {
    writeFileSync(path, bytes);
    files.push(path);
  };

  if (opts.task === "segment") {
    mkdirSync(join(dir, "images"), { recursive: true });
    mkdirSync(join(dir, "masks"), { recursive: true });
    for (let i = 0; i < count; i++) {
      const rng = createRng(seed, `demo:segment:${i}`);
      const img = background(size, rng);
      const mask = new Float32Array(size * size);
      const lesions = rng.int(4);
      for (let k = 0; k < lesions; k++) {
        const l = randomLesion(size, rng, 0.15);
        addBlob(img, size, l, uniform(rng, 0.2, 0.35), 0.08);
        for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (radius(l, x, y) <= 1) mask[y * size + x] = 1;
      }
      const name = `case_${pad(i)}.png`;
      write(join(dir, "images", name), encodePng(to16bit(img, size), 16));
      write(join(dir, "masks", name), encodePng({ data: mask, shape: [1, size, size] }, 8));
    }
    return { dir, task: "segment", classNames: ["background", "lesion"], counts: { all: { images: count } }, files };
  }

  const classNames = ["lesion", "normal"];
  const valFraction = opts.valFraction ?? 0.2;
  const perClass = Math.max(1, Math.floor(count / 2));
  const nVal = Math.min(perClass - 1, Math.round(perClass * valFraction));
  const counts: Record<string, Record<string, number>> = { train: {}, val: {} };
  for (const split of ["train", "val"]) for (const c of classNames) mkdirSync(join(dir, split, c), { recursive: true });
  for (const [ci, cls] of classNames.entries()) {
    counts.train![cls] = perClass - nVal;
    counts.val![cls] = nVal;
    for (let k = 0; k < perClass; k++) {
      const rng = createRng(seed, `demo:classify:${cls}:${k}`);
      const img = background(size, rng);
      if (ci === 0) addBlob(img, size, randomLesion(size, rng, 0.2), uniform(rng, 0.15, 0.3), uniform(rng, 0.1, 0.3));
      const split = k < nVal ? "val" : "train";
      write(join(dir, split, cls, `${cls}_${pad(k)}.png`), encodePng(to16bit(img, size), 16));
    }
  }
  return { dir, task: "classify", classNames, counts, files };
}
