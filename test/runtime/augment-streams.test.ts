/**
 * Each sample's augmentation stream is named after its path relative to the data root, so the
 * same data set copied to another folder gives bit-identical augmented batches.
 */
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { programPlan } from "../../src/backends/tfjs/emit.js";
import { openImageFolder } from "../../src/runtime/data/datasets.js";
import { openSegmentationFolder } from "../../src/runtime/data/masks.js";
import { writeDemoData } from "../../src/runtime/demo-data.js";
import { SamplePipeline, SegmentationPipeline } from "../../src/runtime/train.js";
import { compileText } from "../helpers/compile.js";

const scratch = mkdtempSync(join(tmpdir(), "medg-streams-"));

/** The data set written under one folder and copied under another, deeper one. */
function twoCopies(task: "classify" | "segment"): [string, string] {
  const a = join(scratch, task, "here");
  writeDemoData(a, { task, size: 16, count: 6, seed: 5 });
  const b = join(scratch, task, "some", "other", "place");
  cpSync(a, b, { recursive: true });
  return [a, b];
}

function planOf(task: string, classes: string) {
  const r = compileText(`model m {
  task ${task}(classes=${classes})
  input image(1, 16, 16)
  normalize zscore(per_image)
  backbone conv(2, 1)${task === "classify" ? " | gap" : ""}
  augment flip(h) | rotate(30) | contrast(.3)
}
`);
  return programPlan(r.models[0]!);
}

const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("base64");

describe("augmentation streams", () => {
  it("give two copies of an image folder the same augmented images", () => {
    const plan = planOf("classify", '["lesion", "normal"]');
    const [a, b] = twoCopies("classify").map((dir) => {
      const r = openImageFolder(dir);
      if (!r.ok) throw new Error(r.error);
      return r.dataset.samples;
    });
    expect(a!.map((s) => s.id)).toEqual(b!.map((s) => s.id));
    expect(a![0]!.id).toMatch(/^train\/lesion\/[^/]+\.png$/);
    const batches = (samples: typeof a, epoch: number) => {
      const pipeline = new SamplePipeline(plan, 7);
      return samples!.map((s) => bits(pipeline.train(s, epoch)));
    };
    expect(batches(b, 1)).toEqual(batches(a, 1));
    // The augmentation does draw: another epoch moves the images.
    expect(batches(a, 2)).not.toEqual(batches(a, 1));
  });

  it("give two copies of a segmentation folder the same augmented images and masks", () => {
    const plan = planOf("segment", '["background", "lesion"]');
    const batches = (dir: string, epoch: number) => {
      const r = openSegmentationFolder(dir, { classes: ["background", "lesion"], multilabel: false });
      if (!r.ok) throw new Error(r.error);
      const pipeline = new SegmentationPipeline(plan, 7, r.dataset, 2);
      return r.dataset.samples.map((s) => {
        const { x, y } = pipeline.train(s, epoch);
        return `${bits(x)} ${bits(y)}`;
      });
    };
    const [a, b] = twoCopies("segment");
    expect(batches(b!, 1)).toEqual(batches(a!, 1));
    expect(batches(a!, 2)).not.toEqual(batches(a!, 1));
  });
});
