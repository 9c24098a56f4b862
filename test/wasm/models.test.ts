/**
 * Every stdlib backbone trains on the wasm backend: a forward in training mode (seeded dropout and
 * stochastic depth) and the gradient of ⟨output, g⟩ for every parameter, on wasm and on pure JS
 * from the same weights and input, agree to 1e-4 relative (max |Δ| over max |pure JS|, across all
 * parameters at once).
 *
 * Batch norm runs on its running statistics here. With batch statistics its gradient is a
 * difference of nearly equal sums over the batch, and the backends sum in different orders (pure
 * JS in float64, the wasm backend in float32): at these tiny batches that alone moves a deep
 * network's gradients by more than 1e-4, on either backend, for a 1e-7 change of the input. Batch
 * statistics are covered by train.test.ts (losses over 20 steps) and the bench.
 *
 * CI runs a set that covers every op kind of the stdlib (strided, grouped, depthwise and 1x1
 * convolutions, pools, batch and layer norm, squeeze-excitation, attention, shifted windows with
 * their gathered position bias, concatenation, a U-Net's decoder); MEDG_WASM_MODELS=all runs every
 * backbone and segmenter listed.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitTfjsProgram } from "../../src/backends/tfjs/emit.js";
import { compileFile, type CheckedModel } from "../../src/compile.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import type { ModelModule } from "../../src/runtime/program.js";
import { initialValues } from "../../src/weights/init.js";
import { on, rng, tf, tfjs } from "./harness.js";

const scratch = mkdtempSync(join(tmpdir(), "medg-wasm-models-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
const runtime = pathToFileURL(fileURLToPath(new URL("../../src/runtime/index.ts", import.meta.url))).href;

interface Spec {
  name: string;
  size: number;
  ci: boolean;
}

const models: Spec[] = [
  { name: "resnet18", size: 32, ci: true },
  { name: "resnet50", size: 32, ci: false },
  { name: "densenet121", size: 32, ci: false },
  { name: "efficientnet_b0", size: 32, ci: true },
  { name: "convnext_tiny", size: 32, ci: false },
  { name: "deit_ti", size: 32, ci: true },
  { name: "vit_b_16", size: 32, ci: false },
  { name: "swin_t", size: 64, ci: false },
  // Segmenters: max pooling, transposed and upsampling decoders, instance norm, resizing gathers.
  { name: "unet2015(classes=2, base=8, depth=3)", size: 32, ci: true },
  { name: "monai_unet(classes=2, num_res_units=1)", size: 32, ci: false },
  { name: "segformer_b0(classes=2)", size: 64, ci: false },
  { name: "swin_unet(classes=2, dim=24, heads=[1, 2, 3, 4], window=2)", size: 64, ci: false },
];
const all = process.env.MEDG_WASM_MODELS === "all";

async function load(name: string, size: number): Promise<{ model: CheckedModel; module: ModelModule }> {
  const safe = name.replace(/[^a-z0-9_]/g, "_").slice(0, 40) + String(Math.random()).slice(2, 8);
  const file = join(scratch, `${safe}.medg`);
  const backbone = /^[a-z0-9_]+$/.test(name) ? `${name}(classes=5)` : name;
  writeFileSync(file, `model m_${safe} {\n  input image(3, ${size}, ${size})\n  backbone ${backbone}\n}\n`);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  const model = r.models[0]!;
  const program = await emitTfjsProgram(model, { runtime });
  const dir = mkdtempSync(join(scratch, `${safe}-`));
  writeFileSync(join(dir, "model.js"), program.files["model.js"]!);
  return { model, module: (await import(pathToFileURL(join(dir, "model.js")).href)) as ModelModule };
}

/** Largest |Δ| over largest |pure JS| of the output, and of all parameter gradients together. */
export async function modelGap(backbone: string, size: number, batch = 2): Promise<{ output: number; gradients: number }> {
  const { model, module } = await load(backbone, size);
  const values = initialValues(model.graph, { seed: 1 });
  const trained = [...model.graph.params.values()].filter((p) => !p.buffer);
  const buffers = [...model.graph.params.values()].filter((p) => p.buffer);
  const x = rng(3).values(batch * 3 * size * size);
  const run = (backend: "cpu" | "wasm") =>
    on(backend, () => {
      const fixed = Object.fromEntries(buffers.map((p) => [p.name, tf.tensor(values.get(p.name)!, [...p.shape])]));
      const forward = (...ps: tf.Tensor[]) => {
        const params = { ...fixed, ...Object.fromEntries(trained.map((p, i) => [p.name, ps[i]!])) };
        const ctx = createForwardContext(tfjs, { training: true, seed: 5, step: 2 });
        const y = module.forward(params as never, tf.tensor(x, [batch, 3, size, size]) as never, ctx);
        return (Array.isArray(y) ? y[0] : y) as unknown as tf.Tensor;
      };
      // Batch norm's own weights as frozen variables: it then runs on its running statistics (their
      // gradients are still asked for); every other parameter a plain tensor, as trainable.
      const ps = trained.map((p) => {
        const t = tf.tensor(values.get(p.name)!, [...p.shape]);
        return p.node.op === "bn" ? tf.variable(t, false) : t;
      });
      const y = forward(...ps);
      const g = tf.tensor(rng(4).values(y.size), y.shape);
      return [y, ...tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(forward(...args), g)))(ps)];
    });
  const expected = await run("cpu");
  const actual = await run("wasm");
  const gap = (from: number, to: number) => {
    let err = 0;
    let scale = 1e-12;
    for (let k = from; k < to; k++)
      for (let i = 0; i < expected[k]!.length; i++) {
        err = Math.max(err, Math.abs(actual[k]![i]! - expected[k]![i]!));
        scale = Math.max(scale, Math.abs(expected[k]![i]!));
      }
    return err / scale;
  };
  return { output: gap(0, 1), gradients: gap(1, expected.length) };
}

describe("stdlib models train on the wasm backend", () => {
  for (const spec of models.filter((m) => all || m.ci)) {
    it(
      `${spec.name} at ${spec.size}×${spec.size}: output and every parameter's gradient as on pure JS`,
      async () => {
        const gap = await modelGap(spec.name, spec.size);
        expect(gap.output).toBeLessThanOrEqual(1e-4);
        expect(gap.gradients).toBeLessThanOrEqual(1e-4);
      },
      600_000,
    );
  }
});
