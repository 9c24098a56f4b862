#!/usr/bin/env node
// BatchNorm folding on ResNet-50 with weights (the init rules' values, 25.6 M parameters): the
// fold alone, and fold + ONNX emission + encoding, median of 9 runs, each on a fresh graph and
// fresh copies of the values. Run `npm run build` first.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { compileFile } = await import(join(root, "dist/compile.js"));
const { initialValues } = await import(join(root, "dist/weights/init.js"));
const { foldBatchNorm } = await import(join(root, "dist/passes/fold-batchnorm.js"));
const { prepareForInference } = await import(join(root, "dist/passes/inference.js"));
const { emitOnnx } = await import(join(root, "dist/backends/onnx/emit.js"));
const { encodeModel } = await import(join(root, "dist/backends/onnx/export.js"));

const RUNS = 9;
const dir = mkdtempSync(join(tmpdir(), "medg-bench-fold-"));
writeFileSync(join(dir, "medg.json"), "{}\n");
const file = join(dir, "resnet50.medg");
const text = "model r {\n  input image(3, 224, 224)\n  backbone resnet50(classes=1000)\n}\n";
writeFileSync(file, text);
const compile = () => compileFile(file, { root: dir }).models[0];
const base = initialValues(compile().graph, { seed: 0 });
const fresh = () => new Map([...base].map(([k, v]) => [k, v.slice()]));

const fold = [];
const exported = [];
for (let i = 0; i < RUNS; i++) {
  let model = compile();
  let values = fresh();
  let t = performance.now();
  foldBatchNorm(model.graph, values);
  fold.push(performance.now() - t);
  model = compile();
  values = fresh();
  t = performance.now();
  prepareForInference(model.graph, values);
  encodeModel(emitOnnx(model, values, { sourceText: text }).model);
  exported.push(performance.now() - t);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
console.log(`resnet50: foldBatchNorm ${median(fold)} ms, fold + emit + encode ${median(exported)} ms (median of ${RUNS})`);
