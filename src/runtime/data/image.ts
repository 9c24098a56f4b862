import type { Image } from "../types.js";

/**
 * What a decoder knows about an image beyond its pixels. It travels with the image through
 * `prepare` and `augment`, so intensity steps and normalizations can tell 8-bit from 16-bit
 * sources and use a DICOM file's own window.
 */
export interface ImageMeta {
  /** The file the pixels came from (messages name it). */
  source: string;
  format: "png" | "jpeg" | "dicom" | "array";
  /** Bits per sample of the stored pixels (8, 16; DICOM: BitsStored). */
  bitDepth: number;
  /**
   * The nominal intensity range [black, white] in the image's own units: [0, 255] for 8-bit
   * files, [0, 65535] for 16-bit PNG, a DICOM file's window (center ± width/2) when it has one,
   * otherwise the DICOM image's own min and max. `imagenet` maps it to [0, 1]; geometric steps
   * fill with its black level.
   */
  range: [number, number];
  /** DICOM Window Center / Width (first value when several), in rescaled units (HU for CT). */
  window?: { center: number; width: number };
  /** DICOM photometric interpretation as stored (MONOCHROME1 images are inverted on decoding). */
  photometric?: string;
  /** DICOM Rescale Slope / Intercept as applied. */
  rescale?: { slope: number; intercept: number };
  /** The file had an alpha channel, which was dropped. */
  droppedAlpha?: boolean;
}

/** An image with its metadata (optional, so plain `Image`s are accepted everywhere). */
export interface RuntimeImage extends Image {
  meta?: ImageMeta;
}

export type ImageResult = { ok: true; image: RuntimeImage } | { ok: false; error: string };

/** Channels, in-plane height and width, and depth (1 for 2-D images) of a [C, H, W] or [C, D, H, W] image. */
export interface Dims {
  c: number;
  d: number;
  h: number;
  w: number;
}

export function dims(image: Image): Dims {
  const s = image.shape;
  if (s.length === 3) return { c: s[0]!, d: 1, h: s[1]!, w: s[2]! };
  if (s.length === 4) return { c: s[0]!, d: s[1]!, h: s[2]!, w: s[3]! };
  throw new Error(`expected an image of shape [C, H, W] or [C, D, H, W], got [${s.join(", ")}]`);
}

/** The shape of an image with a new in-plane size (depth kept for volumes). */
export function withPlaneSize(image: Image, c: number, h: number, w: number): number[] {
  return image.shape.length === 4 ? [c, image.shape[1]!, h, w] : [c, h, w];
}

/** A new image over `data` with `shape`, keeping the metadata of `like`. */
export function derive(like: RuntimeImage, data: Float32Array, shape: number[]): RuntimeImage {
  return like.meta ? { data, shape, meta: like.meta } : { data, shape };
}

export function minMax(data: ArrayLike<number>, start = 0, end = data.length): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = start; i < end; i++) {
    const v = data[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** The image's nominal black and white levels: its metadata's range, else its own min and max. */
export function intensityRange(image: RuntimeImage): [number, number] {
  return image.meta ? image.meta.range : minMax(image.data);
}

/** The black level: what geometric transforms and erasing fill with. */
export function blackLevel(image: RuntimeImage): number {
  return image.meta ? image.meta.range[0] : 0;
}
