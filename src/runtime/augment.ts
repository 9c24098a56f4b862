/**
 * Data augmentation: every `augment` entry of the policy registry, on channels-first float
 * images in their own intensity units (before normalization). Geometric steps work in the image
 * plane; a volume [C, D, H, W] gets the same in-plane transform on every slice (flip `d` mirrors
 * the slices). `augmentPair` applies the geometric steps identically to a segmentation mask,
 * sampled with nearest neighbour so it keeps integral class indices.
 *
 * Conventions:
 * - Each entry is applied with probability `p` (one uniform draw, `draw < p`); its parameters are
 *   drawn only when it applies. Everything random comes from the `rng` passed in.
 * - Positive angles rotate counter-clockwise as displayed (as torchvision's `rotate`), about the
 *   image centre.
 * - Pixels that a transform brings in from outside the image take the image's black level
 *   (`meta.range[0]`: 0 for PNG and JPEG), masks take 0 (background). Elastic deformation
 *   repeats the edge instead, as its displacements are small.
 * - Intensity amounts (brightness, noise) are fractions of the intensity range (`meta.range`, or
 *   the image's min..max without metadata); gamma works on the image scaled to [0, 1] by its own
 *   min and max and is mapped back. Results are not clipped: the normalization step decides.
 * - crop and random_resized_crop always produce their size: when their `p` draw fails they take
 *   the central crop and the whole image resized, respectively.
 */
import { blackLevel, derive, dims, intensityRange, minMax, type RuntimeImage } from "./data/image.js";
import { resize } from "./data/resize.js";
import type { Entry, Rng } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Arguments: the registry's names and defaults (test/runtime/augment.test.ts checks they agree).

const REQUIRED = Symbol("required");

export const augmentDefaults: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  rotate: { degrees: 15, p: 0.5 },
  flip: { axis: "h", p: 0.5 },
  affine: { degrees: 0, translate: 0, scale: [1, 1], shear: 0, p: 0.5 },
  scale: { lo: 0.9, hi: 1.1, p: 0.5 },
  translate: { fraction: 0.1, p: 0.5 },
  crop: { size: REQUIRED, p: 1 },
  center_crop: { size: REQUIRED },
  random_resized_crop: { size: REQUIRED, scale: [0.08, 1], ratio: [3 / 4, 4 / 3], p: 1 },
  gamma: { lo: 0.7, hi: 1.5, p: 0.5 },
  brightness: { amount: 0.2, p: 0.5 },
  contrast: { amount: 0.2, p: 0.5 },
  blur: { sigma: [0.1, 2], p: 0.5 },
  noise: { std: 0.05, p: 0.5 },
  clahe: { clip: 2, tiles: 8, p: 0.5 },
  elastic: { alpha: 34, sigma: 4, p: 0.5 },
  cutout: { holes: 1, size: 0.2, p: 0.5 },
  erase: { scale: [0.02, 0.33], ratio: [0.3, 3.3], p: 0.5 },
};

/** The entry's arguments with defaults filled in; unknown names and arguments are errors. */
function argsOf(entry: Entry): Record<string, unknown> {
  const defaults = augmentDefaults[entry.name];
  if (!defaults) throw new Error(`augment: unknown augmentation '${entry.name}' (expected one of ${Object.keys(augmentDefaults).join(", ")})`);
  for (const k of Object.keys(entry.args))
    if (!(k in defaults)) throw new Error(`augment: ${entry.name} has no argument '${k}' (arguments: ${Object.keys(defaults).join(", ")})`);
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(defaults)) {
    const v = entry.args[k];
    out[k] = v === undefined || v === null ? d : v;
    if (out[k] === REQUIRED) throw new Error(`augment: ${entry.name} needs argument '${k}'`);
  }
  return out;
}

function num(args: Record<string, unknown>, name: string): number {
  const v = args[name];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`augment: argument '${name}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** A [lo, hi] pair; a single number means [x, x]. */
function pair(args: Record<string, unknown>, name: string): [number, number] {
  const v = args[name];
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) return [v[0] as number, v[1] as number];
  throw new Error(`augment: argument '${name}' must be a number or [lo, hi], got ${JSON.stringify(v)}`);
}

/** An in-plane [h, w] size: one number for square; of [d, h, w] the last two. */
function planeSize(args: Record<string, unknown>): [number, number] {
  const v = args.size;
  const list = typeof v === "number" ? [v, v] : Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : [];
  if (list.length === 1) list.push(list[0]!);
  if (list.length < 2 || !list.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`augment: size must be an int or a list of ints, got ${JSON.stringify(v)}`);
  return [list[list.length - 2]!, list[list.length - 1]!];
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();

/** Python's round(): halves to even, as torchvision's center_crop uses. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---------------------------------------------------------------------------------------------
// Resampling.

/** Source coordinates (pixel indices, x right, y down) for every output pixel of an outH × outW plane. */
export interface Grid {
  outH: number;
  outW: number;
  sx: Float64Array;
  sy: Float64Array;
}

export type Fill = number | "edge";

/**
 * Samples every plane of `image` at `grid`. Bilinear for images, nearest for masks. Coordinates
 * within 1e-6 of an integer are snapped, so quarter turns and integer shifts copy pixels exactly.
 */
export function warp(image: RuntimeImage, grid: Grid, mode: "bilinear" | "nearest", fill: Fill): RuntimeImage {
  const { c, d, h, w } = dims(image);
  const { outH, outW } = grid;
  const n = outH * outW;
  const planes = c * d;
  const idx = new Int32Array(4 * n); // -1: outside, take the fill value
  const fx = new Float64Array(n);
  const fy = new Float64Array(n);
  const edge = fill === "edge";
  for (let k = 0; k < n; k++) {
    let x = grid.sx[k]!;
    let y = grid.sy[k]!;
    const rx = Math.round(x);
    const ry = Math.round(y);
    if (Math.abs(x - rx) < 1e-6) x = rx;
    if (Math.abs(y - ry) < 1e-6) y = ry;
    if (edge) {
      x = Math.min(Math.max(x, 0), w - 1);
      y = Math.min(Math.max(y, 0), h - 1);
    }
    if (mode === "nearest") {
      const xi = Math.round(x);
      const yi = Math.round(y);
      idx[4 * k] = xi >= 0 && xi < w && yi >= 0 && yi < h ? yi * w + xi : -1;
      continue;
    }
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    fx[k] = x - x0;
    fy[k] = y - y0;
    const inX0 = x0 >= 0 && x0 < w;
    const inX1 = x0 + 1 >= 0 && x0 + 1 < w;
    const inY0 = y0 >= 0 && y0 < h;
    const inY1 = y0 + 1 >= 0 && y0 + 1 < h;
    // At the last row/column (edge mode) the missing neighbour has weight 0; point it at the pixel itself.
    const x1 = edge ? Math.min(x0 + 1, w - 1) : x0 + 1;
    const y1 = edge ? Math.min(y0 + 1, h - 1) : y0 + 1;
    idx[4 * k] = inX0 && inY0 ? y0 * w + x0 : -1;
    idx[4 * k + 1] = (edge || inX1) && inY0 ? y0 * w + x1 : -1;
    idx[4 * k + 2] = inX0 && (edge || inY1) ? y1 * w + x0 : -1;
    idx[4 * k + 3] = (edge || inX1) && (edge || inY1) ? y1 * w + x1 : -1;
  }
  const value = edge ? 0 : fill;
  const out = new Float32Array(planes * n);
  const src = image.data;
  for (let p = 0; p < planes; p++) {
    const ib = p * h * w;
    const ob = p * n;
    if (mode === "nearest") {
      for (let k = 0; k < n; k++) {
        const i = idx[4 * k]!;
        out[ob + k] = i >= 0 ? src[ib + i]! : value;
      }
      continue;
    }
    for (let k = 0; k < n; k++) {
      const i00 = idx[4 * k]!;
      const i01 = idx[4 * k + 1]!;
      const i10 = idx[4 * k + 2]!;
      const i11 = idx[4 * k + 3]!;
      const v00 = i00 >= 0 ? src[ib + i00]! : value;
      const v01 = i01 >= 0 ? src[ib + i01]! : value;
      const v10 = i10 >= 0 ? src[ib + i10]! : value;
      const v11 = i11 >= 0 ? src[ib + i11]! : value;
      const a = fx[k]!;
      const b = fy[k]!;
      out[ob + k] = a === 0 && b === 0 ? v00 : (1 - b) * ((1 - a) * v00 + a * v01) + b * ((1 - a) * v10 + a * v11);
    }
  }
  const shape = image.shape.length === 4 ? [c, d, outH, outW] : [c, outH, outW];
  return derive(image, out, shape);
}

/** A grid for a 2×3 affine map from output to source coordinates: src = M · [x, y, 1]. */
function affineGrid(outH: number, outW: number, m: readonly number[]): Grid {
  const n = outH * outW;
  const sx = new Float64Array(n);
  const sy = new Float64Array(n);
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++) {
      const k = y * outW + x;
      sx[k] = m[0]! * x + m[1]! * y + m[2]!;
      sy[k] = m[3]! * x + m[4]! * y + m[5]!;
    }
  return { outH, outW, sx, sy };
}

export interface AffineParams {
  /** Degrees, counter-clockwise as displayed. */
  angle: number;
  /** Shift in pixels (x right, y down). */
  translate: [number, number];
  /** Zoom factor (> 1 enlarges). */
  scale: number;
  /** Shear along x, degrees. */
  shear: number;
}

/**
 * The grid of an affine transform about the image centre: forward, a pixel moves to
 * centre + t + R·Sh·S·(p − centre); the grid holds the inverse map.
 */
export function affineTransformGrid(h: number, w: number, a: AffineParams): Grid {
  const th = (a.angle * Math.PI) / 180;
  const cos = Math.cos(th);
  const sin = Math.sin(th);
  const sh = Math.tan((a.shear * Math.PI) / 180);
  // Forward linear part: rotation [[cos, sin], [-sin, cos]] (counter-clockwise with y down) · shear [[1, sh], [0, 1]] · scale.
  const f00 = a.scale * cos;
  const f01 = a.scale * (cos * sh + sin);
  const f10 = a.scale * -sin;
  const f11 = a.scale * (-sin * sh + cos);
  const det = f00 * f11 - f01 * f10;
  const i00 = f11 / det;
  const i01 = -f01 / det;
  const i10 = -f10 / det;
  const i11 = f00 / det;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const ox = cx + a.translate[0];
  const oy = cy + a.translate[1];
  // src = c + F⁻¹ (p − c − t)
  return affineGrid(h, w, [i00, i01, cx - i00 * ox - i01 * oy, i10, i11, cy - i10 * ox - i11 * oy]);
}

/** A crop window (top, left may be negative or reach past the image: those pixels are filled). */
function cropGrid(top: number, left: number, outH: number, outW: number): Grid {
  return affineGrid(outH, outW, [1, 0, left, 0, 1, top]);
}

// ---------------------------------------------------------------------------------------------
// Geometric operations (exported for direct use; each takes the image and returns a new one).

export function rotate(image: RuntimeImage, degrees: number, fill: Fill = blackLevel(image)): RuntimeImage {
  const { h, w } = dims(image);
  return warp(image, affineTransformGrid(h, w, { angle: degrees, translate: [0, 0], scale: 1, shear: 0 }), "bilinear", fill);
}

export function affine(image: RuntimeImage, params: AffineParams, fill: Fill = blackLevel(image)): RuntimeImage {
  const { h, w } = dims(image);
  return warp(image, affineTransformGrid(h, w, params), "bilinear", fill);
}

/** Mirrors along the named axes: "h" left-right, "v" up-down, "d" the slices of a volume. */
export function flip<T extends RuntimeImage>(image: T, axes: readonly ("h" | "v" | "d")[]): T {
  const { c, d, h, w } = dims(image);
  const fh = axes.includes("h");
  const fv = axes.includes("v");
  const fd = axes.includes("d") && image.shape.length === 4;
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let ch = 0; ch < c; ch++)
    for (let z = 0; z < d; z++) {
      const ib = (ch * d + (fd ? d - 1 - z : z)) * h * w;
      const ob = (ch * d + z) * h * w;
      for (let y = 0; y < h; y++) {
        const ir = ib + (fv ? h - 1 - y : y) * w;
        const or = ob + y * w;
        if (fh) for (let x = 0; x < w; x++) out[or + x] = src[ir + w - 1 - x]!;
        else out.set(src.subarray(ir, ir + w), or);
      }
    }
  return { ...image, data: out };
}

/** A crop of outH × outW at (top, left); parts outside the image take `fill`. */
export function cropAt(image: RuntimeImage, top: number, left: number, outH: number, outW: number, fill: Fill = blackLevel(image)): RuntimeImage {
  return warp(image, cropGrid(top, left, outH, outW), "bilinear", fill);
}

/** The central crop's top-left corner, as torchvision's center_crop (padding when the crop is larger). */
export function centerOffset(inLen: number, outLen: number): number {
  return inLen >= outLen ? roundHalfEven((inLen - outLen) / 2) : -Math.floor((outLen - inLen) / 2);
}

export function centerCrop(image: RuntimeImage, outH: number, outW: number, fill: Fill = blackLevel(image)): RuntimeImage {
  const { h, w } = dims(image);
  return cropAt(image, centerOffset(h, outH), centerOffset(w, outW), outH, outW, fill);
}

// ---------------------------------------------------------------------------------------------
// Filters.

/** scipy.ndimage's default border ("reflect"): d c b a | a b c d | d c b a. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

/** A normalized Gaussian kernel of radius round(4σ), as scipy.ndimage.gaussian_filter truncates. */
function gaussianKernel(sigma: number): Float64Array {
  const r = Math.floor(4 * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + r] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** Separable Gaussian blur of one h × w plane stored at `offset` in `data`, in place. */
function blurPlane(data: Float32Array | Float64Array, offset: number, h: number, w: number, sigma: number): void {
  if (!(sigma > 0)) return;
  const k = gaussianKernel(sigma);
  const taps = k.length;
  const r = (taps - 1) >> 1;
  if (r === 0) return;
  // Each row (then column) is copied into a buffer padded by reflection, so the inner loop has no bounds logic.
  const line = new Float64Array(Math.max(w, h) + 2 * r);
  const tmp = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const base = offset + y * w;
    for (let i = 0; i < w + 2 * r; i++) line[i] = data[base + reflectIndex(i - r, w)]!;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < taps; j++) s += k[j]! * line[x + j]!;
      tmp[y * w + x] = s;
    }
  }
  for (let x = 0; x < w; x++) {
    for (let i = 0; i < h + 2 * r; i++) line[i] = tmp[reflectIndex(i - r, h) * w + x]!;
    for (let y = 0; y < h; y++) {
      let s = 0;
      for (let j = 0; j < taps; j++) s += k[j]! * line[y + j]!;
      data[offset + y * w + x] = s;
    }
  }
}

/** Gaussian blur of every plane (in-plane for volumes). */
export function gaussianBlur(image: RuntimeImage, sigma: number): RuntimeImage {
  const { c, d, h, w } = dims(image);
  const out = Float32Array.from(image.data);
  for (let p = 0; p < c * d; p++) blurPlane(out, p * h * w, h, w, sigma);
  return { ...image, data: out };
}

/** Elastic deformation (Simard et al.): uniform(−1, 1) displacement fields, Gaussian-smoothed with σ, times α pixels. */
export function elasticGrid(h: number, w: number, alpha: number, sigma: number, rng: Rng): Grid {
  const n = h * w;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let i = 0; i < n; i++) dx[i] = rng.next() * 2 - 1;
  for (let i = 0; i < n; i++) dy[i] = rng.next() * 2 - 1;
  blurPlane(dx, 0, h, w, sigma);
  blurPlane(dy, 0, h, w, sigma);
  const sx = new Float64Array(n);
  const sy = new Float64Array(n);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = y * w + x;
      sx[k] = x + alpha * dx[k]!;
      sy[k] = y + alpha * dy[k]!;
    }
  return { outH: h, outW: w, sx, sy };
}

// ---------------------------------------------------------------------------------------------
// Intensity operations.

function mapValues(image: RuntimeImage, f: (v: number) => number): RuntimeImage {
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]!);
  return { ...image, data: out };
}

/** x ↦ x^γ on the image scaled to [0, 1] by its own min and max, then scaled back. */
export function gammaCorrect(image: RuntimeImage, gamma: number): RuntimeImage {
  const [lo, hi] = minMax(image.data);
  if (!(hi > lo)) return image;
  const span = hi - lo;
  return mapValues(image, (v) => lo + span * Math.pow((v - lo) / span, gamma));
}

export function adjustContrast(image: RuntimeImage, factor: number): RuntimeImage {
  let mean = 0;
  for (const v of image.data) mean += v;
  mean /= image.data.length || 1;
  return mapValues(image, (v) => mean + factor * (v - mean));
}

/**
 * Contrast-limited adaptive histogram equalisation (Zuiderveld), as OpenCV computes it: the
 * image, quantized to 256 levels over its min..max, is cut into tiles × tiles regions; each
 * region's histogram is clipped at clip × (its mean bin count), the excess spread evenly over all
 * bins, and its cumulative histogram is the region's mapping. Each pixel blends the mappings of
 * the four nearest region centres bilinearly (the nearest ones only, at the borders). Output
 * spans the input's min..max. clip ≤ 0 disables clipping (plain adaptive equalisation).
 */
export function clahe(image: RuntimeImage, clip: number, tiles: number): RuntimeImage {
  const { c, d, h, w } = dims(image);
  const [lo, hi] = minMax(image.data);
  if (!(hi > lo)) return image;
  const bins = 256;
  const span = hi - lo;
  const ty = Math.max(1, Math.min(Math.floor(tiles), h));
  const tx = Math.max(1, Math.min(Math.floor(tiles), w));
  const tileH = h / ty;
  const tileW = w / tx;
  const rowStart = (t: number) => Math.floor(t * tileH);
  const colStart = (t: number) => Math.floor(t * tileW);
  const out = new Float32Array(image.data.length);
  const q = new Uint8Array(h * w);
  const luts = new Float64Array(ty * tx * bins);
  const hist = new Float64Array(bins);
  // Each pixel's two neighbouring tile columns (rows) and the weight of the second.
  const neighbours = (len: number, count: number, size: number) => {
    const a = new Int32Array(len);
    const b = new Int32Array(len);
    const wt = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const f = (i + 0.5) / size - 0.5;
      const t0 = Math.floor(f);
      wt[i] = f - t0;
      a[i] = Math.max(t0, 0);
      b[i] = Math.min(t0 + 1, count - 1);
    }
    return { a, b, wt };
  };
  const nx = neighbours(w, tx, tileW);
  const ny = neighbours(h, ty, tileH);
  for (let p = 0; p < c * d; p++) {
    const base = p * h * w;
    for (let i = 0; i < h * w; i++) q[i] = Math.min(bins - 1, Math.max(0, Math.round(((image.data[base + i]! - lo) / span) * (bins - 1))));
    for (let j = 0; j < ty; j++)
      for (let i = 0; i < tx; i++) {
        hist.fill(0);
        const y0 = rowStart(j);
        const y1 = rowStart(j + 1);
        const x0 = colStart(i);
        const x1 = colStart(i + 1);
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) hist[q[y * w + x]!]!++;
        const area = (y1 - y0) * (x1 - x0);
        if (clip > 0) {
          const limit = Math.max(1, Math.floor((clip * area) / bins));
          let excess = 0;
          for (let b = 0; b < bins; b++)
            if (hist[b]! > limit) {
              excess += hist[b]! - limit;
              hist[b] = limit;
            }
          const batch = Math.floor(excess / bins);
          let residual = excess - batch * bins;
          for (let b = 0; b < bins; b++) hist[b]! += batch;
          const step = Math.max(Math.floor(bins / Math.max(residual, 1)), 1);
          for (let b = 0; b < bins && residual > 0; b += step, residual--) hist[b]!++;
        }
        const lut = (j * tx + i) * bins;
        let cum = 0;
        for (let b = 0; b < bins; b++) {
          cum += hist[b]!;
          luts[lut + b] = Math.min(1, cum / area);
        }
      }
    for (let y = 0; y < h; y++) {
      const ra = ny.a[y]! * tx;
      const rb = ny.b[y]! * tx;
      const wy = ny.wt[y]!;
      for (let x = 0; x < w; x++) {
        const v = q[y * w + x]!;
        const ca = nx.a[x]!;
        const cb = nx.b[x]!;
        const wx = nx.wt[x]!;
        const top = (1 - wx) * luts[(ra + ca) * bins + v]! + wx * luts[(ra + cb) * bins + v]!;
        const bottom = (1 - wx) * luts[(rb + ca) * bins + v]! + wx * luts[(rb + cb) * bins + v]!;
        out[base + y * w + x] = lo + span * ((1 - wy) * top + wy * bottom);
      }
    }
  }
  return { ...image, data: out };
}

/** Sets an rh × rw rectangle at (top, left) of every plane to `value` (clipped to the image). */
export function fillRect(image: RuntimeImage, top: number, left: number, rh: number, rw: number, value: number): RuntimeImage {
  const { c, d, h, w } = dims(image);
  const out = Float32Array.from(image.data);
  const y0 = Math.max(0, top);
  const y1 = Math.min(h, top + rh);
  const x0 = Math.max(0, left);
  const x1 = Math.min(w, left + rw);
  for (let p = 0; p < c * d; p++) for (let y = y0; y < y1; y++) out.fill(value, p * h * w + y * w + x0, p * h * w + y * w + Math.max(x0, x1));
  return { ...image, data: out };
}

// ---------------------------------------------------------------------------------------------
// The pipeline.

interface State {
  image: RuntimeImage;
  mask?: RuntimeImage;
}

/** Applies a geometric resampling to the image (bilinear) and the mask (nearest, background fill). */
function geometric(s: State, grid: Grid, fill: "black" | "edge"): void {
  s.image = warp(s.image, grid, "bilinear", fill === "edge" ? "edge" : blackLevel(s.image));
  if (s.mask) s.mask = warp(s.mask, grid, "nearest", fill === "edge" ? "edge" : 0);
}

function resized(s: State, size: [number, number]): void {
  s.image = resize(s.image, size, "linear");
  if (s.mask) s.mask = resize(s.mask, size, "nearest");
}

/** torchvision RandomResizedCrop.get_params: (top, left, h, w). */
function resizedCropWindow(h: number, w: number, scale: [number, number], ratio: [number, number], rng: Rng): [number, number, number, number] {
  const area = h * w;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(rng, scale[0], scale[1]);
    const aspect = Math.exp(uniform(rng, logLo, logHi));
    const cw = Math.round(Math.sqrt(target * aspect));
    const ch = Math.round(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) return [rng.int(h - ch + 1), rng.int(w - cw + 1), ch, cw];
  }
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < ratio[0]) ch = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) cw = Math.round(h * ratio[1]);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

type Op = (s: State, a: Record<string, unknown>, rng: Rng) => void;

const ops: Record<string, Op> = {
  rotate(s, a, rng) {
    const deg = num(a, "degrees");
    const { h, w } = dims(s.image);
    geometric(s, affineTransformGrid(h, w, { angle: uniform(rng, -deg, deg), translate: [0, 0], scale: 1, shear: 0 }), "black");
  },
  flip(s, a, rng) {
    const axis = a.axis;
    const axes = axis === "both" ? ["h", "v"] : axis === "all" ? ["h", "v", "d"] : [axis];
    if (!axes.every((ax) => ax === "h" || ax === "v" || ax === "d")) throw new Error(`augment: flip axis must be h, v, d, both or all, got ${JSON.stringify(axis)}`);
    const p = num(a, "p");
    // Each axis is decided independently; depth only exists for volumes.
    const chosen = axes.filter((ax) => (ax !== "d" || s.image.shape.length === 4) && rng.next() < p) as ("h" | "v" | "d")[];
    if (chosen.length === 0) return;
    s.image = flip(s.image, chosen);
    if (s.mask) s.mask = flip(s.mask, chosen);
  },
  affine(s, a, rng) {
    const { h, w } = dims(s.image);
    const deg = num(a, "degrees");
    const t = num(a, "translate");
    const [slo, shi] = pair(a, "scale");
    const shear = num(a, "shear");
    const angle = uniform(rng, -deg, deg);
    const tx = Math.round(uniform(rng, -t * w, t * w));
    const ty = Math.round(uniform(rng, -t * h, t * h));
    const scale = uniform(rng, slo, shi);
    const sh = uniform(rng, -shear, shear);
    geometric(s, affineTransformGrid(h, w, { angle, translate: [tx, ty], scale, shear: sh }), "black");
  },
  scale(s, a, rng) {
    const { h, w } = dims(s.image);
    const z = uniform(rng, num(a, "lo"), num(a, "hi"));
    geometric(s, affineTransformGrid(h, w, { angle: 0, translate: [0, 0], scale: z, shear: 0 }), "black");
  },
  translate(s, a, rng) {
    const { h, w } = dims(s.image);
    const f = num(a, "fraction");
    const tx = uniform(rng, -f * w, f * w);
    const ty = uniform(rng, -f * h, f * h);
    geometric(s, affineTransformGrid(h, w, { angle: 0, translate: [tx, ty], scale: 1, shear: 0 }), "black");
  },
  crop(s, a, rng) {
    const [ch, cw] = planeSize(a);
    const { h, w } = dims(s.image);
    const top = h >= ch ? rng.int(h - ch + 1) : centerOffset(h, ch);
    const left = w >= cw ? rng.int(w - cw + 1) : centerOffset(w, cw);
    geometric(s, cropGrid(top, left, ch, cw), "black");
  },
  center_crop(s, a) {
    const [ch, cw] = planeSize(a);
    const { h, w } = dims(s.image);
    geometric(s, cropGrid(centerOffset(h, ch), centerOffset(w, cw), ch, cw), "black");
  },
  random_resized_crop(s, a, rng) {
    const size = planeSize(a);
    const { h, w } = dims(s.image);
    const [top, left, ch, cw] = resizedCropWindow(h, w, pair(a, "scale"), pair(a, "ratio"), rng);
    geometric(s, cropGrid(top, left, ch, cw), "black");
    resized(s, size);
  },
  gamma(s, a, rng) {
    s.image = gammaCorrect(s.image, uniform(rng, num(a, "lo"), num(a, "hi")));
  },
  brightness(s, a, rng) {
    const [lo, hi] = intensityRange(s.image);
    const delta = uniform(rng, -1, 1) * num(a, "amount") * (hi - lo);
    s.image = mapValues(s.image, (v) => v + delta);
  },
  contrast(s, a, rng) {
    const amount = num(a, "amount");
    s.image = adjustContrast(s.image, uniform(rng, 1 - amount, 1 + amount));
  },
  blur(s, a, rng) {
    const [lo, hi] = pair(a, "sigma");
    s.image = gaussianBlur(s.image, uniform(rng, lo, hi));
  },
  noise(s, a, rng) {
    const [lo, hi] = intensityRange(s.image);
    const std = num(a, "std") * (hi - lo);
    s.image = mapValues(s.image, (v) => v + std * rng.normal());
  },
  clahe(s, a) {
    s.image = clahe(s.image, num(a, "clip"), num(a, "tiles"));
  },
  elastic(s, a, rng) {
    const { h, w } = dims(s.image);
    geometric(s, elasticGrid(h, w, num(a, "alpha"), num(a, "sigma"), rng), "edge");
  },
  cutout(s, a, rng) {
    const { h, w } = dims(s.image);
    const size = num(a, "size");
    if (size <= 0) return;
    const rh = Math.max(1, Math.round(size * h));
    const rw = Math.max(1, Math.round(size * w));
    const holes = Math.max(1, Math.floor(num(a, "holes")));
    // Hole centres are uniform over the image; holes may reach past its edges (DeVries & Taylor).
    for (let k = 0; k < holes; k++) {
      const cy = rng.int(h);
      const cx = rng.int(w);
      s.image = fillRect(s.image, cy - (rh >> 1), cx - (rw >> 1), rh, rw, blackLevel(s.image));
    }
  },
  erase(s, a, rng) {
    const { h, w } = dims(s.image);
    const [slo, shi] = pair(a, "scale");
    const [rlo, rhi] = pair(a, "ratio");
    // torchvision RandomErasing.get_params: up to 10 tries for a rectangle that fits.
    for (let attempt = 0; attempt < 10; attempt++) {
      const area = h * w * uniform(rng, slo, shi);
      const aspect = Math.exp(uniform(rng, Math.log(rlo), Math.log(rhi)));
      const eh = Math.round(Math.sqrt(area * aspect));
      const ew = Math.round(Math.sqrt(area / aspect));
      if (!(eh < h && ew < w) || eh < 1 || ew < 1) continue;
      const top = rng.int(h - eh + 1);
      const left = rng.int(w - ew + 1);
      s.image = fillRect(s.image, top, left, eh, ew, blackLevel(s.image));
      return;
    }
  },
};

/** What a skipped crop still does, so every sample leaves with the crop's size. */
const whenSkipped: Record<string, (s: State, a: Record<string, unknown>) => void> = {
  crop(s, a) {
    const [ch, cw] = planeSize(a);
    const { h, w } = dims(s.image);
    geometric(s, cropGrid(centerOffset(h, ch), centerOffset(w, cw), ch, cw), "black");
  },
  random_resized_crop(s, a) {
    resized(s, planeSize(a));
  },
};

/** Geometric entries (applied to masks too); the others change intensities only. */
export const geometricAugmentations: ReadonlySet<string> = new Set([
  "rotate",
  "flip",
  "affine",
  "scale",
  "translate",
  "crop",
  "center_crop",
  "random_resized_crop",
  "elastic",
]);

function run(s: State, entries: readonly Entry[], rng: Rng): void {
  for (const entry of entries) {
    const a = argsOf(entry);
    const op = ops[entry.name]!;
    // flip decides per axis itself; center_crop always applies.
    if (entry.name !== "flip" && "p" in a && !(rng.next() < num(a, "p"))) {
      whenSkipped[entry.name]?.(s, a);
      continue;
    }
    op(s, a, rng);
  }
}

/** Applies the entries in order to a training image. The input is not modified. */
export function augment(image: RuntimeImage, entries: readonly Entry[], rng: Rng): RuntimeImage {
  const s: State = { image };
  run(s, entries, rng);
  return s.image;
}

/**
 * Applies the entries to an image and its segmentation mask: geometric steps move both the same
 * way (the mask by nearest neighbour, filling with background 0), intensity steps and erasing
 * touch the image only.
 */
export function augmentPair(image: RuntimeImage, mask: RuntimeImage, entries: readonly Entry[], rng: Rng): { image: RuntimeImage; mask: RuntimeImage } {
  const di = dims(image);
  const dm = dims(mask);
  if (di.h !== dm.h || di.w !== dm.w || di.d !== dm.d || image.shape.length !== mask.shape.length)
    throw new Error(
      `augmentPair: mask [${mask.shape.join(", ")}] does not match image [${image.shape.join(", ")}]${mask.meta ? ` (${mask.meta.source})` : ""}`,
    );
  const s: State = { image, mask };
  run(s, entries, rng);
  return { image: s.image, mask: s.mask! };
}
