#!/usr/bin/env node
// ONNX backend timings on this machine, medg against torch.onnx, side by side:
//   (a) export of ResNet-50 with a weights file: `medg build` in-process (median of several runs)
//       and torch.onnx.export of torchvision's resnet50 (when PyTorch is installed);
//   (b) onnxruntime-node inference, 2 intra-op threads, batch 1, 224x224: median and p90 latency
//       of our resnet50, efficientnet_b0 and swin_t against torch.onnx exports (opset 17) of the
//       torchvision models, with node counts.
// Run `npm run build` first. `--profile` adds the latencies with subnormals flushed to zero and,
// per model, onnxruntime's kernel time by op type (from its session profiler) for both graphs.
// PYTHON names another interpreter than /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const profile = process.argv.includes("--profile");
const MODELS = ["resnet50", "efficientnet_b0", "swin_t"];
const EXPORT_RUNS = 7;
const WARMUP = 5;
const RUNS = 40;
const THREADS = 2;
const PROFILE_RUNS = 20;

let main, compileFile, initialValues, writeSafetensorsSync;
try {
  ({ main } = await import(join(root, "dist/cli/main.js")));
  ({ compileFile } = await import(join(root, "dist/compile.js")));
  ({ initialValues } = await import(join(root, "dist/weights/init.js")));
  ({ writeSafetensorsSync } = await import(join(root, "dist/weights/safetensors.js")));
} catch (e) {
  console.error(`bench: cannot load dist/ (${e.message}); run npm run build first`);
  process.exit(1);
}
const ort = await import("onnxruntime-node");

const dir = mkdtempSync(join(tmpdir(), "medg-bench-onnx-"));
writeFileSync(join(dir, "medg.json"), "{}\n");
const python = process.env.PYTHON ?? "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import torch, torchvision"], { encoding: "utf8" });
const haveTorch = !probe.error && probe.status === 0;

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
}

// ---- our models and weights ----

function modelFile(name) {
  const file = join(dir, `${name}.medg`);
  writeFileSync(file, `model ${name}_bench {\n  input image(3, 224, 224)\n  backbone ${name}(classes=1000)\n}\n`);
  return file;
}

/** A weights file named as the reference state_dict, with the init rules' values (no download needed). */
function weightsFile(name, file) {
  const compiled = compileFile(file, { root: dir }).models[0];
  const values = initialValues(compiled.graph, { seed: 0 });
  const out = join(dir, `${name}.safetensors`);
  const prefix = "backbone.";
  const tensors = [...compiled.graph.params.values()].map((p) => ({ name: p.name.slice(prefix.length), shape: p.shape, data: values.get(p.name) }));
  const written = writeSafetensorsSync(out, tensors);
  if (!written.ok) throw new Error(written.error.message);
  return out;
}

const quiet = { out: () => {}, err: (t) => process.stderr.write(`${t}\n`), cwd: dir };

/** `medg build FILE --target onnx -o OUT --weights backbone=W`, in this process. */
async function build(file, weights, out) {
  const code = await main(["build", file, "--target", "onnx", "-o", out, "--weights", `backbone=${weights}`], quiet);
  if (code !== 0) throw new Error(`medg build ${file} failed (${code})`);
}

// ---- (a) export time ----

const rn50 = modelFile("resnet50");
const rn50Weights = weightsFile("resnet50", rn50);
const ourOnnx = Object.fromEntries(MODELS.map((m) => [m, join(dir, `${m}.onnx`)]));
await build(rn50, rn50Weights, ourOnnx.resnet50); // warm-up: module loading, stdlib prelude
const exportTimes = [];
for (let i = 0; i < EXPORT_RUNS; i++) {
  const t = performance.now();
  await build(rn50, rn50Weights, ourOnnx.resnet50);
  exportTimes.push(performance.now() - t);
}
const cold = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [join(root, "bin/medg.js"), "build", rn50, "--target", "onnx", "-o", join(dir, "cold.onnx"), "--weights", `backbone=${rn50Weights}`]);
  if (r.status !== 0) throw new Error(`medg build (process) failed: ${r.stderr}`);
  cold.push(performance.now() - t);
}

let torchExport = null;
const torchOnnx = {};
if (haveTorch) {
  const py = spawnSync(python, [join(root, "scripts/parity/torch_onnx.py"), dir, "1", ...MODELS.filter((m) => m !== "resnet50")], { encoding: "utf8" });
  const rn = spawnSync(python, [join(root, "scripts/parity/torch_onnx.py"), dir, "5", "resnet50"], { encoding: "utf8" });
  for (const r of [py, rn]) {
    if (r.status !== 0) {
      console.error(`bench: torch.onnx.export failed:\n${r.stderr}`);
      continue;
    }
    for (const line of r.stdout.trim().split("\n")) {
      const j = JSON.parse(line);
      torchOnnx[j.name] = j.file;
      if (j.name === "resnet50") torchExport = stats(j.seconds.map((s) => s * 1000));
    }
  }
}

// ---- (b) inference latency ----

for (const m of MODELS) if (m !== "resnet50") await build(modelFile(m), weightsFile(m, join(dir, `${m}.medg`)), ourOnnx[m]);

function sessionOptions(prefix) {
  return {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: "sequential",
    logSeverityLevel: 3,
    graphOptimizationLevel: "all",
    ...(prefix ? { enableProfiling: true, profileFilePrefix: join(dir, prefix) } : {}),
  };
}

/** Node count and op types of an ONNX file (decoded with medg's own ONNX protobuf bindings). */
async function nodeCounts(file) {
  const { onnx } = await import(join(root, "dist/backends/onnx/proto.js"));
  const model = onnx.ModelProto.decode(readFileSync(file));
  const types = {};
  for (const n of model.graph.node) types[n.opType] = (types[n.opType] ?? 0) + 1;
  return { nodes: model.graph.node.length, types };
}

const input = new ort.Tensor("float32", Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i) * 0.5), [1, 3, 224, 224]);

/**
 * Latencies of the sessions, runs interleaved so that drift in machine load hits all alike; also
 * the process CPU time per run (onnxruntime's threads included, spinning too), which a busy
 * machine inflates less than wall time.
 */
async function race(files, extra = {}) {
  const sessions = [];
  for (const f of files) sessions.push(await ort.InferenceSession.create(f, { ...sessionOptions(null), ...extra }));
  const feeds = sessions.map((s) => ({ [s.inputNames[0]]: input }));
  for (let i = 0; i < WARMUP; i++) for (let k = 0; k < sessions.length; k++) await sessions[k].run(feeds[k]);
  const times = sessions.map(() => []);
  const cpu = sessions.map(() => []);
  for (let i = 0; i < RUNS; i++)
    for (let k = 0; k < sessions.length; k++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await sessions[k].run(feeds[k]);
      times[k].push(performance.now() - t);
      const d = process.cpuUsage(c);
      cpu[k].push((d.user + d.system) / 1000);
    }
  for (const s of sessions) await s.release();
  return times.map((t, k) => ({ ...stats(t), cpu: stats(cpu[k]).median }));
}

/**
 * Kernel time per op type from onnxruntime's profiler, largest first: each node's fastest of
 * several runs (a busy machine only ever adds time), summed by type.
 */
async function opProfile(file, tag) {
  const optimized = join(dir, `${tag}.optimized.onnx`);
  // One thread: a node's time is then its own work, not also its wait for a busy second core.
  const session = await ort.InferenceSession.create(file, { ...sessionOptions(tag), intraOpNumThreads: 1, optimizedModelFilePath: optimized });
  const feed = { [session.inputNames[0]]: input };
  for (let i = 0; i < PROFILE_RUNS; i++) await session.run(feed);
  session.endProfiling();
  await session.release();
  const json = readdirSync(dir).find((f) => f.startsWith(tag) && f.endsWith(".json"));
  const events = JSON.parse(readFileSync(join(dir, json), "utf8"));
  const fastest = new Map();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const key = `${e.args.op_name}\u0000${e.name}`;
    fastest.set(key, Math.min(fastest.get(key) ?? Infinity, e.dur));
  }
  const byType = {};
  let total = 0;
  for (const [key, us] of fastest) {
    const type = key.split("\u0000")[0];
    byType[type] = (byType[type] ?? 0) + us;
    total += us;
  }
  return { total, byType: Object.entries(byType).sort((a, b) => b[1] - a[1]), optimizedNodes: (await nodeCounts(optimized)).nodes };
}

const rows = [];
for (const m of MODELS) {
  const files = [ourOnnx[m], ...(torchOnnx[m] ? [torchOnnx[m]] : [])];
  const [ours, theirs] = await race(files);
  rows.push({ model: m, ours, theirs, ourNodes: await nodeCounts(ourOnnx[m]), theirNodes: torchOnnx[m] ? await nodeCounts(torchOnnx[m]) : null });
}

// ---- report ----

const ms = (v) => `${v.toFixed(1)} ms`;
const load = loadavg().map((v) => v.toFixed(1)).join(", ");
console.log(`\nmedg ONNX backend, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? "?"}`);
console.log(`${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${load} at the end: a busy machine slows every column; compare within a row`);
console.log(`\n(a) export of resnet50 (25.6M parameters, weights from a .safetensors file)`);
console.log("| exporter | median | min | runs |");
console.log("|---|---:|---:|---:|");
const ex = stats(exportTimes);
console.log(`| medg build, in-process | ${ms(ex.median)} | ${ms(ex.min)} | ${EXPORT_RUNS} |`);
console.log(`| medg build, a new process (node start included) | ${ms(stats(cold).median)} | ${ms(stats(cold).min)} | ${cold.length} |`);
if (torchExport) console.log(`| torch.onnx.export (torch ${spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" }).stdout.trim()}, opset 17) | ${ms(torchExport.median)} | ${ms(torchExport.min)} | 5 |`);
else console.log("| torch.onnx.export | skipped: PyTorch is not installed | | |");

console.log(`\n(b) onnxruntime-node inference, ${THREADS} intra-op threads, batch 1, 224x224, ${RUNS} runs after ${WARMUP} warm-up (interleaved)`);
console.log("| model | medg median | medg p90 | medg CPU | medg nodes | torch.onnx median | torch.onnx p90 | torch.onnx CPU | torch.onnx nodes | medg / torch.onnx (median, CPU) |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const t = r.theirs;
  const ratio = t ? `${(r.ours.median / t.median).toFixed(2)}×, ${(r.ours.cpu / t.cpu).toFixed(2)}×` : "";
  console.log(
    `| ${r.model} | ${ms(r.ours.median)} | ${ms(r.ours.p90)} | ${ms(r.ours.cpu)} | ${r.ourNodes.nodes} | ${t ? ms(t.median) : "—"} | ${t ? ms(t.p90) : "—"} | ${t ? ms(t.cpu) : "—"} | ${r.theirNodes ? r.theirNodes.nodes : "—"} | ${ratio} |`,
  );
}
if (!haveTorch) console.log("\ntorch.onnx columns skipped: PyTorch is not installed (Debian's python3-torchvision provides it).");

if (profile) {
  // Subnormal floats (a softmax over scores masked with -100 gives e^-100 ≈ 4e-44) make x86
  // arithmetic many times slower; flushing them to zero shows what they cost each graph.
  console.log(`\nwith onnxruntime's session.set_denormal_as_zero=1 (${RUNS} runs, interleaved)`);
  console.log("| model | medg median | medg CPU | torch.onnx median | torch.onnx CPU |");
  console.log("|---|---:|---:|---:|---:|");
  for (const m of MODELS) {
    const [ours, theirs] = await race([ourOnnx[m], ...(torchOnnx[m] ? [torchOnnx[m]] : [])], { extra: { session: { set_denormal_as_zero: "1" } } });
    console.log(`| ${m} | ${ms(ours.median)} | ${ms(ours.cpu)} | ${theirs ? ms(theirs.median) : "—"} | ${theirs ? ms(theirs.cpu) : "—"} |`);
  }
}

if (profile)
  for (const m of MODELS) {
    const variants = [["medg", ourOnnx[m]], ...(torchOnnx[m] ? [["torch.onnx", torchOnnx[m]]] : [])];
    console.log(`\nprofile of ${m}: kernel time by op type, ms (1 thread, each node's fastest of ${PROFILE_RUNS} runs; onnxruntime profiler, after its graph optimisations)`);
    for (const [label, file] of variants) {
      const p = await opProfile(file, `${m}-${label.replace(".", "")}`);
      console.log(`  ${label}: ${ms(p.total / 1000)} in kernels: ${p.byType.slice(0, 12).map(([t, us]) => `${t} ${(us / 1000).toFixed(2)}`).join(", ")}`);
      const nodes = await nodeCounts(file);
      console.log(`    ${nodes.nodes} ONNX nodes (${p.optimizedNodes} after onnxruntime's optimisations): ${Object.entries(nodes.types).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(", ")}`);
    }
  }
rmSync(dir, { recursive: true, force: true });
