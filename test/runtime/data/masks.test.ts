import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { encodePng } from "../../../src/runtime/data/encode.js";
import {
  decodeMask,
  loadMask,
  loadSegmentationImage,
  openImagesMasks,
  openMsd,
  openSegmentationData,
  openSegmentationFolder,
  type SegmentationDataset,
  type SegmentationResult,
} from "../../../src/runtime/data/masks.js";

const fixtures = fileURLToPath(new URL("../../fixtures/images/", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "medg-masks-"));
let counter = 0;
const fresh = () => {
  const d = join(root, `d${counter++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

function write(path: string, values: number[], w = 2, bitDepth: 8 | 16 = 8): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodePng({ data: Float32Array.from(values), shape: [1, values.length / w, w] }, bitDepth));
}
function ok(r: SegmentationResult): SegmentationDataset {
  if (!r.ok) throw new Error(r.error);
  return r.dataset;
}
function err(r: SegmentationResult): string {
  if (r.ok) throw new Error("expected an error");
  return r.error;
}
const binary = { classes: ["background", "lesion"], multilabel: false };

/** `n` cases of 2×2 images and masks under DIR/images and DIR/masks. */
function pairs(dir: string, n: number, mask = [0, 1, 1, 0]): void {
  for (let i = 0; i < n; i++) {
    write(join(dir, "images", `case${i}.png`), [10, 20, 30, 40]);
    write(join(dir, "masks", `case${i}.png`), mask);
  }
}

describe("openImagesMasks", () => {
  it("pairs images and masks by name (any image extension) and splits deterministically", () => {
    const d = fresh();
    pairs(d, 10);
    copyFileSync(join(fixtures, "gray.jpg"), join(d, "images", "extra.jpg"));
    write(join(d, "masks", "extra.png"), new Array(256).fill(0), 16);
    const ds = ok(openImagesMasks(join(d, "images"), join(d, "masks"), binary));
    expect(ds.classNames).toEqual(["background", "lesion"]);
    expect(ds.samples).toHaveLength(11);
    expect(ds.samples.filter((s) => s.split === "val")).toHaveLength(2);
    const jpg = ds.samples.find((s) => s.path.endsWith("extra.jpg"))!;
    expect(jpg.masks).toEqual([join(d, "masks", "extra.png")]);
    // The split depends on names only: the same on every call, and with a val_split.
    expect(ok(openImagesMasks(join(d, "images"), join(d, "masks"), binary))).toEqual(ds);
    expect(ok(openImagesMasks(join(d, "images"), join(d, "masks"), { ...binary, val_split: 0.5 })).samples.filter((s) => s.split === "val")).toHaveLength(6);
  });

  it("names every image without a mask and every mask without an image", () => {
    const d = fresh();
    pairs(d, 2);
    write(join(d, "images", "lonely.png"), [1, 2, 3, 4]);
    write(join(d, "masks", "orphan.png"), [0, 0, 0, 0]);
    const e = err(openImagesMasks(join(d, "images"), join(d, "masks"), binary));
    expect(e).toContain(`${join(d, "images", "lonely.png")}: has no mask (looked for ${join(d, "masks", "lonely")}.png)`);
    expect(e).toContain(`${join(d, "masks", "orphan.png")}: is a mask without an image`);
    expect(err(openImagesMasks(join(d, "nope"), join(d, "masks"), binary))).toBe(
      `${join(d, "nope")}: folder not found (the images of an images_masks data source)`,
    );
  });

  it("reads one binary mask per class for a multi-label task", () => {
    const d = fresh();
    for (let i = 0; i < 3; i++) write(join(d, "images", `c${i}.png`), [1, 2, 3, 4]);
    write(join(d, "masks", "liver", "c0.png"), [0, 255, 255, 0]);
    write(join(d, "masks", "tumour", "c0.png"), [0, 0, 255, 0]);
    write(join(d, "masks", "liver", "c1.png"), [1, 0, 0, 0]);
    mkdirSync(join(d, "masks", "tumour"), { recursive: true });
    const ds = ok(openImagesMasks(join(d, "images"), join(d, "masks"), { classes: ["liver", "tumour"], multilabel: true }));
    const c0 = ds.samples.find((s) => s.path.endsWith("c0.png"))!;
    const c2 = ds.samples.find((s) => s.path.endsWith("c2.png"))!;
    expect(c2.masks).toEqual([null, null]);
    const m = loadMask(c0, ds, { h: 2, w: 2 }, 2);
    if (!m.ok) throw new Error(m.error);
    expect(m.mask.shape).toEqual([2, 2, 2]);
    expect(Array.from(m.mask.data)).toEqual([0, 1, 1, 0, 0, 0, 1, 0]);
    const none = loadMask(c2, ds, { h: 2, w: 2 }, 2);
    expect(none.ok && Array.from(none.mask.data).every((v) => v === 0)).toBe(true);
    expect(err(openImagesMasks(join(d, "images"), join(d, "masks"), { classes: ["liver", "spleen"], multilabel: true }))).toContain(
      `${join(d, "masks", "spleen")}: folder not found (a multi-label task reads one binary mask per class`,
    );
  });
});

describe("openSegmentationFolder", () => {
  it("reads DIR/images + DIR/masks, and train/ + val/ with their own split", () => {
    const a = fresh();
    pairs(a, 5);
    expect(
      ok(openSegmentationFolder(a, binary))
        .samples.map((s) => s.split)
        .sort(),
    ).toEqual(["train", "train", "train", "train", "val"]);
    const b = fresh();
    pairs(join(b, "train"), 3);
    pairs(join(b, "val"), 2);
    expect(ok(openSegmentationFolder(b, binary)).samples.map((s) => s.split)).toEqual(["train", "train", "train", "val", "val"]);
    expect(err(openSegmentationFolder(fresh(), binary))).toMatch(/is not a segmentation dataset; expected images\/ and masks\//);
  });

  it("takes class names from the count when the task gives none", () => {
    const d = fresh();
    pairs(d, 2, [0, 1, 2, 0]);
    expect(ok(openSegmentationFolder(d, { classes: 3, multilabel: false })).classNames).toEqual(["background", "class1", "class2"]);
  });
});

describe("openMsd", () => {
  function msd(dir: string, json: unknown, cases: string[], channels = 1): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "dataset.json"), JSON.stringify(json));
    for (const c of cases) {
      for (let k = 0; k < channels; k++) write(join(dir, "imagesTr", `${c}_${String(k).padStart(4, "0")}.png`), [k, k, k, k]);
      write(join(dir, "labelsTr", `${c}.png`), [0, 1, 2, 0]);
    }
  }

  it("reads the nnU-Net v2 layout: labels by name, channel files stacked", () => {
    const d = fresh();
    msd(
      d,
      { channel_names: { "0": "T1", "1": "T2" }, labels: { background: 0, edema: 1, tumour: 2 }, numTraining: 4, file_ending: ".png" },
      ["a", "b", "c", "d"],
      2,
    );
    const ds = ok(openMsd(d, { classes: 3, multilabel: false }));
    expect(ds.classNames).toEqual(["background", "edema", "tumour"]);
    expect(ds.modality).toEqual(["T1", "T2"]);
    expect(ds.samples).toHaveLength(4);
    expect(ds.samples[0]!.images).toEqual([join(d, "imagesTr", "a_0000.png"), join(d, "imagesTr", "a_0001.png")]);
    const image = loadSegmentationImage(ds.samples[0]!);
    if (!image.ok) throw new Error(image.error);
    expect(image.image.shape).toEqual([2, 2, 2]);
    expect(Array.from(image.image.data)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const mask = loadMask(ds.samples[0]!, ds, { h: 2, w: 2 }, 3);
    expect(mask.ok && Array.from(mask.mask.data)).toEqual([0, 1, 2, 0]);
    // The task's names must agree (case aside) and win.
    expect(ok(openMsd(d, { classes: ["Background", "Edema", "Tumour"], multilabel: false })).classNames).toEqual(["Background", "Edema", "Tumour"]);
    expect(err(openMsd(d, { classes: ["background", "lesion"], multilabel: false }))).toBe(
      `${join(d, "dataset.json")}: labels background, edema, tumour do not match the task's classes background, lesion`,
    );
  });

  it("reads regions as a multi-label task (nnU-Net region-based training)", () => {
    const d = fresh();
    msd(d, { channel_names: { "0": "FLAIR" }, labels: { background: 0, whole: [1, 2], core: 2 } }, ["a", "b"]);
    expect(err(openMsd(d, { classes: 3, multilabel: false }))).toContain("labels define regions (lists of values), which train as a multi-label task");
    const ds = ok(openMsd(d, { classes: ["whole", "core"], multilabel: true }));
    const mask = loadMask(ds.samples[0]!, ds, { h: 2, w: 2 }, 2);
    expect(mask.ok && Array.from(mask.mask.data)).toEqual([0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it("reads the MSD training list and refuses NIfTI with a message", () => {
    const d = fresh();
    write(join(d, "imagesTr", "x.png"), [5, 6, 7, 8]);
    write(join(d, "labelsTr", "x.png"), [0, 0, 1, 1]);
    writeFileSync(
      join(d, "dataset.json"),
      JSON.stringify({
        modality: { "0": "CT" },
        labels: { "0": "background", "1": "liver" },
        training: [{ image: "./imagesTr/x.png", label: "./labelsTr/x.png" }],
      }),
    );
    const ds = ok(openSegmentationFolder(d, { classes: 2, multilabel: false }));
    expect(ds.samples.map((s) => [s.images, s.masks])).toEqual([[[join(d, "imagesTr", "x.png")], [join(d, "labelsTr", "x.png")]]]);
    expect(ds.classNames).toEqual(["background", "liver"]);
    const nii = fresh();
    writeFileSync(
      join(nii, "dataset.json"),
      JSON.stringify({
        modality: { "0": "CT" },
        labels: { "0": "background", "1": "liver" },
        training: [{ image: "./imagesTr/liver_0.nii.gz", label: "./labelsTr/liver_0.nii.gz" }],
      }),
    );
    expect(err(openMsd(nii, binary))).toMatch(
      /dataset\.json: NIfTI volumes are not read by the tfjs runtime, which trains on 2-D images; export the slices as PNG/,
    );
    expect(err(openMsd(d, { classes: 3, multilabel: false }))).toContain("has 2 labels (background, liver) but the model outputs 3 channels");
  });

  it("is opened from the plan's data entries", () => {
    const d = fresh();
    pairs(d, 3);
    expect(
      ok(openSegmentationData({ name: "images_masks", args: { images: "images", masks: "masks", val_split: 0.34 } }, { ...binary, baseDir: d })).samples,
    ).toHaveLength(3);
    expect(err(openSegmentationData({ name: "imagefolder", args: { path: d } }, binary))).toBe(
      "data source 'imagefolder' has no masks; a segmentation task reads images_masks(images, masks) or msd(path)",
    );
  });
});

describe("masks", () => {
  it("reads palette indices, sub-byte gray as stored, and refuses colour", () => {
    const palette = decodeMask(join(fixtures, "palette.png"));
    expect(palette.ok && Array.from(palette.values)).toEqual([1, 0]);
    const gray2 = decodeMask(join(fixtures, "gray2.png"));
    expect(gray2.ok && Array.from(gray2.values)).toEqual([0, 1, 2, 3]);
    const rgb = decodeMask(join(fixtures, "rgb8.png"));
    expect(!rgb.ok && rgb.error).toMatch(/rgb8\.png: is a colour mask; masks hold the class index per pixel/);
  });

  it("maps 0/255 masks of binary tasks and names pixels outside the classes", () => {
    const d = fresh();
    pairs(d, 1, [0, 255, 255, 0]);
    const ds = ok(openSegmentationFolder(d, binary));
    const m = loadMask(ds.samples[0]!, ds, { h: 2, w: 2 }, 2);
    expect(m.ok && Array.from(m.mask.data)).toEqual([0, 1, 1, 0]);
    const three = ok(openSegmentationFolder(d, { classes: ["bg", "a", "b"], multilabel: false }));
    const bad = loadMask(three.samples[0]!, three, { h: 2, w: 2 }, 3);
    expect(!bad.ok && bad.error).toBe(`${join(d, "masks", "case0.png")}: pixel (1, 0) has value 255, which is not a class (0..2: bg, a, b)`);
    const size = loadMask(ds.samples[0]!, ds, { h: 4, w: 2 }, 2);
    expect(!size.ok && size.error).toBe(`${join(d, "masks", "case0.png")}: the mask is 2×2 but its image ${join(d, "images", "case0.png")} is 2×4`);
  });
});
