/**
 * End to end through the command functions: demo data → `medg build --target tfjs` → `medg train`
 * with a two-stage recipe → validation accuracy well above chance → the best checkpoint loads and
 * reproduces its accuracy.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { encodeModel, exportOnnx } from "../../src/backends/onnx/export.js";
import { buildTfjsCommand, demoDataCommand, trainCommand } from "../../src/cli/train.js";
import { compileFile } from "../../src/compile.js";
import { BEST, loadCheckpoint } from "../../src/runtime/checkpoint.js";
import { loadSample, openImageFolder } from "../../src/runtime/data/datasets.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { normalize } from "../../src/runtime/normalize.js";
import type { ModelModule, ProgramPlan } from "../../src/runtime/program.js";
import type { RunRecord } from "../../src/runtime/train.js";
import { commandIo, runtimeUrl, scratch, tf, tfjs } from "./program.js";

const recipe = `model lesions {
  task classify(classes=["lesion", "normal"])
  input image(1, 32, 32)
  normalize zscore(per_image)
  backbone features: [conv_bn_act(8, 3, s=2), conv_bn_act(16, 3, s=2), conv_bn_act(32, 3, s=2)] | gap
  head mlp(16, dropout=0.1)
  optimizer adamw(lr=3e-3)
  augment flip(h)
  metrics accuracy, auroc
  stage warmup: freeze backbone, epochs 1
  stage finetune: unfreeze all, epochs 3
  batch 8
}
`;


beforeAll(() => writeFileSync(join(scratch, "lesions.medg"), recipe));

describe("medg build --target tfjs", () => {
  it("writes the program folder and says how to train it", async () => {
    const log = commandIo();
    expect(await buildTfjsCommand("lesions.medg", { runtimeModule: runtimeUrl }, log)).toBe(0);
    for (const f of ["model.js", "train.js", "plan.json", "package.json", "init.safetensors"]) expect(existsSync(join(scratch, "lesions-tfjs", f)), f).toBe(true);
    expect(log.lines[0]).toMatch(/^wrote lesions-tfjs\/: lesions as a tfjs program/);
    expect(log.lines[1]).toBe("  train it: node lesions-tfjs/train.js --data DIR");
  });

  it("rejects an unknown runtime", async () => {
    const log = commandIo();
    expect(await buildTfjsCommand("lesions.medg", { runtime: "tfjs-nod" }, log)).toBe(2);
    expect(log.lines[0]).toBe("error: medg build: unknown --runtime 'tfjs-nod' (did you mean 'tfjs-node'?); runtimes: auto, tfjs-node-gpu, tfjs-node, wasm, cpu, tfjs");
  });
});

describe("medg demo-data and medg train", () => {
  it("trains a tiny CNN in two stages to well above chance and keeps a best checkpoint that loads", async () => {
    const log = commandIo();
    expect(await demoDataCommand("demo", { size: "32", count: "80", seed: "1" }, log)).toBe(0);
    expect(log.lines[0]).toMatch(/^wrote 80 images to demo \(classify; train: 32 lesion, 32 normal; val: 8 lesion, 8 normal\)$/);

    const code = await trainCommand("lesions.medg", { data: "demo", out: "runs/lesions", runtime: "tfjs", runtimeModule: runtimeUrl }, log);
    expect(code, log.lines.join("\n")).toBe(0);
    const out = join(scratch, "runs", "lesions");
    const run = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as RunRecord;
    expect(run.status).toBe("completed");
    expect(run.epochs.map((e) => e.stage)).toEqual(["warmup", "finetune", "finetune", "finetune"]);
    expect(run.best!.metric).toBe("accuracy");
    expect(run.best!.value).toBeGreaterThanOrEqual(0.75);
    expect(log.lines.some((l) => l.startsWith("runtime: @tensorflow/tfjs"))).toBe(true);
    expect(log.lines.filter((l) => /^epoch \d\/4 /.test(l))).toHaveLength(4);

    // The best checkpoint holds every parameter by its IR name and reproduces the best accuracy.
    const plan = JSON.parse(readFileSync(join(out, "program", "plan.json"), "utf8")) as ProgramPlan;
    const best = loadCheckpoint(join(out, BEST));
    expect([...best.values.keys()].sort()).toEqual(plan.parameters.map((p) => p.name).sort());
    const model = (await import(join(out, "program", "model.js"))) as ModelModule;
    const opened = openImageFolder(join(scratch, "demo"));
    if (!opened.ok) throw new Error(opened.error);
    const val = opened.dataset.samples.filter((s) => s.split === "val");
    const images = val.map((s) => {
      const r = loadSample(s, { channels: 1, size: [32, 32] });
      if (!r.ok) throw new Error(r.error);
      return normalize(r.image, plan.normalize).data;
    });
    const x = tf.tensor(Float32Array.from(images.flatMap((d) => Array.from(d))), [val.length, 1, 32, 32]);
    const params = Object.fromEntries(plan.parameters.map((p) => [p.name, tf.tensor(best.values.get(p.name)!, p.shape)]));
    const predicted = tf.tidy(() => tf.argMax(model.forward(params as never, x as never, createForwardContext(tfjs)) as unknown as tf.Tensor, 1)).dataSync();
    const accuracy = val.filter((s, i) => predicted[i] === s.label).length / val.length;
    expect(accuracy).toBeCloseTo(run.best!.value, 6);

    // The checkpoint is ONNX export's --weights: onnxruntime gives the same logits.
    const compiled = compileFile(join(scratch, "lesions.medg"), { root: scratch });
    const exported = exportOnnx(compiled.models[0]!, { sourceText: recipe, weights: [{ file: join(out, BEST) }] });
    const session = await ort.InferenceSession.create(encodeModel(exported.model!));
    const onnx = (await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x.dataSync() as Float32Array, x.shape) }))[session.outputNames[0]!]!.data as Float32Array;
    const logits = tf.tidy(() => model.forward(params as never, x as never, createForwardContext(tfjs)) as unknown as tf.Tensor).dataSync();
    const scale = Math.max(...Array.from(onnx, Math.abs));
    expect(Math.max(...Array.from(onnx, (v, i) => Math.abs(v - logits[i]!))) / scale).toBeLessThan(1e-4);
    await session.release();
    expect(readFileSync(join(out, "curves.svg"), "utf8")).toContain("<svg");
  }, 120_000);

  it("refuses to overwrite a finished run without --resume", async () => {
    const log = commandIo();
    expect(await trainCommand("lesions.medg", { data: "demo", out: "runs/lesions", runtimeModule: runtimeUrl }, log)).toBe(1);
    expect(log.lines.at(-1)).toBe("error: medg train: runs/lesions already holds a run; continue it with --resume or choose another --out");
  });
});
