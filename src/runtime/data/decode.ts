/**
 * Image decoding: PNG (1–16 bit; gray, gray+alpha, RGB, RGBA, palette), baseline and progressive
 * JPEG, and uncompressed DICOM. Every decoder turns problems into an error value naming the file,
 * so one bad image in a dataset gives one clear message instead of an exception from inside a
 * third-party decoder.
 *
 * Output is channels-first float32 in the file's own units: 8-bit samples as 0..255, 16-bit PNG
 * as 0..65535, DICOM as rescaled values (Hounsfield units for CT). Alpha channels are dropped
 * (a model sees gray or RGB), and recorded in `meta.droppedAlpha`.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { extname } from "node:path";
import type * as DicomParser from "dicom-parser";
import * as jpeg from "jpeg-js";
import { PNG } from "pngjs";
import type { ImageMeta, ImageResult, RuntimeImage } from "./image.js";
import { minMax } from "./image.js";

// dicom-parser ships a UMD bundle whose named exports Node's ESM loader cannot see.
const dicomParser = createRequire(import.meta.url)("dicom-parser") as typeof DicomParser;

export type ImageFormat = "png" | "jpeg" | "dicom";

const fail = (error: string): ImageResult => ({ ok: false, error });

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === "string" ? e : String(e);
  return text.replace(/^dicomParser\.\w+: /, "");
}

/** Reads and decodes an image file. The format comes from the file's first bytes, then its extension. */
export function decodeImage(path: string): ImageResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return fail(`${path}: file not found`);
    if (code === "EISDIR") return fail(`${path}: is a directory, not an image`);
    return fail(`${path}: cannot read the file (${errorText(e)})`);
  }
  return decodeImageBytes(bytes, path);
}

/** Decodes an image held in memory; `source` names it in messages and metadata. */
export function decodeImageBytes(bytes: Uint8Array, source: string): ImageResult {
  const format = sniffFormat(bytes, source);
  if (typeof format !== "string") return fail(`${source}: ${format.error}`);
  switch (format) {
    case "png":
      return decodePng(bytes, source);
    case "jpeg":
      return decodeJpeg(bytes, source);
    case "dicom":
      return decodeDicom(bytes, source);
  }
}

/** The format from the magic bytes (a DICOM file may lack its preamble: then the extension decides). */
export function sniffFormat(bytes: Uint8Array, source: string): ImageFormat | { error: string } {
  const b = (i: number) => bytes[i] ?? -1;
  if (bytes.length === 0) return { error: "empty file" };
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return "png";
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return "jpeg";
  if (b(128) === 0x44 && b(129) === 0x49 && b(130) === 0x43 && b(131) === 0x4d) return "dicom";
  const ext = extname(source).toLowerCase();
  if (ext === ".dcm" || ext === ".dicom" || ext === ".ima") return "dicom";
  const other =
    (b(0) === 0x49 && b(1) === 0x49 && b(2) === 0x2a) || (b(0) === 0x4d && b(1) === 0x4d && b(3) === 0x2a)
      ? "TIFF"
      : b(0) === 0x42 && b(1) === 0x4d
        ? "BMP"
        : b(0) === 0x47 && b(1) === 0x49 && b(2) === 0x46
          ? "GIF"
          : ext === ".nii" || source.toLowerCase().endsWith(".nii.gz")
            ? "NIfTI"
            : undefined;
  return { error: `${other ? `${other} images are` : "unrecognised image format:"} not supported (expected PNG, JPEG or DICOM)` };
}

/** Channels-first float copy of interleaved pixels: `stride` samples a pixel, the first `channels` kept. */
function planar(
  width: number,
  height: number,
  channels: number,
  stride: number,
  src: ArrayLike<number>,
  scale = 1,
): Float32Array {
  const n = width * height;
  const out = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    const base = c * n;
    for (let i = 0; i < n; i++) out[base + i] = src[i * stride + c]! * scale;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// PNG

export function decodePng(bytes: Uint8Array, source: string): ImageResult {
  let png: { width: number; height: number; depth: number; colorType: number; data: ArrayLike<number> };
  try {
    // skipRescale keeps 16-bit samples as 0..65535 instead of rounding them to 8 bits.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true }) as unknown as typeof png;
  } catch (e) {
    return fail(`${source}: not a readable PNG (${errorText(e)})`);
  }
  const { width, height, depth, colorType } = png;
  // colorType bits: 1 palette, 2 color, 4 alpha. pngjs hands back RGBA for every type.
  const palette = colorType === 3;
  const color = palette || (colorType & 2) !== 0;
  const alpha = (colorType & 4) !== 0;
  const channels = color ? 3 : 1;
  // Sub-byte gray is scaled to 0..255 as the PNG specification prescribes; palettes are 8-bit.
  const bitDepth = palette || depth < 8 ? 8 : depth;
  const scale = !palette && depth < 8 ? 255 / (2 ** depth - 1) : 1;
  const data = planar(width, height, channels, 4, png.data, scale);
  const meta: ImageMeta = { source, format: "png", bitDepth, range: [0, 2 ** bitDepth - 1] };
  if (alpha) meta.droppedAlpha = true;
  return { ok: true, image: { data, shape: [channels, height, width], meta } };
}

// ---------------------------------------------------------------------------------------------
// JPEG

/** Number of colour components in the first start-of-frame segment, or undefined. */
function jpegComponents(bytes: Uint8Array): number | undefined {
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 9];
    if (marker === 0xda) return undefined;
    i += 2 + len;
  }
  return undefined;
}

export function decodeJpeg(bytes: Uint8Array, source: string): ImageResult {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (e) {
    return fail(`${source}: not a readable JPEG (${errorText(e)})`);
  }
  const { width, height } = decoded;
  if (!(width > 0 && height > 0) || decoded.data.length < width * height * 3) return fail(`${source}: not a readable JPEG (no image data)`);
  const channels = jpegComponents(bytes) === 1 ? 1 : 3;
  const data = planar(width, height, channels, 3, decoded.data);
  return { ok: true, image: { data, shape: [channels, height, width], meta: { source, format: "jpeg", bitDepth: 8, range: [0, 255] } } };
}

// ---------------------------------------------------------------------------------------------
// DICOM

const uncompressedSyntaxes: Record<string, string> = {
  "1.2.840.10008.1.2": "implicit VR little endian",
  "1.2.840.10008.1.2.1": "explicit VR little endian",
  "1.2.840.10008.1.2.2": "explicit VR big endian",
};

const compressedSyntaxNames: Record<string, string> = {
  "1.2.840.10008.1.2.1.99": "deflated explicit VR little endian",
  "1.2.840.10008.1.2.4.50": "JPEG baseline",
  "1.2.840.10008.1.2.4.51": "JPEG extended",
  "1.2.840.10008.1.2.4.57": "JPEG lossless",
  "1.2.840.10008.1.2.4.70": "JPEG lossless SV1",
  "1.2.840.10008.1.2.4.80": "JPEG-LS lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
  "1.2.840.10008.1.2.4.91": "JPEG 2000",
  "1.2.840.10008.1.2.5": "RLE lossless",
  "1.2.840.10008.1.2.4.201": "HTJ2K lossless",
  "1.2.840.10008.1.2.4.203": "HTJ2K",
};

export function decodeDicom(bytes: Uint8Array, source: string): ImageResult {
  let ds: DicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (e) {
    const first = errorText(e);
    // A bare data set without the 128-byte preamble and file meta: implicit VR little endian by default.
    if (!/DICM prefix not found/i.test(first)) return fail(`${source}: not a readable DICOM file (${first})`);
    try {
      ds = dicomParser.parseDicom(bytes, { TransferSyntaxUID: "1.2.840.10008.1.2" });
    } catch {
      return fail(`${source}: not a readable DICOM file (${first})`);
    }
  }
  const syntax = (ds.string("x00020010") ?? "1.2.840.10008.1.2").replace(/\0/g, "").trim();
  if (!(syntax in uncompressedSyntaxes)) {
    const name = compressedSyntaxNames[syntax];
    return fail(
      `${source}: DICOM transfer syntax ${syntax}${name ? ` (${name})` : ""} is compressed and not supported; ` +
        "convert the file to uncompressed little endian first (for example `gdcmconv --raw` or `dcmdjpeg`)",
    );
  }
  const littleEndian = syntax !== "1.2.840.10008.1.2.2";

  const rows = ds.uint16("x00280010");
  const cols = ds.uint16("x00280011");
  const pixel = ds.elements.x7fe00010;
  if (!pixel) return fail(`${source}: DICOM file has no pixel data (7FE0,0010)`);
  if (pixel.encapsulatedPixelData) return fail(`${source}: DICOM pixel data is encapsulated (compressed), which is not supported`);
  if (!rows || !cols) return fail(`${source}: DICOM file lacks Rows/Columns (0028,0010/0011)`);
  const allocated = ds.uint16("x00280100") ?? 16;
  const stored = ds.uint16("x00280101") ?? allocated;
  const signed = (ds.uint16("x00280103") ?? 0) === 1;
  const spp = ds.uint16("x00280002") ?? 1;
  const frames = Math.max(1, ds.intString("x00280008") ?? 1);
  const photometric = (ds.string("x00280004") ?? (spp === 3 ? "RGB" : "MONOCHROME2")).trim().toUpperCase();
  const planarConfig = ds.uint16("x00280006") ?? 0;

  if (allocated !== 8 && allocated !== 16 && allocated !== 32) return fail(`${source}: DICOM BitsAllocated ${allocated} is not supported (8, 16 or 32)`);
  if (stored < 1 || stored > allocated) return fail(`${source}: DICOM BitsStored ${stored} does not fit BitsAllocated ${allocated}`);
  if (spp === 1) {
    if (photometric !== "MONOCHROME1" && photometric !== "MONOCHROME2")
      return fail(`${source}: DICOM photometric interpretation ${photometric} with one sample per pixel is not supported (MONOCHROME1/2)`);
  } else if (spp === 3) {
    if (photometric !== "RGB") return fail(`${source}: DICOM photometric interpretation ${photometric} is not supported for colour (RGB only)`);
  } else return fail(`${source}: DICOM SamplesPerPixel ${spp} is not supported (1 or 3)`);

  const bytesPer = allocated / 8;
  const n = rows * cols;
  const count = n * spp * frames;
  if (pixel.length < count * bytesPer)
    return fail(`${source}: DICOM pixel data is truncated (${pixel.length} bytes for ${frames} frame(s) of ${rows}×${cols}×${spp} at ${allocated} bits, need ${count * bytesPer})`);

  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + pixel.dataOffset, count * bytesPer);
  const raw = new Float64Array(count);
  const mask = stored >= 32 ? 0xffffffff : 2 ** stored - 1;
  const signBit = 2 ** (stored - 1);
  for (let i = 0; i < count; i++) {
    let v = allocated === 8 ? view.getUint8(i) : allocated === 16 ? view.getUint16(i * 2, littleEndian) : view.getUint32(i * 4, littleEndian);
    // Keep only the stored bits (high bits may hold overlays), then sign-extend from BitsStored.
    v = stored >= 32 ? v : v % (mask + 1);
    if (signed && v >= signBit) v -= 2 * signBit;
    raw[i] = v;
  }

  const slope = ds.floatString("x00281053") ?? 1;
  const intercept = ds.floatString("x00281052") ?? 0;
  const center = ds.floatString("x00281050", 0);
  const width = ds.floatString("x00281051", 0);
  // MONOCHROME1 shows low values as white: mirror the stored range so that bright is high, as in
  // MONOCHROME2. Applied before the rescale, it maps a rescaled value r to slope·S + 2·intercept − r.
  const invert = photometric === "MONOCHROME1";
  const storedSum = signed ? -1 : mask; // min + max of the stored range
  const data = new Float32Array(count);
  // Output is [C, frames, H, W]; the file holds frames of pixels (interleaved or planar samples).
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < spp; c++) {
      const outBase = (c * frames + f) * n;
      for (let i = 0; i < n; i++) {
        const src = f * n * spp + (spp === 1 ? i : planarConfig === 1 ? c * n + i : i * spp + c);
        const v = invert ? storedSum - raw[src]! : raw[src]!;
        data[outBase + i] = v * slope + intercept;
      }
    }
  }

  const meta: ImageMeta = { source, format: "dicom", bitDepth: stored, range: minMax(data), photometric, rescale: { slope, intercept } };
  if (center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) && width > 0) {
    const c = invert ? slope * storedSum + 2 * intercept - center : center;
    meta.window = { center: c, width };
    meta.range = [c - width / 2, c + width / 2];
  }
  if (meta.range[0] === meta.range[1]) meta.range = [meta.range[0], meta.range[0] + 1];
  const shape = frames > 1 ? [spp, frames, rows, cols] : [spp, rows, cols];
  const image: RuntimeImage = { data, shape, meta };
  return { ok: true, image };
}
