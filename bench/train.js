#!/usr/bin/env node
// Training throughput of the tfjs runtimes against PyTorch on this machine, side by side:
// ResNet-18 and EfficientNet-B0 at 64x64, batch 16, AdamW + cross-entropy, on fixed synthetic
// batches. Each runtime runs in a process of its own (the wasm backend is one instance per
// process); PyTorch runs from python3 when it imports torch and torchvision. The wasm and pure-JS
// runs start from the same weights and see the same batches; their losses are printed side by side
// over the first --compare steps both ran, and PyTorch's on its two thread counts (on a large
// network runs part after a few steps, as a run's own do when its input moves by 1e-7: see
// docs/tfjs.md).
//
//   npm run bench:train                       # both models: PyTorch on its default and 2 threads,
//                                             # wasm on 1 and 2 threads (20 steps), pure JS (3 steps)
//   node bench/train.js --models resnet18 --steps 6 --runtimes torch,wasm:2
//   node bench/train.js --models resnet18 --runtimes wasm,cpu --cpu-steps 20 --optimizer sgd
//
// The source is bundled with esbuild into dist/bench (beside the build's output), so no build is
// needed. Pure JS takes 30–60 s a ResNet-18 step, so it runs --cpu-steps steps (default 3).
// "images per CPU-second" counts the process's CPU time: on a machine shared with other work it
// does not count the time others took, as the wall clock does.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bundleSource, root } from "./source.js";

const bundle = join(root, "dist", "bench", "medg.mjs");

const { values: opts } = parseArgs({
  options: {
    models: { type: "string", default: "resnet18,efficientnet_b0" },
    runtimes: { type: "string", default: "torch,torch:2,wasm,wasm:2,cpu" },
    steps: { type: "string", default: "20" },
    "cpu-steps": { type: "string", default: "3" },
    compare: { type: "string", default: "20" },
    size: { type: "string", default: "64" },
    batch: { type: "string", default: "16" },
    threads: { type: "string", default: "1" },
    optimizer: { type: "string", default: "adamw" },
    python: { type: "string" },
    worker: { type: "string" },
  },
});

/** The step's optimizer (the same in PyTorch): AdamW, or SGD with momentum for a loss comparison Adam's sign-like first steps do not amplify. */
const OPTIMIZERS = {
  adamw: { label: "AdamW", name: "adamw", lr: 1e-3, args: { weight_decay: 1e-4 } },
  sgd: { label: "SGD (momentum 0.9, lr 1e-2)", name: "sgd", lr: 1e-2, args: { momentum: 0.9, weight_decay: 1e-4 } },
};

// ---- a worker: one model on one tfjs runtime ----

/** Deterministic batches: uniform [-1, 1) images, labels cycling over the classes. */
function batchAt(step, batch, size, classes) {
  let s = (step * 2654435761 + 12345) >>> 0 || 1;
  const x = new Float32Array(batch * 3 * size * size);
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
  const y = Int32Array.from({ length: batch }, (_, i) => (i + step) % classes);
  return { x, y };
}

async function worker(spec) {
  const m = await import(pathToFileURL(bundle).href);
  const loaded = await m.loadTf({ prefer: spec.runtime, threads: spec.threads, searchDirs: [root] });
  const tf = loaded.tf;
  const dir = mkdtempSync(join(tmpdir(), "medg-bench-train-"));
  writeFileSync(join(dir, "medg.json"), "{}\n");
  const file = join(dir, "m.medg");
  writeFileSync(file, `model bench_${spec.model} {\n  task classify(classes=10)\n  input image(3, ${spec.size}, ${spec.size})\n  backbone ${spec.model}(classes=10)\n}\n`);
  const compiled = m.compileFile(file, { root: dir });
  const errors = compiled.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  const model = compiled.models[0];
  const program = await m.emitTfjsProgram(model, { runtime: pathToFileURL(bundle).href });
  writeFileSync(join(dir, "model.js"), program.files["model.js"]);
  const module = await import(pathToFileURL(join(dir, "model.js")).href);
  const initial = m.initialValues(model.graph, { seed: 0 });
  const params = {};
  for (const p of model.graph.params.values()) params[p.name] = tf.variable(tf.tensor(initial.get(p.name), [...p.shape]), !p.buffer, p.name);
  const trainable = [...model.graph.params.values()].filter((p) => !p.buffer).map((p) => params[p.name]);
  const { name, lr, args } = OPTIMIZERS[spec.optimizer];
  const optimizer = m.makeOptimizer(tf, { name, args }, { lr });
  const loss = m.makeLoss(tf, { terms: [{ weight: 1, entry: { name: "ce", args: { label_smoothing: 0, ignore_index: null } } }] }, { classes: 10, multilabel: false });
  const losses = [];
  const seconds = [];
  const cpuSeconds = [];
  for (let step = 0; step < spec.steps; step++) {
    const data = batchAt(step, spec.batch, spec.size, 10);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const x = tf.tensor(data.x, [spec.batch, 3, spec.size, spec.size]);
    const y = tf.tensor(data.y, [spec.batch], "int32");
    const ctx = m.createForwardContext(tf, { training: true, seed: 0, step });
    const { value, grads } = tf.variableGrads(() => {
      const out = module.forward(params, x, ctx);
      return loss(Array.isArray(out) ? out[0] : out, y);
    }, trainable);
    optimizer.step(trainable, trainable.map((v) => grads[v.name]), lr);
    for (const u of ctx.updates) {
      u.target.assign(u.value);
      u.value.dispose();
    }
    losses.push((await value.data())[0]);
    seconds.push((performance.now() - t0) / 1000);
    const c1 = process.cpuUsage(c0);
    cpuSeconds.push((c1.user + c1.system) / 1e6);
    tf.dispose([value, x, y, ...Object.values(grads)]);
  }
  return { runtime: loaded.description, losses, seconds, cpuSeconds };
}

// ---- PyTorch, the same step ----

const torchScript = `
import json, sys, time
spec = json.loads(sys.argv[1])
import torch, torchvision
if spec["threads"] > 0: torch.set_num_threads(spec["threads"])
torch.manual_seed(0)
model = getattr(torchvision.models, spec["model"])(num_classes=10)
model.train()
o = spec["optimizer"]
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4) if o == "adamw" else torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, weight_decay=1e-4)
ce = torch.nn.CrossEntropyLoss()
b, s = spec["batch"], spec["size"]
g = torch.Generator().manual_seed(1)
seconds, cpu_seconds, losses = [], [], []
for step in range(spec["steps"]):
    x = torch.rand(b, 3, s, s, generator=g) * 2 - 1
    y = torch.tensor([(i + step) % 10 for i in range(b)])
    t0, c0 = time.perf_counter(), time.process_time()
    opt.zero_grad()
    loss = ce(model(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
    seconds.append(time.perf_counter() - t0)
    cpu_seconds.append(time.process_time() - c0)
print(json.dumps({"runtime": "PyTorch %s (%d thread%s)" % (torch.__version__, torch.get_num_threads(), "" if torch.get_num_threads() == 1 else "s"), "losses": losses, "seconds": seconds, "cpuSeconds": cpu_seconds}))
`;

/** The first python with torch and torchvision (Debian's python3-torch lives in /usr/bin/python3). */
function python() {
  for (const candidate of opts.python ? [opts.python] : ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(candidate, ["-c", "import torch, torchvision"], { encoding: "utf8" });
    if (r.status === 0) return { ok: candidate };
  }
  return { error: `no python with torch and torchvision (tried ${opts.python ?? "python3, /usr/bin/python3"})` };
}

function runTorch(spec) {
  const py = python();
  if (py.error) return py;
  const r = spawnSync(py.ok, ["-c", torchScript, JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr.trim().split("\n").at(-1) ?? "failed").slice(0, 200) };
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

function runWorker(spec) {
  const r = spawnSync(process.execPath, ["--max-old-space-size=8192", fileURLToPath(import.meta.url), "--worker", JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr.trim().split("\n").filter((l) => /^\w*Error\b/.test(l)).at(0) ?? `exit ${r.status}`).slice(0, 200) };
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

const medgExports = [
  `export * from "./src/runtime/index.ts";`,
  `export { compileFile } from "./src/compile.ts";`,
  `export { emitTfjsProgram } from "./src/backends/tfjs/emit.ts";`,
  `export { initialValues } from "./src/weights/init.ts";`,
];

/**
 * Images per second over the steps after the first (warm-up: kernel setup, JIT, allocation), of
 * wall-clock time or of CPU time (all threads together). On a machine shared with other work the
 * wall clock of a one-thread run counts the time others took; its CPU time does not.
 */
function throughput(r, batch, clock = "seconds") {
  const times = r[clock];
  const timed = times.length > 1 ? times.slice(1) : times;
  return (batch * timed.length) / timed.reduce((a, b) => a + b, 0);
}

if (opts.worker) {
  const result = await worker(JSON.parse(opts.worker));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  await bundleSource("medg", medgExports);
  const models = opts.models.split(",");
  // NAME or NAME:THREADS (torch, wasm, cpu); a bare torch keeps PyTorch's default thread count.
  const runtimes = opts.runtimes.split(",").map((label) => {
    const [name, threads] = label.split(":");
    return { label, name, threads: threads === undefined ? (name === "torch" ? 0 : Number(opts.threads)) : Number(threads) };
  });
  if (!OPTIMIZERS[opts.optimizer]) throw new Error(`--optimizer is adamw or sgd, got ${opts.optimizer}`);
  const common = { steps: Number(opts.steps), size: Number(opts.size), batch: Number(opts.batch), optimizer: opts.optimizer };
  const compare = Math.min(Number(opts.compare), common.steps);
  console.log(`training throughput, ${common.size}x${common.size}, batch ${common.batch}, ${OPTIMIZERS[opts.optimizer].label} + cross-entropy, ${common.steps} steps (pure JS ${opts["cpu-steps"]}; the first not timed), ${cpus().length} cores`);
  const rows = [];
  for (const model of models) {
    const results = {};
    for (const { label, name, threads } of runtimes) {
      const steps = name === "cpu" ? Math.min(common.steps, Number(opts["cpu-steps"])) : common.steps;
      const spec = { ...common, steps, model, runtime: name, threads };
      const r = name === "torch" ? runTorch(spec) : runWorker(spec);
      results[label] = r;
      const line = r.error
        ? `not run (${r.error})`
        : `${throughput(r, common.batch).toFixed(2)} img/s  ${((1000 * common.batch) / throughput(r, common.batch)).toFixed(0)} ms/step  ${throughput(r, common.batch, "cpuSeconds").toFixed(2)} img/CPU-s  ${r.runtime}`;
      console.log(`  ${model.padEnd(16)} ${label.padEnd(8)} ${line}`);
    }
    const torchRuns = runtimes.filter((r) => r.name === "torch" && !results[r.label].error);
    const torch = torchRuns.length ? Math.max(...torchRuns.map((r) => throughput(results[r.label], common.batch))) : null;
    for (const { label } of runtimes.filter((r) => !results[r.label].error)) {
      const ips = throughput(results[label], common.batch);
      rows.push({ model, runtime: label, ips, cpu: throughput(results[label], common.batch, "cpuSeconds"), slower: torch ? torch / ips : null });
    }
    // Losses side by side: wasm against pure JS (the same weights and batches), and PyTorch on one
    // thread count against another (its own float32 spread on this model).
    const ran = (name) => runtimes.filter((r) => r.name === name && !results[r.label].error);
    const pairs = [[ran("wasm")[0], ran("cpu")[0]], [ran("torch")[0], ran("torch")[1]]].filter(([a, b]) => a && b);
    for (const [a, b] of pairs) {
      const [la, lb] = [results[a.label].losses, results[b.label].losses];
      const n = Math.min(compare, la.length, lb.length);
      const gaps = la.slice(0, n).map((v, i) => Math.abs(v - lb[i]) / Math.abs(lb[i]));
      const gap = Math.max(...gaps);
      console.log(`  ${model.padEnd(16)} losses ${a.label} vs ${b.label} over ${n} steps: max relative difference ${gap.toExponential(2)} (${gap <= 1e-3 ? "within" : "OUTSIDE"} 1e-3)`);
      console.log(`    ${a.label.padEnd(8)} ${la.slice(0, n).map((v) => v.toFixed(6)).join(" ")}\n    ${b.label.padEnd(8)} ${lb.slice(0, n).map((v) => v.toFixed(6)).join(" ")}`);
      console.log(`    relative ${gaps.map((g) => g.toExponential(1)).join(" ")}`);
    }
    if (torch === null && torchRuns.length < runtimes.filter((r) => r.name === "torch").length) {
      const failed = runtimes.find((r) => r.name === "torch");
      console.log(`  ${model.padEnd(16)} PyTorch not run: ${results[failed.label].error}`);
    }
  }
  console.log("\n| model | runtime | images/s | images per CPU-second | fastest PyTorch is × faster |\n|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.model} | ${r.runtime} | ${r.ips.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.slower === null ? "—" : r.slower.toFixed(1)} |`);
}
