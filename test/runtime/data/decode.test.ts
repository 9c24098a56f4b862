import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeImage, decodeImageBytes } from "../../../src/runtime/data/decode.js";
import { encodePng } from "../../../src/runtime/data/encode.js";
import type { RuntimeImage } from "../../../src/runtime/data/image.js";

const fixtures = join(import.meta.dirname, "../../fixtures/images");
const tmp = mkdtempSync(join(tmpdir(), "medg-decode-"));

function load(name: string): RuntimeImage {
  const r = decodeImage(join(fixtures, name));
  if (!r.ok) throw new Error(r.error);
  return r.image;
}

const values = (img: RuntimeImage) => Array.from(img.data);

describe("PNG", () => {
  it("keeps 16-bit gray values exactly", () => {
    const img = load("gray16.png");
    expect(img.shape).toEqual([1, 2, 3]);
    expect(values(img)).toEqual([0, 1, 255, 256, 65534, 65535]);
    expect(img.meta).toMatchObject({ format: "png", bitDepth: 16, range: [0, 65535] });
  });

  it("reads 8-bit gray", () => {
    const img = load("gray8.png");
    expect(img.shape).toEqual([1, 2, 2]);
    expect(values(img)).toEqual([0, 17, 128, 255]);
    expect(img.meta?.range).toEqual([0, 255]);
  });

  it("drops alpha from gray+alpha, 8- and 16-bit", () => {
    const a16 = load("gray_alpha16.png");
    expect(a16.shape).toEqual([1, 1, 2]);
    expect(values(a16)).toEqual([1000, 40000]);
    expect(a16.meta?.droppedAlpha).toBe(true);
    const a8 = load("gray_alpha8.png");
    expect(values(a8)).toEqual([10, 200]);
  });

  it("reads RGB and RGBA channels-first", () => {
    const rgb = load("rgb8.png");
    expect(rgb.shape).toEqual([3, 1, 2]);
    expect(values(rgb)).toEqual([255, 1, 0, 2, 0, 3]);
    const rgb16 = load("rgb16.png");
    expect(rgb16.shape).toEqual([3, 2, 1]);
    expect(values(rgb16)).toEqual([65535, 0, 256, 30000, 1, 65534]);
    const rgba = load("rgba8.png");
    expect(rgba.shape).toEqual([3, 1, 2]);
    expect(values(rgba)).toEqual([9, 250, 8, 251, 7, 252]);
    expect(rgba.meta?.droppedAlpha).toBe(true);
  });

  it("scales sub-byte gray to 0..255 and expands palettes", () => {
    expect(values(load("gray2.png"))).toEqual([0, 85, 170, 255]);
    const pal = load("palette.png");
    expect(pal.shape).toEqual([3, 1, 2]);
    expect(values(pal)).toEqual([200, 10, 100, 20, 0, 30]);
  });

  it("round-trips 16-bit gray through the encoder", () => {
    const data = new Float32Array([0, 1, 2, 4095, 65535, 32768]);
    const r = decodeImageBytes(encodePng({ data, shape: [1, 2, 3] }, 16), "mem.png");
    expect(r.ok && values(r.image)).toEqual(Array.from(data));
  });
});

describe("JPEG", () => {
  it("reads gray JPEG as one channel", () => {
    const img = load("gray.jpg");
    expect(img.shape).toEqual([1, 16, 16]);
    expect(img.meta).toMatchObject({ format: "jpeg", bitDepth: 8, range: [0, 255] });
    expect(Math.abs(img.data[3 * 16 + 2]! - 40)).toBeLessThanOrEqual(2);
    expect(Math.abs(img.data[3 * 16 + 12]! - 200)).toBeLessThanOrEqual(2);
  });

  it("reads colour JPEG as three channels", () => {
    const img = load("rgb.jpg");
    expect(img.shape).toEqual([3, 8, 16]);
    const at = (c: number, y: number, x: number) => img.data[c * 128 + y * 16 + x]!;
    const near = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(3);
    near(at(0, 4, 2), 200);
    near(at(1, 4, 2), 30);
    near(at(2, 4, 2), 60);
    near(at(0, 4, 13), 20);
    near(at(1, 4, 13), 180);
    near(at(2, 4, 13), 90);
  });
});

describe("DICOM", () => {
  it("applies rescale intercept to signed 16-bit and reads the first window", () => {
    const img = load("ct_signed16.dcm");
    expect(img.shape).toEqual([1, 2, 3]);
    expect(values(img)).toEqual([-3024, -1024, 0, 40, 1024, 31743]);
    expect(img.meta).toMatchObject({
      format: "dicom",
      bitDepth: 16,
      photometric: "MONOCHROME2",
      window: { center: 40, width: 400 },
      range: [-160, 240],
      rescale: { slope: 1, intercept: -1024 },
    });
  });

  it("inverts MONOCHROME1 and moves its window with it", () => {
    const img = load("mono1_u8.dcm");
    expect(values(img)).toEqual([520, 518, 12, 10]);
    expect(img.meta?.photometric).toBe("MONOCHROME1");
    expect(img.meta?.window).toEqual({ center: 430, width: 50 });
  });

  it("masks and sign-extends 12 stored bits (implicit VR)", () => {
    const img = load("u12_implicit.dcm");
    expect(values(img)).toEqual([2047, -2048, -1, 1]);
    expect(img.meta?.bitDepth).toBe(12);
    expect(img.meta?.window).toBeUndefined();
    expect(img.meta?.range).toEqual([-2048, 2047]);
  });

  it("reads multi-frame files as [C, frames, H, W]", () => {
    const img = load("frames_u16.dcm");
    expect(img.shape).toEqual([1, 2, 2, 2]);
    expect(values(img)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("reads explicit VR big endian", () => {
    expect(values(load("big_endian_u16.dcm"))).toEqual([258, 65535]);
  });

  it("rejects compressed transfer syntaxes by name", () => {
    const path = join(fixtures, "jpeg_baseline.dcm");
    const r = decodeImage(path);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain(path);
      expect(r.error).toContain("1.2.840.10008.1.2.4.50 (JPEG baseline) is compressed and not supported");
    }
  });
});

describe("errors name the file", () => {
  it("missing file", () => {
    const path = join(tmp, "nope.png");
    expect(decodeImage(path)).toEqual({ ok: false, error: `${path}: file not found` });
  });

  it("truncated PNG", () => {
    const path = join(tmp, "broken.png");
    writeFileSync(path, encodePng({ data: new Float32Array(64), shape: [1, 8, 8] }).subarray(0, 40));
    const r = decodeImage(path);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a readable PNG`));
  });

  it("corrupt JPEG", () => {
    const path = join(tmp, "broken.jpg");
    writeFileSync(path, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    const r = decodeImage(path);
    expect(!r.ok && r.error.startsWith(`${path}: not a readable JPEG`)).toBe(true);
  });

  it("garbage with a .dcm extension", () => {
    const path = join(tmp, "broken.dcm");
    writeFileSync(path, Buffer.from("hello"));
    const r = decodeImage(path);
    expect(!r.ok && r.error.startsWith(`${path}: not a readable DICOM file`)).toBe(true);
  });

  it("unsupported formats", () => {
    const path = join(tmp, "scan.tif");
    writeFileSync(path, Buffer.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]));
    expect(decodeImage(path)).toEqual({ ok: false, error: `${path}: TIFF images are not supported (expected PNG, JPEG or DICOM)` });
    const txt = join(tmp, "notes.txt");
    writeFileSync(txt, "x");
    const r = decodeImage(txt);
    expect(!r.ok && r.error).toBe(`${txt}: unrecognised image format: not supported (expected PNG, JPEG or DICOM)`);
  });
});
