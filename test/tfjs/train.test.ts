/**
 * The training loop on a tiny CNN and a tiny synthetic dataset: freezing, --resume, NaN handling,
 * early stopping. Each run takes a few seconds on pure-JS tfjs.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/runtime/checkpoint.js";
import type { ModelModule } from "../../src/runtime/program.js";
import { runTraining, type RunRecord } from "../../src/runtime/train.js";
import { writeDemoData } from "../../src/runtime/demo-data.js";
import { buildProgram, quietIo, scratch, tf, tfjs, type Program } from "./program.js";

const data = join(scratch, "demo16");

const twoStage = `model tiny {
  task classify(classes=["lesion", "normal"])
  input image(1, 16, 16)
  normalize zscore(per_image)
  backbone features: [conv_bn_act(4, 3, s=2), conv_bn_act(8, 3, s=2)] | gap
  head mlp(8, dropout=0.2)
  augment flip(h) | rotate(10)
  stage warmup: freeze backbone, epochs 1
  stage finetune: unfreeze all, epochs 2, lr 3e-3
  batch 8
}
`;

let program: Program;

beforeAll(async () => {
  writeDemoData(data, { task: "classify", size: 16, count: 32, seed: 3 });
  program = await buildProgram(twoStage);
});

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const train = (out: string, extra: Partial<Parameters<typeof runTraining>[0]> = {}, p: Program = program) =>
  runTraining({ tf: tfjs, model: p.model, plan: p.plan, initial: p.initial, data, out: join(scratch, out), io: quietIo(), ...extra });

describe("runTraining", () => {
  it("leaves frozen parameters and the statistics of frozen batch norms bitwise unchanged", async () => {
    const r = await train("frozen", { maxEpochs: 1 });
    expect(r.status).toBe("stopped");
    const last = loadCheckpoint(join(scratch, "frozen", "last.safetensors")).values;
    const backbone = [...last.keys()].filter((n) => n.startsWith("backbone."));
    expect(backbone.some((n) => n.endsWith("running_mean"))).toBe(true);
    for (const name of backbone) expect(sameBits(last.get(name)!, program.initial.get(name)!), name).toBe(true);
    const head = [...last.keys()].filter((n) => n.startsWith("head.") && n.endsWith("weight"));
    for (const name of head) expect(sameBits(last.get(name)!, program.initial.get(name)!), name).toBe(false);
  });

  it("continues with --resume to the same result as an uninterrupted run", async () => {
    const tensors = tf.memory().numTensors;
    const whole = await train("whole");
    expect(tf.memory().numTensors).toBe(tensors);
    expect(whole.status).toBe("completed");
    expect(whole.epochs).toHaveLength(3);
    // Interrupted inside the second stage, so optimizer state and dropout noise must carry over.
    expect((await train("parts", { maxEpochs: 2 })).status).toBe("stopped");
    const resumed = await train("parts", { resume: true });
    expect(resumed.status).toBe("completed");
    const a = loadCheckpoint(join(scratch, "whole", "last.safetensors")).values;
    const b = loadCheckpoint(join(scratch, "parts", "last.safetensors")).values;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, v] of a) expect(sameBits(v, b.get(name)!), name).toBe(true);
    const strip = (r: RunRecord) => r.epochs.map(({ seconds: _s, imagesPerSecond: _i, ...e }) => e);
    const runOf = (dir: string) => JSON.parse(readFileSync(join(scratch, dir, "run.json"), "utf8")) as RunRecord;
    expect(strip(runOf("parts"))).toEqual(strip(runOf("whole")));
    expect(runOf("parts").status).toBe("completed");
    expect(existsSync(join(scratch, "whole", "curves.svg"))).toBe(true);
  });

  it("stops on a NaN loss, keeping the last good checkpoint", async () => {
    let calls = 0;
    const trainImages = ["lesion", "normal"].reduce((n, c) => n + readdirSync(join(data, "train", c)).length, 0);
    const stepsPerEpoch = Math.ceil(trainImages / program.plan.batch!);
    const poisoned: ModelModule = {
      name: program.model.name,
      forward(p, x, ctx) {
        const y = program.model.forward(p, x, ctx) as tf.Tensor;
        return (ctx.training && ++calls > stepsPerEpoch ? tf.mul(y, NaN) : y) as never;
      },
    };
    const io = quietIo();
    const tensors = tf.memory().numTensors;
    const r = await runTraining({ tf: tfjs, model: poisoned, plan: program.plan, initial: program.initial, data, out: join(scratch, "nan"), io });
    expect(r.status).toBe("nan");
    expect(r.epochs).toHaveLength(1);
    expect(loadCheckpoint(join(scratch, "nan", "last.safetensors")).metadata.epoch).toBe("1");
    expect(JSON.parse(readFileSync(join(scratch, "nan", "run.json"), "utf8")).status).toBe("nan");
    expect(io.lines.some((l) => l.includes("the loss became NaN in epoch 2"))).toBe(true);
    // Nothing is left behind, not even by the step that failed.
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it("ends a stage early when the monitored metric stops improving", async () => {
    const still = await buildProgram(`model still {
  task classify(classes=["lesion", "normal"])
  input image(1, 16, 16)
  backbone conv(4, 3, s=2) | relu | gap
  head linear
  optimizer sgd(momentum=0)
  stage epochs 4
}
`);
    // A zero learning rate: nothing moves, so the validation loss never improves after epoch 1.
    const plan = { ...still.plan, stages: still.plan.stages.map((s) => ({ ...s, lr: 0 })) };
    const r = await runTraining({ tf: tfjs, model: still.model, plan, initial: still.initial, data, out: join(scratch, "early"), io: quietIo(), monitor: "val_loss", patience: 1 });
    expect(r.status).toBe("completed");
    expect(r.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(r.epochs[1]!.earlyStop).toBe(true);
    expect(r.best?.epoch).toBe(1);
  });

  it("learns PReLU slopes, one shared and one per channel, in the emitted program", async () => {
    const prelu = await buildProgram(`model slopes {
  task classify(classes=["lesion", "normal"])
  input image(1, 16, 16)
  backbone c1: conv(4, 3, s=2) | a1: prelu | c2: conv(4, 3, s=2) | a2: prelu(num_parameters=4) | gap
  head linear
  stage epochs 1, lr 1e-2
}
`);
    expect(prelu.initial.get("backbone.a1.weight")).toEqual(Float32Array.of(0.25));
    expect(prelu.initial.get("backbone.a2.weight")).toEqual(new Float32Array(4).fill(0.25));
    const r = await runTraining({ tf: tfjs, model: prelu.model, plan: prelu.plan, initial: prelu.initial, data, out: join(scratch, "prelu"), io: quietIo() });
    expect(r.status).toBe("completed");
    const last = loadCheckpoint(join(scratch, "prelu", "last.safetensors")).values;
    for (const name of ["backbone.a1.weight", "backbone.a2.weight"]) {
      const slopes = last.get(name)!;
      expect(slopes.every(Number.isFinite), name).toBe(true);
      expect(slopes.every((v) => v !== 0.25), name).toBe(true);
    }
  });

  it("reports a data set whose classes do not match the model's outputs", async () => {
    const three = await buildProgram(twoStage.replace('classes=["lesion", "normal"]', "classes=3"));
    await expect(runTraining({ tf: tfjs, model: three.model, plan: three.plan, initial: three.initial, data, out: join(scratch, "mismatch"), io: quietIo() })).rejects.toThrow(
      /outputs 3 values per image, but .* has 2 classes/,
    );
  });
});
