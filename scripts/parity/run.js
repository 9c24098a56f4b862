#!/usr/bin/env node
// Numeric parity of the ONNX export with torchvision: each torchvision-backed stdlib model gets
// torchvision's weights (random, seeded, every constant tensor drawn at random so that BatchNorm
// folding and layer scales matter), is built with `medg build --target onnx --weights
// backbone=FILE` and classes=1000, and runs in onnxruntime on the same 224x224 input as
// torchvision in eval mode. Prints max |ours - torchvision| against max |torchvision| per model
// (goal: relative <= 1e-4); torchvision's own float32 result is shown against the same float64
// reference for scale.
//
//   npm run build && npm run parity [-- MODEL...]
//
// The torchvision side needs PyTorch (Debian's python3-torchvision); without it this says so and
// exits 0. PYTHON names another interpreter.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const MODELS = [
  "resnet18", "resnet34", "resnet50", "resnet101",
  "densenet121", "densenet169",
  "efficientnet_b0", "efficientnet_b1", "efficientnet_b3",
  "vit_b_16", "swin_t", "swin_s", "convnext_tiny", "convnext_small",
];
const SEED = 0;
const SIZE = 224;
const GOAL = 1e-4;

const names = process.argv.slice(2);
for (const n of names) if (!MODELS.includes(n)) {
  console.error(`parity: unknown model '${n}'; models: ${MODELS.join(", ")}`);
  process.exit(2);
}
const models = names.length ? names : MODELS;

const python = process.env.PYTHON ?? "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import torch, torchvision"], { encoding: "utf8" });
if (probe.error || probe.status !== 0) {
  console.log(`parity: skipped: the torchvision side needs PyTorch and torchvision, which ${python} cannot import.`);
  console.log("Install Debian's python3-torchvision (apt-get install python3-torchvision), or set PYTHON to an interpreter that has them.");
  process.exit(0);
}

const cli = join(root, "bin/medg.js");
if (!existsSync(join(root, "dist/compile.js"))) {
  console.error("parity: dist/ is missing; run npm run build first");
  process.exit(1);
}
let ort;
try {
  ort = await import("onnxruntime-node");
} catch {
  console.error("parity: onnxruntime-node is not installed (npm ci installs it as a dev dependency)");
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), "medg-parity-"));
writeFileSync(join(dir, "medg.json"), "{}\n");
const floats = (file) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function compare(ours, theirs) {
  let [diff, max] = [0, 0];
  for (let i = 0; i < theirs.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
    max = Math.max(max, Math.abs(theirs[i]));
  }
  return { diff, max, relative: diff / max };
}

const rows = [];
let failed = false;
for (const name of models) {
  // One model at a time keeps the files (up to 200 MB of weights) and memory small.
  const py = spawnSync(python, [join(root, "scripts/parity/torchvision_side.py"), dir, String(SEED), String(SIZE), name], { encoding: "utf8" });
  if (py.status !== 0) {
    console.error(`parity: ${name}: the torchvision side failed:\n${py.stderr}`);
    failed = true;
    continue;
  }
  const weights = join(dir, `${name}.safetensors`);
  const file = join(dir, `${name}.medg`);
  const text = `model ${name}_parity {\n  input image(3, ${SIZE}, ${SIZE})\n  backbone ${name}(classes=1000)\n}\n`;
  writeFileSync(file, text);
  const onnxFile = join(dir, `${name}.onnx`);
  const build = spawnSync(process.execPath, [cli, "build", file, "--target", "onnx", "-o", onnxFile, "--weights", `backbone=${weights}`], { encoding: "utf8" });
  if (build.status !== 0) {
    console.error(`parity: ${name}: medg build failed:\n${build.stdout}${build.stderr}`);
    failed = true;
    continue;
  }
  // "wrote …: NAME, ONNX opset 17, 1234 nodes, 321 initializers, 97.5 MB, 53 bn folded"
  const summary = build.stdout.trim().split("\n").pop() ?? "";
  const count = (what) => Number(new RegExp(`(\\d+) ${what}`).exec(summary)?.[1] ?? NaN);
  const notes = `${build.stderr}`.split("\n").filter((l) => /MEDG\d+/.test(l) && !/: info /.test(l));
  const bytes = readFileSync(onnxFile);
  const session = await ort.InferenceSession.create(bytes);
  const input = floats(join(dir, `${name}.input.bin`));
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, [1, 3, SIZE, SIZE]) });
  const ours = out[session.outputNames[0]].data;
  await session.release();
  const reference = floats(join(dir, `${name}.output64.bin`));
  const torch32 = floats(join(dir, `${name}.output32.bin`));
  if (ours.length !== reference.length) {
    console.error(`parity: ${name}: ${ours.length} outputs, torchvision has ${reference.length}`);
    failed = true;
    continue;
  }
  const r = compare(ours, reference);
  const t = compare(torch32, reference);
  rows.push({ name, ...r, torch: t.relative, nodes: count("nodes"), folded: count("bn folded") || 0, notes });
  if (!(r.relative <= GOAL)) failed = true;
  for (const f of [weights, file, onnxFile]) rmSync(f, { force: true });
  process.stderr.write(`${name} done\n`);
}
rmSync(dir, { recursive: true, force: true });

const e = (v) => v.toExponential(2);
console.log(`\nONNX export (onnxruntime ${ort.env.versions?.common ?? ""}) against torchvision ${SIZE}x${SIZE}, 1000 classes, seed ${SEED}; reference: torchvision in float64`);
console.log("| model | max abs diff | max abs value | relative | torchvision float32, relative | ONNX nodes | bn folded |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows)
  console.log(`| ${r.name} | ${e(r.diff)} | ${r.max.toPrecision(3)} | ${e(r.relative)}${r.relative <= GOAL ? "" : " ✗"} | ${e(r.torch)} | ${r.nodes} | ${r.folded} |`);
for (const r of rows) for (const n of r.notes) console.log(`note: ${r.name}: ${n.trim()}`);
console.log(`\n${rows.filter((r) => r.relative <= GOAL).length} of ${models.length} within ${GOAL} relative`);
process.exitCode = failed ? 1 : 0;
