import { describe, expect, it } from "vitest";
import { policy } from "../../src/policy/registry.js";
import type { RuntimeImage } from "../../src/runtime/data/image.js";
import { datasetStats, normalize, normalizeDefaults } from "../../src/runtime/normalize.js";
import type { Entry } from "../../src/runtime/types.js";

const e = (name: string, args: Record<string, unknown> = {}): Entry => ({ name, args });
const img = (shape: number[], values: number[], meta?: RuntimeImage["meta"]): RuntimeImage => ({ data: Float32Array.from(values), shape, ...(meta ? { meta } : {}) });
const png8 = (shape: number[], values: number[]) => img(shape, values, { source: "a.png", format: "png", bitDepth: 8, range: [0, 255] });
const close = (actual: Float32Array, expected: number[], digits = 5) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, digits));
};

describe("arguments match the policy registry", () => {
  it("has every normalize entry with the registry's argument names and defaults", () => {
    expect(Object.keys(normalizeDefaults).sort()).toEqual([...policy.normalize.keys()].sort());
    for (const [name, entry] of policy.normalize) {
      const ours = normalizeDefaults[name]!;
      expect(Object.keys(ours).sort(), name).toEqual(entry.args.map((a) => a.name).sort());
      for (const a of entry.args) if (a.default !== undefined) expect(ours[a.name], `${name}.${a.name}`).toEqual(a.default);
    }
  });
});

describe("normalize", () => {
  it("zscore per image, per channel", () => {
    const out = normalize(png8([2, 1, 2], [1, 3, 10, 30]), e("zscore", { mode: "per_image" }));
    close(out.data, [-1, 1, -1, 1]);
  });

  it("zscore with dataset statistics, and with fixed mean/std", () => {
    const a = png8([1, 1, 2], [0, 2]);
    const b = png8([1, 1, 2], [4, 6]);
    const stats = datasetStats([a, b]);
    expect(stats.mean).toEqual([3]);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(5), 10);
    expect(stats.min).toEqual([0]);
    expect(stats.max).toEqual([6]);
    close(normalize(a, e("zscore"), stats).data, [-3 / Math.sqrt(5), -1 / Math.sqrt(5)]);
    close(normalize(a, e("zscore", { mean: [1], std: [2] })).data, [-0.5, 0.5]);
    expect(() => normalize(a, e("zscore"))).toThrow("zscore(mode=dataset) needs dataset statistics");
  });

  it("dataset statistics stay exact for large raw values", () => {
    const images = [0, 1, 2].map((k) => img([1, 1, 3], [60000 + k, 60001 + k, 60002 + k]));
    const s = datasetStats(images);
    expect(s.mean[0]).toBeCloseTo(60002, 8);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(4 / 3), 8);
  });

  it("imagenet scales 8-bit by 255 and 16-bit by 65535", () => {
    const rgb = png8([3, 1, 1], [255, 0, 127.5]);
    close(normalize(rgb, e("imagenet")).data, [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.5 - 0.406) / 0.225]);
    const gray16 = img([1, 1, 1], [65535], { source: "b.png", format: "png", bitDepth: 16, range: [0, 65535] });
    close(normalize(gray16, e("imagenet")).data, [(1 - 0.449) / 0.226]);
  });

  it("minmax per image and with dataset statistics", () => {
    close(normalize(png8([1, 1, 3], [10, 20, 30]), e("minmax")).data, [0, 0.5, 1]);
    const stats = datasetStats([png8([1, 1, 2], [0, 100])]);
    close(normalize(png8([1, 1, 2], [50, 200]), e("minmax", { mode: "dataset" }), stats).data, [0.5, 1]);
  });

  it("window clips center ± width/2 to [0, 1], defaulting to the DICOM window", () => {
    const ct = img([1, 1, 4], [-1000, -160, 40, 1000], { source: "ct.dcm", format: "dicom", bitDepth: 16, range: [-160, 240], window: { center: 40, width: 400 } });
    close(normalize(ct, e("window", { center: 40, width: 400 })).data, [0, 0, 0.5, 1]);
    close(normalize(ct, e("window")).data, [0, 0, 0.5, 1]);
    close(normalize(ct, null).data, [0, 0, 0.5, 1]);
    expect(() => normalize(png8([1, 1, 1], [0]), e("window"))).toThrow("a.png has no DICOM window");
  });

  it("percentile clips to numpy-style percentiles", () => {
    // numpy.percentile(range(101), [5, 95]) = [5, 95]
    const ramp = img([1, 1, 101], Array.from({ length: 101 }, (_, i) => i));
    const out = normalize(ramp, e("percentile", { lo: 5, hi: 95 }));
    expect(out.data[0]).toBe(0);
    expect(out.data[50]).toBeCloseTo(0.5, 6);
    expect(out.data[100]).toBe(1);
    const stats = datasetStats([ramp], { percentiles: [5, 95] });
    expect(stats.percentiles?.values).toEqual([[5, 95]]);
    close(normalize(ramp, e("percentile", { lo: 5, hi: 95, mode: "dataset" }), stats).data.subarray(48, 53), [0.477778, 0.488889, 0.5, 0.511111, 0.522222]);
  });

  it("the default maps the nominal range to [0, 1]", () => {
    close(normalize(png8([1, 1, 2], [0, 255]), null).data, [0, 1]);
  });

  it("rejects unknown entries and arguments", () => {
    expect(() => normalize(png8([1, 1, 1], [0]), e("zscore", { per: 1 }))).toThrow("normalize: zscore has no argument 'per'");
    expect(() => normalize(png8([1, 1, 1], [0]), e("robust"))).toThrow("unknown normalization 'robust'");
  });
});
