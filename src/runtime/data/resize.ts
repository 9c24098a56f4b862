/**
 * Resizing and input preparation. Linear resizing follows PyTorch's `F.interpolate(mode="bilinear"
 * / "trilinear", align_corners=False, antialias=False)`: output pixel o samples the input at
 * (o + 0.5)·in/out − 0.5, clamped at 0 below and to the last pixel above, so models trained
 * here see the same pixels as models trained with torchvision transforms on tensors. It is
 * computed one axis at a time, which is exactly bilinear (trilinear) interpolation.
 */
import type { Image } from "../types.js";
import { derive, dims, type ImageResult, type RuntimeImage } from "./image.js";

export type Interpolation = "linear" | "nearest";

/** Resamples one axis of a row-major array of `shape`. */
function resizeAxis(data: Float32Array, shape: readonly number[], axis: number, outLen: number, mode: Interpolation): Float32Array {
  const inLen = shape[axis]!;
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  const out = new Float32Array(outer * outLen * inner);
  const scale = inLen / outLen;
  const i0 = new Int32Array(outLen);
  const i1 = new Int32Array(outLen);
  const w1 = new Float64Array(outLen);
  for (let o = 0; o < outLen; o++) {
    if (mode === "nearest") {
      // torch "nearest-exact": the input pixel whose cell holds the output pixel's centre.
      i0[o] = i1[o] = Math.min(Math.floor((o + 0.5) * scale), inLen - 1);
      continue;
    }
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(src), inLen - 1);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inLen - 1);
    w1[o] = src - lo;
  }
  for (let a = 0; a < outer; a++) {
    const inBase = a * inLen * inner;
    const outBase = a * outLen * inner;
    for (let o = 0; o < outLen; o++) {
      const r0 = inBase + i0[o]! * inner;
      const r1 = inBase + i1[o]! * inner;
      const t = w1[o]!;
      const dst = outBase + o * inner;
      if (t === 0) for (let k = 0; k < inner; k++) out[dst + k] = data[r0 + k]!;
      else for (let k = 0; k < inner; k++) out[dst + k] = data[r0 + k]! * (1 - t) + data[r1 + k]! * t;
    }
  }
  return out;
}

/**
 * Resizes the spatial axes: `size` is [h, w] (in-plane, also for volumes) or [d, h, w] for a
 * volume. "nearest" is for masks and label maps.
 */
export function resize<T extends Image>(image: T, size: readonly number[], mode: Interpolation = "linear"): T {
  const shape = [...image.shape];
  const spatial = shape.length - 1;
  if (size.length !== 2 && size.length !== spatial) throw new Error(`resize: size [${size.join(", ")}] does not fit an image of shape [${shape.join(", ")}]`);
  let data = image.data;
  for (let k = 0; k < size.length; k++) {
    const axis = shape.length - size.length + k;
    const len = size[k]!;
    if (!(Number.isInteger(len) && len >= 1)) throw new Error(`resize: size must be positive integers, got [${size.join(", ")}]`);
    if (shape[axis] === len) continue;
    data = resizeAxis(data, shape, axis, len, mode);
    shape[axis] = len;
  }
  return { ...image, data, shape };
}

/** ITU-R BT.601 luma weights, as PIL's convert("L") and torchvision's rgb_to_grayscale use. */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** Channel conversion: gray repeated to any count, RGB to gray by luminance, otherwise the same count. */
export function convertChannels(image: RuntimeImage, channels: number): ImageResult {
  const { c } = dims(image);
  if (c === channels) return { ok: true, image };
  const plane = image.data.length / c;
  const source = image.meta?.source ?? "image";
  if (c === 1) {
    const data = new Float32Array(plane * channels);
    for (let k = 0; k < channels; k++) data.set(image.data, k * plane);
    return { ok: true, image: derive(image, data, [channels, ...image.shape.slice(1)]) };
  }
  if (c === 3 && channels === 1) {
    const data = new Float32Array(plane);
    const d = image.data;
    for (let i = 0; i < plane; i++) data[i] = LUMA[0] * d[i]! + LUMA[1] * d[plane + i]! + LUMA[2] * d[2 * plane + i]!;
    return { ok: true, image: derive(image, data, [1, ...image.shape.slice(1)]) };
  }
  return {
    ok: false,
    error: `${source}: has ${c} channels but the model expects ${channels} (only gray → ${channels} by repetition${channels === 1 ? " and RGB → gray" : ""} are converted)`,
  };
}

export interface PrepareSpec {
  /** Channels the model's input has. */
  channels: number;
  /** The model's input size: [h, w] for images, [d, h, w] for volumes. */
  size: readonly number[];
}

/** Brings a decoded image to the model's input: channel conversion, then bilinear resizing. */
export function prepare(image: RuntimeImage, spec: PrepareSpec): ImageResult {
  const source = image.meta?.source ?? "image";
  const spatial = image.shape.length - 1;
  if (spatial !== spec.size.length) {
    const what = spatial === 3 ? `a volume of ${image.shape[1]} slices/frames` : `a 2-D image`;
    const want = spec.size.length === 3 ? "a volume" : "a 2-D image";
    return { ok: false, error: `${source}: is ${what} [${image.shape.join(", ")}] but the model expects ${want} of size [${spec.size.join(", ")}]` };
  }
  // Reduce channels before resizing and repeat them after, so the resize touches as few planes as possible.
  if (dims(image).c > spec.channels) {
    const converted = convertChannels(image, spec.channels);
    if (!converted.ok) return converted;
    return { ok: true, image: resize(converted.image, spec.size) };
  }
  return convertChannels(resize(image, spec.size), spec.channels);
}
