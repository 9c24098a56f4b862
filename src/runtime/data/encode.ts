import { PNG } from "pngjs";
import type { Image } from "../types.js";
import { dims } from "./image.js";

/**
 * Encodes a gray (1 channel) or RGB (3 channels) [C, H, W] image as an 8- or 16-bit PNG.
 * Values are rounded and clamped to the bit depth's range.
 */
export function encodePng(image: Image, bitDepth: 8 | 16 = 8): Buffer {
  const { c, d, h, w } = dims(image);
  if (d !== 1 || image.shape.length !== 3) throw new Error(`encodePng: expected a 2-D image, got shape [${image.shape.join(", ")}]`);
  if (c !== 1 && c !== 3) throw new Error(`encodePng: expected 1 or 3 channels, got ${c}`);
  const max = bitDepth === 16 ? 65535 : 255;
  const n = h * w;
  const samples = bitDepth === 16 ? new Uint16Array(n * c) : new Uint8Array(n * c);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const v = Math.round(image.data[ch * n + i]!);
      samples[i * c + ch] = v < 0 ? 0 : v > max ? max : v;
    }
  const colorType = c === 1 ? 0 : 2;
  // pngjs reads 16-bit input as native-endian words from the start of the buffer.
  const data = Buffer.from(samples.buffer, 0, samples.byteLength);
  return PNG.sync.write({ width: w, height: h, data } as unknown as PNG, { colorType, inputColorType: colorType, bitDepth, inputHasAlpha: false });
}
