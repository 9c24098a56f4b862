// One measurement of the tfjs benchmark, in a process of its own so that its peak RSS is its own:
//   node bench/tfjs/worker.js JSON
// where JSON is {impl: "emitted"|"layers", model, program, size, channels, classes, batch, warmup,
// steps, runtime}. Prints one JSON line with the step times and memory figures.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { root } from "./common.js";
import * as layersModels from "./layers.js";

const cfg = JSON.parse(process.argv[2]);
const runtime = await import(pathToFileURL(join(root, "dist/runtime/index.js")).href);
const { tf } = await runtime.loadTf({ prefer: cfg.runtime, searchDirs: [root] });

/** Random images in [0, 1) and labels, fixed for the whole run (data loading is not measured). */
function randomBatch(shape) {
  const x = tf.randomUniform([cfg.batch, ...shape], 0, 1, "float32", 1);
  const labels = Array.from({ length: cfg.batch }, (_, i) => i % cfg.classes);
  return { x, labels };
}

/**
 * The emitted program's training step: its model.js forward under the runtime's context, loss and
 * optimizer, with the statements of the step in src/runtime/train.ts (variableGrads over the
 * trainable variables, optimizer.step, batch-norm updates assigned, argmax for the running accuracy).
 */
async function emittedStep() {
  const { readFileSync } = await import("node:fs");
  const model = await import(pathToFileURL(join(cfg.program, "model.js")).href);
  const plan = JSON.parse(readFileSync(join(cfg.program, "plan.json"), "utf8"));
  const initial = runtime.loadCheckpoint(join(cfg.program, "init.safetensors")).values;
  const variables = new Map();
  for (const p of plan.parameters) {
    const value = tf.tensor(initial.get(p.name), p.shape, "float32");
    variables.set(p.name, tf.variable(value, !p.buffer, p.name));
    value.dispose();
  }
  const params = Object.fromEntries(variables);
  const trainable = plan.parameters.filter((p) => !p.buffer).map((p) => variables.get(p.name));
  const lossFn = runtime.makeLoss(tf, plan.loss, { classes: cfg.classes, multilabel: false, classFrequencies: new Array(cfg.classes).fill(1) });
  const optimizer = runtime.makeOptimizer(tf, plan.optimizer);
  const { x, labels } = randomBatch(plan.input.shape);
  const y = tf.tensor1d(labels, "int32");
  let step = 0;
  return async () => {
    const ctx = runtime.createForwardContext(tf, { training: true, seed: 0, step });
    let logits;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(params, x, ctx);
      logits = tf.keep(Array.isArray(out) ? out[0] : out);
      return lossFn(logits, y);
    }, trainable);
    const loss = (await value.data())[0];
    const withGrads = trainable.filter((v) => grads[v.name]);
    optimizer.step(
      withGrads,
      withGrads.map((v) => grads[v.name]),
      optimizer.lr,
    );
    tf.dispose([value, ...Object.values(grads).filter((g) => g !== null)]);
    for (const u of ctx.updates) {
      u.target.assign(u.value);
      u.value.dispose();
    }
    const argmax = tf.argMax(logits, 1);
    await argmax.data();
    tf.dispose([argmax, logits]);
    step++;
    return loss;
  };
}

/** The hand-written tfjs-layers model: compile with the same optimizer and loss, trainOnBatch. */
async function layersStep() {
  const model = layersModels[cfg.layers](tf, cfg);
  model.compile({ optimizer: tf.train.adam(cfg.lr), loss: "categoricalCrossentropy" });
  const { x: nchw, labels } = randomBatch([cfg.channels, cfg.size, cfg.size]);
  const x = tf.transpose(nchw, [0, 2, 3, 1]);
  nchw.dispose();
  const y = tf.oneHot(tf.tensor1d(labels, "int32"), cfg.classes).toFloat();
  return async () => {
    const loss = await model.trainOnBatch(x, y);
    return Array.isArray(loss) ? loss[0] : loss;
  };
}

const gc = globalThis.gc ?? (() => {});
const step = cfg.impl === "emitted" ? await emittedStep() : await layersStep();
const rssBefore = process.memoryUsage().rss;
let heapPeak = 0;
const sampleHeap = () => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed));

const first = performance.now();
let loss = await step();
const firstMs = performance.now() - first;
for (let i = 1; i < cfg.warmup; i++) loss = await step();
// Wall time gives the throughput; the process's CPU time beside it shows when other load on the
// machine inflated the wall time (pure-JS tfjs computes on one thread).
const times = [];
const cpuTimes = [];
for (let i = 0; i < cfg.steps; i++) {
  gc();
  const c = process.cpuUsage();
  const t = performance.now();
  loss = await step();
  times.push(performance.now() - t);
  const used = process.cpuUsage(c);
  cpuTimes.push((used.user + used.system) / 1000);
  sampleHeap();
}
// tf's own high-water mark of tensor bytes during one step (weights and optimizer state included).
const atRest = tf.memory().numBytes;
const profile = await tf.profile(() => step());
sampleHeap();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  JSON.stringify({
    impl: cfg.impl,
    model: cfg.model,
    backend: tf.getBackend(),
    loss,
    firstMs,
    times,
    medianMs: median(times),
    cpuTimes,
    medianCpuMs: median(cpuTimes),
    imagesPerSecond: (cfg.batch * 1000) / median(times),
    tfBytesAtRest: atRest,
    tfPeakBytes: profile.peakBytes,
    rssBefore,
    rssPeak: process.resourceUsage().maxRSS * 1024,
    heapPeak,
    tensorsAfter: tf.memory().numTensors,
  }),
);
