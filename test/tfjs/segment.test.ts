/**
 * Segmentation end to end: `medg demo-data --task segment` → `medg train` of a small U-Net on
 * pure-JS tfjs → a validation Dice well above an all-background prediction → the best checkpoint
 * exported with `medg build --target onnx --weights` gives the same masks in onnxruntime.
 * Smaller runs cover the other target forms (one binary output, multi-label masks per class,
 * masks resized to the input) and the recipe's lint.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { build } from "../../src/cli/build.js";
import { demoDataCommand, trainCommand } from "../../src/cli/train.js";
import { compileFile } from "../../src/compile.js";
import { BEST, loadCheckpoint } from "../../src/runtime/checkpoint.js";
import { loadMask, loadSegmentationImage, openSegmentationFolder } from "../../src/runtime/data/masks.js";
import { prepare } from "../../src/runtime/data/resize.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { normalize } from "../../src/runtime/normalize.js";
import type { ModelModule, ProgramPlan } from "../../src/runtime/program.js";
import { runTraining, type RunRecord } from "../../src/runtime/train.js";
import { buildProgram, commandIo, quietIo, runtimeUrl, scratch, tf, tfjs } from "./program.js";

// A two-level U-Net: skips by tap/from, joined by concatenation after transposed-conv upsampling.
const unet = `def block(c) = conv(c, 3, bias=false) | bn | relu

model lesion_seg {
  task segment(classes=["background", "lesion"])
  input image(1, 32, 32)
  normalize zscore(per_image)
  backbone
    enc1: block(4) | tap skip1 | maxpool(2)
    | enc2: block(8) | tap skip2 | maxpool(2)
    | mid: block(16)
  decoder
    up2: conv_transpose(8, 2, s=2) | concat(identity, from skip2) | dec2: block(8)
    | up1: conv_transpose(4, 2, s=2) | concat(identity, from skip1) | dec1: block(4)
  head out: conv(2, 1)
  loss 0.5*dice + 0.5*ce
  metrics dice, iou
  optimizer adamw(lr=3e-2)
  augment flip(h) | rotate(10) | gamma
  batch 4
  epochs 3
}
`;


const demo = join(scratch, "seg-demo");

beforeAll(async () => {
  writeFileSync(join(scratch, "seg.medg"), unet);
  const log = commandIo();
  expect(await demoDataCommand("seg-demo", { task: "segment", size: "32", count: "40", seed: "1" }, log)).toBe(0);
  expect(log.lines).toEqual(["wrote 40 images and 40 masks to seg-demo (segment; images/ and masks/, classes background, lesion)"]);
});

/** Dice of the lesion class over all pixels, 2TP / (2TP + FP + FN). */
function lesionDice(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    if (pred[i] === 1 && truth[i] === 1) tp++;
    else if (pred[i] === 1) fp++;
    else if (truth[i] === 1) fn++;
  }
  return (2 * tp) / (2 * tp + fp + fn);
}

describe("medg train on a segmentation task", () => {
  it("trains a small U-Net well above an all-background prediction, and onnxruntime gives the same masks", async () => {
    const log = commandIo();
    const code = await trainCommand("seg.medg", { data: "seg-demo", out: "runs/seg", runtime: "tfjs", runtimeModule: runtimeUrl }, log);
    expect(code, log.lines.join("\n")).toBe(0);
    expect(log.lines).toContain(
      `training lesion_seg on images_masks(${JSON.stringify(demo)}): 32 training and 8 validation images with masks, 2 classes; 3 epochs in 1 stage; seed 0`,
    );
    const out = join(scratch, "runs", "seg");
    const run = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as RunRecord;
    expect(run.status).toBe("completed");
    expect(run.classes).toEqual(["background", "lesion"]);
    expect(run.best!.metric).toBe("dice");
    const last = run.epochs.at(-1)!;
    expect(Object.keys(last.metrics)).toEqual(["dice", "iou"]);
    expect(last.perClass.dice).toHaveLength(2);

    // The validation images and masks, prepared as the runtime does.
    const opened = openSegmentationFolder(demo, { classes: run.classes, multilabel: false });
    if (!opened.ok) throw new Error(opened.error);
    const val = opened.dataset.samples.filter((s) => s.split === "val");
    expect(val).toHaveLength(8);
    const plan = JSON.parse(readFileSync(join(out, "program", "plan.json"), "utf8")) as ProgramPlan;
    const images: number[] = [];
    const truth: number[] = [];
    for (const s of val) {
      const image = loadSegmentationImage(s);
      if (!image.ok) throw new Error(image.error);
      const sized = prepare(image.image, { channels: 1, size: [32, 32] });
      if (!sized.ok) throw new Error(sized.error);
      images.push(...normalize(sized.image, plan.normalize).data);
      const mask = loadMask(s, opened.dataset, { h: 32, w: 32 }, 2);
      if (!mask.ok) throw new Error(mask.error);
      truth.push(...mask.mask.data);
    }
    // The baseline: predicting background everywhere finds no lesion pixel, a lesion Dice (and mean Dice without background) of 0.
    expect(truth.filter((v) => v === 1).length).toBeGreaterThan(50);
    expect(lesionDice(new Array<number>(truth.length).fill(0), truth)).toBe(0);
    expect(run.best!.value).toBeGreaterThan(0.45);

    // The best checkpoint reproduces the best validation Dice.
    const model = (await import(join(out, "program", "model.js"))) as ModelModule;
    const best = loadCheckpoint(join(out, BEST));
    const params = Object.fromEntries(plan.parameters.map((p) => [p.name, tf.tensor(best.values.get(p.name)!, p.shape)]));
    const x = tf.tensor(Float32Array.from(images), [val.length, 1, 32, 32]);
    const logits = tf.tidy(() => model.forward(params as never, x as never, createForwardContext(tfjs)) as unknown as tf.Tensor);
    expect(logits.shape).toEqual([8, 2, 32, 32]);
    const tfjsMask = tf.tidy(() => tf.argMax(logits, 1)).dataSync();
    expect(lesionDice(tfjsMask, truth)).toBeCloseTo(run.best!.value, 6);

    // medg build --target onnx --weights runs/seg/best.safetensors, then onnxruntime: the same masks.
    const onnxFile = join(scratch, "seg.onnx");
    const b = commandIo();
    expect(
      build(
        "seg.medg",
        {
          target: "onnx",
          output: "seg.onnx",
          model: undefined,
          opset: undefined,
          seed: undefined,
          keepBn: false,
          fixedBatch: undefined,
          weights: [{ file: join(out, BEST) }],
        },
        b,
      ),
      b.lines.join("\n"),
    ).toBe(0);
    const session = await ort.InferenceSession.create(onnxFile);
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(images), [val.length, 1, 32, 32]) });
    const onnx = result[session.outputNames[0]!]!.data as Float32Array;
    await session.release();
    const ours = logits.dataSync();
    const plane = 32 * 32;
    let differ = 0;
    for (let n = 0; n < val.length; n++)
      for (let i = 0; i < plane; i++) {
        const at = (k: number, v: ArrayLike<number>) => v[(n * 2 + k) * plane + i]!;
        const onnxMask = at(1, onnx) > at(0, onnx) ? 1 : 0;
        // A pixel whose two logits tie to within float error may go either way.
        if (onnxMask !== tfjsMask[n * plane + i] && Math.abs(at(1, ours) - at(0, ours)) > 1e-4) differ++;
      }
    expect(differ).toBe(0);
    const scale = Math.max(...Array.from(onnx, Math.abs));
    expect(Math.max(...Array.from(onnx, (v, i) => Math.abs(v - ours[i]!))) / scale).toBeLessThan(1e-4);
    tf.dispose([x, logits, ...Object.values(params)]);
  }, 120_000);
});

describe("segmentation targets", () => {
  const tiny = (task: string, head: string, extra = "") => `model small {
  task ${task}
  input image(1, 16, 16)
  backbone enc: conv(4, 3) | relu | tap skip | maxpool(2) | mid: conv(8, 3) | relu
  decoder upsample(2) | concat(identity, from skip) | dec: conv(4, 3) | relu
  head out: conv(${head}, 1)
  optimizer adamw(lr=1e-2)
  augment flip(h) | rotate(15)
  batch 8
  epochs 1
  ${extra}
}
`;

  it("trains one binary output from a plan's images_masks data, masks resized to the input by nearest neighbour", async () => {
    const p = await buildProgram(
      tiny('segment(classes=["lesion"])', "1", `loss dice + bce\n  data images_masks("${join(demo, "images")}", "${join(demo, "masks")}")`),
    );
    expect(p.plan.data).toEqual({ name: "images_masks", args: { images: join(demo, "images"), masks: join(demo, "masks"), val_split: 0.2 } });
    const r = await runTraining({ tf: tfjs, model: p.model, plan: p.plan, initial: p.initial, out: join(scratch, "binary"), io: quietIo() });
    expect(r.status).toBe("completed");
    const e = r.epochs[0]!;
    expect(r.best!.metric).toBe("dice");
    expect(Object.keys(e.metrics)).toEqual(["dice", "iou"]);
    expect(e.perClass.dice).toHaveLength(1);
    expect(Number.isFinite(e.metrics.dice!) && Number.isFinite(e.valLoss)).toBe(true);
  });

  it("trains a multi-label map from one mask folder per class", async () => {
    const dir = join(scratch, "multi");
    for (const sub of ["images", "masks/lesion"]) mkdirSync(join(dir, sub), { recursive: true });
    for (const f of readdirSync(join(demo, "images"))) {
      copyFileSync(join(demo, "images", f), join(dir, "images", f));
      copyFileSync(join(demo, "masks", f), join(dir, "masks", "lesion", f));
    }
    const p = await buildProgram(tiny('segment(classes=["lesion"], multilabel=true)', "1", "metrics dice, iou, confusion_matrix"));
    const tensors = tf.memory().numTensors;
    const r = await runTraining({ tf: tfjs, model: p.model, plan: p.plan, initial: p.initial, data: dir, out: join(scratch, "multi-run"), io: quietIo() });
    expect(r.status).toBe("completed");
    expect(tf.memory().numTensors).toBe(tensors);
    const e = r.epochs[0]!;
    expect(e.confusion).toHaveLength(1);
    const [tn, fp, fn, tp] = e.confusion![0]!;
    expect(tn! + fp! + fn! + tp!).toBe(8 * 16 * 16);
    expect(e.metrics.dice).toBeCloseTo((2 * tp!) / (2 * tp! + fp! + fn!), 10);
  });

  it("refuses a model whose maps are not at the input resolution, and metrics it cannot compute", async () => {
    const half = await buildProgram(
      tiny('segment(classes=["background", "lesion"])', "2").replace(
        "decoder upsample(2) | concat(identity, from skip) | dec: conv(4, 3) | relu",
        "decoder dec: conv(4, 3) | relu",
      ),
    );
    await expect(
      runTraining({ tf: tfjs, model: half.model, plan: half.plan, initial: half.initial, data: demo, out: join(scratch, "half"), io: quietIo() }),
    ).rejects.toThrow(
      "small outputs maps of 8×8, but masks are compared at the input size 16×16; bring the output to the input resolution (upsample or resize)",
    );
    const auroc = await buildProgram(tiny('segment(classes=["background", "lesion"])', "2", "metrics dice, auroc"));
    await expect(
      runTraining({ tf: tfjs, model: auroc.model, plan: auroc.plan, initial: auroc.initial, data: demo, out: join(scratch, "auroc"), io: quietIo() }),
    ).rejects.toThrow(/^metric auroc is not computed for segmentation by the tfjs runtime/);
  });
});

describe("the segmentation recipe", () => {
  it("warns about a freeze on a segmentation model (MEDG406)", () => {
    const file = join(scratch, "frozen-seg.medg");
    writeFileSync(file, unet.replace("  batch 4\n", "  batch 4\n  stage warmup: freeze backbone, epochs 1\n  stage rest: unfreeze all, epochs 2\n"));
    const r = compileFile(file, { root: scratch });
    const warnings = r.diagnostics.filter((d) => d.code === "MEDG406");
    expect(warnings.map((d) => [d.severity, d.message])).toEqual([
      [
        "warning",
        "stage warmup freezes backbone, but segmentation models are fine-tuned in full (the segmentation recipe: every parameter trained, AdamW at 1e-4, small batches); drop the freeze unless the data is too small to train the encoder",
      ],
    ]);
    expect(warnings[0]!.span.start.line).toBe(20);
  });
});
