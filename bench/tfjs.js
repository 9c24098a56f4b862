#!/usr/bin/env node
// Training throughput of emitted tfjs programs against hand-written tfjs-layers models of the same
// architecture, on the same backend, batch, optimizer (Adam, lr 1e-3) and loss (softmax
// cross-entropy), with random data. Run with `npm run bench:tfjs` after `npm run build`.
//
//   node bench/tfjs.js [--models cnn[,resnet18]] [--steps N] [--warmup N] [--runtime tfjs|tfjs-node|auto]
//                      [--only emitted|layers] [--cpu-prof DIR] [--json FILE] [--from FILE]
//
// --json FILE keeps the raw measurements; --from FILE prints the table of such a file again.
//
// The emitted side is the real program: `medg build --target tfjs` writes it, its model.js runs the
// forward and the step is the one src/runtime/train.ts takes (bench/tfjs/worker.js). Each side runs
// in a fresh process, so the peak RSS printed is that side's own. Throughput is the batch over the
// median of the timed steps, after warm-up steps (the first step builds caches and tfjs's kernels).
// ResNet-18 is opt-in: on pure JS its tfjs-layers side takes minutes per step.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { root } from "./tfjs/common.js";

const { values: args } = parseArgs({
  options: {
    models: { type: "string", default: "cnn" },
    steps: { type: "string" },
    warmup: { type: "string" },
    runtime: { type: "string", default: "tfjs" },
    "cpu-prof": { type: "string" },
    json: { type: "string" },
    only: { type: "string" },
    from: { type: "string" },
  },
});

const CLASSES = 4;
const models = {
  cnn: {
    title: "small CNN 64×64×1",
    size: 64,
    channels: 1,
    batch: 16,
    steps: 5,
    warmup: 2,
    layers: "smallCnn",
    source: `model small_cnn {
  task classify(classes=${CLASSES})
  input image(1, 64, 64)
  backbone conv(16, 3, bias=false) | bn | relu | maxpool(2)
    | conv(32, 3, bias=false) | bn | relu | maxpool(2)
    | conv(64, 3, bias=false) | bn | relu
    | gap
  head fc: linear(${CLASSES})
  loss ce
  optimizer adam(lr=1e-3)
}
`,
  },
  resnet18: {
    title: "ResNet-18 64×64×1",
    size: 64,
    channels: 1,
    batch: 8,
    steps: 2,
    warmup: 1,
    layers: "resnet18",
    source: `model resnet18_bench {
  task classify(classes=${CLASSES})
  input image(1, 64, 64)
  backbone resnet18
  head fc: linear(${CLASSES})
  loss ce
  optimizer adam(lr=1e-3)
}
`,
  },
};

const chosen = args.models.split(",").map((m) => m.trim());
for (const m of chosen) if (!models[m]) throw new Error(`unknown model '${m}' (expected ${Object.keys(models).join(", ")})`);

const dir = args.from ? "" : mkdtempSync(join(tmpdir(), "medg-bench-tfjs-"));
const bin = join(root, "bin/medg.js");

function measure(impl, key, m, program) {
  const cfg = {
    impl,
    model: key,
    program,
    layers: m.layers,
    size: m.size,
    channels: m.channels,
    classes: CLASSES,
    batch: m.batch,
    lr: 1e-3,
    warmup: Math.max(1, Number(args.warmup ?? m.warmup)),
    steps: Math.max(1, Number(args.steps ?? m.steps)),
    runtime: args.runtime,
  };
  const flags = ["--expose-gc"];
  if (args["cpu-prof"]) {
    const profDir = join(args["cpu-prof"], `${key}-${impl}`);
    mkdirSync(profDir, { recursive: true });
    flags.push("--cpu-prof", "--cpu-prof-dir", profDir);
  }
  process.stderr.write(`${m.title}: ${impl} (${cfg.warmup} warm-up + ${cfg.steps} timed steps, batch ${m.batch}) …\n`);
  // tfjs's advice to install tfjs-node goes to stderr on every start; a worker's stderr is shown only when it fails.
  const r = spawnSync(process.execPath, [...flags, join(root, "bench/tfjs/worker.js"), JSON.stringify(cfg)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? "");
    throw new Error(`the ${impl} worker for ${key} failed (${r.signal ?? `exit ${r.status}`})`);
  }
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const results = args.from ? JSON.parse(readFileSync(args.from, "utf8")) : [];
for (const key of args.from ? [] : chosen) {
  const m = models[key];
  const file = join(dir, `${key}.medg`);
  writeFileSync(file, m.source);
  const program = join(dir, key);
  try {
    execFileSync(process.execPath, [bin, "build", file, "--target", "tfjs", "-o", program], { stdio: "pipe", encoding: "utf8" });
  } catch (e) {
    process.stderr.write(`medg build failed for ${key}:\n${e.stderr ?? e.message}`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  const layers = args.only === "emitted" ? null : measure("layers", key, m, program);
  const emitted = args.only === "layers" ? null : measure("emitted", key, m, program);
  results.push({ key, title: m.title, batch: m.batch, layers, emitted });
}

if (dir) rmSync(dir, { recursive: true, force: true });

const mb = (b) => (b / 2 ** 20).toFixed(0);
const rows = [["model", "batch", "implementation", "img/s", "step ms (median, min–max)", "CPU ms/step", "emitted / layers", "tf peak MB", "tf at rest MB", "RSS peak MB", "heap peak MB"]];
for (const r of results) {
  for (const side of ["layers", "emitted"]) {
    const s = r[side];
    if (!s) continue;
    const ratio = side === "emitted" && r.layers ? `${(r.layers.medianMs / s.medianMs).toFixed(2)}× (CPU ${(r.layers.medianCpuMs / s.medianCpuMs).toFixed(2)}×)` : "";
    rows.push([
      r.title,
      String(r.batch),
      side === "layers" ? "tfjs-layers (hand-written)" : "medg emitted program",
      s.imagesPerSecond.toPrecision(3),
      `${s.medianMs.toFixed(0)} (${Math.min(...s.times).toFixed(0)}–${Math.max(...s.times).toFixed(0)})`,
      s.medianCpuMs.toFixed(0),
      ratio,
      mb(s.tfPeakBytes),
      mb(s.tfBytesAtRest),
      mb(s.rssPeak),
      mb(s.heapPeak),
    ]);
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(`backend: ${(results[0]?.emitted ?? results[0]?.layers)?.backend ?? "?"} (@tensorflow/${args.runtime === "auto" ? "auto" : args.runtime}), Node ${process.version}, Adam lr 1e-3, softmax cross-entropy, random data`);
console.log(line(rows[0]));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows.slice(1)) console.log(line(r));
console.log("goal: emitted / layers ≥ 1.0×. tf peak: tf.profile's high-water mark of tensor bytes in one step; RSS peak: the worker process's maxRSS;\nheap peak: the largest V8 heapUsed seen after a step. CPU ms/step near the step ms means the machine was otherwise idle.");
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
