import { describe, expect, it } from "vitest";
import type { RuntimeImage } from "../../../src/runtime/data/image.js";
import { convertChannels, prepare, resize } from "../../../src/runtime/data/resize.js";

const img = (shape: number[], values: number[], source = "x.png"): RuntimeImage => ({
  data: Float32Array.from(values),
  shape,
  meta: { source, format: "png", bitDepth: 8, range: [0, 255] },
});

const close = (actual: Float32Array, expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
};

describe("resize (torch bilinear, align_corners=False, antialias=False)", () => {
  it("2×2 → 4×4", () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4),
    //   mode="bilinear", align_corners=False)
    const out = resize(img([1, 2, 2], [1, 2, 3, 4]), [4, 4]);
    expect(out.shape).toEqual([1, 4, 4]);
    close(out.data, [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0]);
  });

  it("3 → 2 downsampling without antialiasing, non-square", () => {
    // Source positions (o + 0.5)·1.5 − 0.5 = 0.25, 1.75 along the width; the height 1 → 2 clamps to row 0.
    // torch: interpolate([[[[0., 10., 20.]]]], size=(2, 2), mode="bilinear") = [[2.5, 17.5], [2.5, 17.5]]
    const out = resize(img([1, 1, 3], [0, 10, 20]), [2, 2]);
    close(out.data, [2.5, 17.5, 2.5, 17.5]);
  });

  it("5 → 3 hand-computed", () => {
    // scale 5/3: sources 1/3, 2, 11/3 → 0 + 1/3·1, 2, 3 + 2/3·1 on the values 0..4.
    const out = resize(img([1, 1, 5], [0, 1, 2, 3, 4]), [1, 3]);
    close(out.data, [1 / 3, 2, 11 / 3]);
  });

  it("nearest keeps label values", () => {
    const out = resize(img([1, 2, 2], [0, 1, 2, 3]), [4, 4], "nearest");
    expect(Array.from(out.data)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]);
  });

  it("resizes every channel and keeps metadata", () => {
    const out = resize(img([2, 1, 2], [0, 2, 10, 30]), [1, 4]);
    close(out.data, [0, 0.5, 1.5, 2, 10, 15, 25, 30]);
    expect(out.meta?.source).toBe("x.png");
  });
});

describe("prepare", () => {
  it("repeats gray to three channels after resizing", () => {
    const r = prepare(img([1, 2, 2], [1, 2, 3, 4]), { channels: 3, size: [4, 4] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.image.shape).toEqual([3, 4, 4]);
    expect(Array.from(r.image.data.subarray(16, 32))).toEqual(Array.from(r.image.data.subarray(0, 16)));
  });

  it("turns RGB into gray by luminance", () => {
    const r = convertChannels(img([3, 1, 1], [255, 0, 100]), 1);
    expect(r.ok && r.image.data[0]).toBeCloseTo(0.299 * 255 + 0.114 * 100, 4);
  });

  it("names the file when channels cannot be matched", () => {
    const r = prepare(img([3, 2, 2], new Array(12).fill(0), "scan.png"), { channels: 2, size: [2, 2] });
    expect(r).toEqual({ ok: false, error: "scan.png: has 3 channels but the model expects 2 (only gray → 2 by repetition are converted)" });
  });

  it("names the file when a volume meets a 2-D model", () => {
    const r = prepare(img([1, 2, 2, 2], new Array(8).fill(0), "ct.dcm"), { channels: 1, size: [4, 4] });
    expect(!r.ok && r.error).toBe("ct.dcm: is a volume of 2 slices/frames [1, 2, 2, 2] but the model expects a 2-D image of size [4, 4]");
  });

  it("resizes volumes trilinearly", () => {
    const r = prepare(img([1, 2, 1, 1], [0, 8]), { channels: 1, size: [4, 1, 1] });
    expect(r.ok && Array.from(r.image.data)).toEqual([0, 2, 6, 8]);
  });
});
