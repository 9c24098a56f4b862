/**
 * The training loop of emitted programs. One run: open the data, build the sample pipeline
 * (decode → prepare → augment → normalize, every random draw from a stream of the seed named after
 * the epoch and the file), then the plan's stages in order. Each stage freezes what it says
 * (frozen parameters are never handed to the optimizer, and batch norm under them runs in
 * inference mode), gets a fresh optimizer and its schedule, and ends early when the monitored
 * metric stops improving. After every epoch: validation metrics, `last` checkpoint with optimizer
 * state, `best` when the monitored metric improved, `run.json`, curves. A NaN loss ends the run
 * with the last good checkpoint in place.
 *
 * Everything that decides the numbers is a function of (seed, epoch, step, file), so `--resume`
 * from the last checkpoint continues to the same result as a run that was never interrupted.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { augment } from "./augment.js";
import { BEST, LAST, LAST_OPTIMIZER, loadCheckpoint, readJson, RUN, saveOptimizerState, saveVariables, writeJsonAtomically } from "./checkpoint.js";
import { curvesSvg } from "./curves.js";
import { classCounts, openDataset, openImageFolder, type DatasetResult } from "./data/datasets.js";
import { decodeImage } from "./data/decode.js";
import type { RuntimeImage } from "./data/image.js";
import { prepare, type PrepareSpec } from "./data/resize.js";
import { createForwardContext } from "./kernels/context.js";
import { makeLoss } from "./losses.js";
import { computeMetrics } from "./metrics.js";
import { datasetStats, normalize, type DatasetStats } from "./normalize.js";
import { makeOptimizer } from "./optim.js";
import { frozenPerStage, type ModelModule, type ProgramPlan, type ProgramStage } from "./program.js";
import { EpochProgress, formatNumber, type TrainIo } from "./progress.js";
import { createRng, shuffleInPlace } from "./rng.js";
import { makeSchedule } from "./schedules.js";
import { loadTf, runtimeNames, type RuntimeName } from "./tf.js";
import type { Dataset, Entry, LossSpec, Sample, Tensor, Tf, Variable } from "./types.js";

export interface RunTrainingOptions {
  tf: Tf;
  model: ModelModule;
  plan: ProgramPlan;
  /** Initial values by IR name (the program's init.safetensors). */
  initial: ReadonlyMap<string, Float32Array>;
  /** An image folder (class sub-folders) used instead of the plan's data source. */
  data?: string;
  /** The run folder: checkpoints, run.json, curves. */
  out: string;
  resume?: boolean;
  seed?: number;
  /** Epochs per stage, overriding the plan (quick runs). */
  epochs?: number;
  batch?: number;
  /** Validation metric that picks the best checkpoint and drives early stopping. */
  monitor?: string;
  /** Epochs without improvement before a stage stops early; null: never. Default 10. */
  patience?: number | null;
  io: TrainIo;
  /** What runs the program, for run.json. */
  runtime?: string;
  /** Train at most this many epochs in this call (the rest is left to --resume). */
  maxEpochs?: number;
}

export interface EpochRecord {
  epoch: number;
  stage: string;
  /** 0-based epoch within its stage. */
  stageEpoch: number;
  lr: number;
  trainLoss: number;
  valLoss: number;
  metrics: Record<string, number>;
  perClass: Record<string, number[]>;
  confusion?: number[][];
  seconds: number;
  imagesPerSecond: number;
  /** Set on the last epoch of a stage that stopped early. */
  earlyStop?: boolean;
}

export interface Monitor {
  metric: string;
  mode: "min" | "max";
}

export interface RunRecord {
  model: string;
  medg: string;
  source: string;
  status: "running" | "completed" | "nan" | "failed";
  message?: string;
  runtime?: string;
  seed: number;
  settings: { stages: { name: string; epochs: number; batch: number }[]; monitor: Monitor; patience: number | null };
  classes: string[];
  data: { source: string; train: number; val: number };
  normalization: { entry: Entry | null; stats?: DatasetStats };
  plan: ProgramPlan;
  epochs: EpochRecord[];
  best: { epoch: number; metric: string; value: number } | null;
}

export interface TrainResult {
  status: "completed" | "stopped" | "nan";
  epochs: EpochRecord[];
  best: RunRecord["best"];
  dir: string;
}

const DEFAULT_EPOCHS = 10;
const DEFAULT_BATCH = 16;
const DEFAULT_PATIENCE = 10;
/** Pixels of prepared images kept in memory between epochs (floats). */
const CACHE_FLOATS = 64 * 1024 * 1024;
const LOWER_IS_BETTER = new Set(["val_loss", "loss", "mae", "rmse", "hd95"]);

export class TrainingError extends Error {}

// ---- data ----

function openData(o: RunTrainingOptions): { dataset: Dataset; source: string } {
  const plan = o.plan;
  const classes = Array.isArray(plan.classes) ? plan.classes : undefined;
  let r: DatasetResult;
  let source: string;
  if (o.data !== undefined) {
    r = openImageFolder(o.data, { ...(classes ? { classes } : {}), ...(typeof plan.data?.args.val_split === "number" ? { val_split: plan.data.args.val_split } : {}) });
    source = `imagefolder(${JSON.stringify(o.data)})`;
  } else if (plan.data) {
    r = openDataset(plan.data, { ...(classes ? { classes } : {}), multilabel: plan.multilabel });
    source = `${plan.data.name}(${JSON.stringify(plan.data.args.path ?? "")})`;
  } else throw new TrainingError(`${plan.model} names no data source; give one with --data DIR (a folder of class sub-folders) or a \`data\` statement`);
  if (!r.ok) throw new TrainingError(r.error);
  return { dataset: r.dataset, source };
}

/** Size-changing crops decide the size themselves, so images are prepared at their own size before them. */
const CROPS = new Set(["crop", "center_crop", "random_resized_crop"]);

/** decode → prepare → augment (training) → prepare → normalize, with prepared images cached. */
class SamplePipeline {
  private readonly cache = new Map<string, RuntimeImage>();
  private cached = 0;
  readonly spec: PrepareSpec;
  private readonly firstSpec: PrepareSpec | null;
  private readonly evalSteps: Entry[];
  stats: DatasetStats | undefined;

  constructor(
    private readonly plan: ProgramPlan,
    private readonly seed: number,
  ) {
    const shape = plan.input.shape;
    this.spec = { channels: shape[0]!, size: shape.slice(1) };
    const crops = plan.augment.some((a) => CROPS.has(a.name));
    this.firstSpec = crops ? null : this.spec;
    // At evaluation only the geometric steps that fix the size run, deterministically (their p = 0 path).
    this.evalSteps = plan.augment.filter((a) => CROPS.has(a.name)).map((a) => ({ name: a.name, args: { ...a.args, p: 0 } }));
  }

  base(sample: Sample): RuntimeImage {
    const hit = this.cache.get(sample.path);
    if (hit) return hit;
    const decoded = decodeImage(sample.path);
    if (!decoded.ok) throw new TrainingError(decoded.error);
    const prepared = prepare(decoded.image, this.firstSpec ?? { channels: this.spec.channels, size: decoded.image.shape.slice(1) });
    if (!prepared.ok) throw new TrainingError(prepared.error);
    if (this.cached + prepared.image.data.length <= CACHE_FLOATS) {
      this.cache.set(sample.path, prepared.image);
      this.cached += prepared.image.data.length;
    }
    return prepared.image;
  }

  private finish(image: RuntimeImage): Float32Array {
    const sized = prepare(image, this.spec);
    if (!sized.ok) throw new TrainingError(sized.error);
    return normalize(sized.image, this.plan.normalize, this.stats).data;
  }

  train(sample: Sample, epoch: number): Float32Array {
    const rng = createRng(this.seed, `augment/${epoch}/${sample.path}`);
    return this.finish(augment(this.base(sample), this.plan.augment, rng));
  }

  eval(sample: Sample): Float32Array {
    const image = this.base(sample);
    return this.finish(this.evalSteps.length ? augment(image, this.evalSteps, createRng(this.seed, "eval")) : image);
  }

  /** Training-set statistics when the normalization is computed over the dataset. */
  computeStats(samples: readonly Sample[]): DatasetStats | undefined {
    const n = this.plan.normalize;
    if (!n || n.args.mode !== "dataset" || (n.name === "zscore" && n.args.mean !== null && n.args.mean !== undefined)) return undefined;
    const percentiles = n.name === "percentile" ? ([n.args.lo as number, n.args.hi as number] as [number, number]) : undefined;
    const self = this;
    function* images() {
      for (const s of samples) {
        const sized = prepare(self.base(s), self.spec);
        if (!sized.ok) throw new TrainingError(sized.error);
        yield sized.image;
      }
    }
    this.stats = datasetStats(images(), percentiles ? { percentiles } : {});
    return this.stats;
  }
}

// ---- batches ----

interface Batch {
  x: Tensor;
  y: Tensor;
  labels: (number | number[])[];
  size: number;
}

function makeBatch(tf: Tf, plan: ProgramPlan, samples: readonly Sample[], pixels: (s: Sample) => Float32Array, classes: number): Batch {
  const shape = plan.input.shape;
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(samples.length * per);
  samples.forEach((s, i) => data.set(pixels(s), i * per));
  const labels = samples.map((s) => s.label);
  let y: Tensor;
  if (plan.multilabel) {
    const hot = new Float32Array(samples.length * classes);
    labels.forEach((l, i) => (Array.isArray(l) ? l : [l]).forEach((c) => (hot[i * classes + c] = 1)));
    y = tf.tensor2d(hot, [samples.length, classes]);
  } else y = tf.tensor1d(labels.map((l) => (Array.isArray(l) ? l[0]! : l)), "int32");
  return { x: tf.tensor(data, [samples.length, ...shape]), y, labels, size: samples.length };
}

/** Batches of a shuffled order; a last batch of one is dropped (batch norm cannot train on it). */
function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  if (out.length > 1 && out[out.length - 1]!.length === 1) out.pop();
  return out;
}

function firstOutput(out: Tensor | Tensor[]): Tensor {
  return Array.isArray(out) ? out[0]! : out;
}

// ---- the run ----

function defaultLoss(plan: ProgramPlan): LossSpec {
  return { terms: [{ weight: 1, entry: plan.multilabel ? { name: "bce", args: { pos_weight: null } } : { name: "ce", args: { label_smoothing: 0, ignore_index: null } } }] };
}

function chooseMonitor(requested: string | undefined, metrics: readonly Entry[]): Monitor {
  const names = metrics.map((m) => m.name).filter((n) => n !== "confusion_matrix");
  const metric = requested ?? (names.includes("accuracy") ? "accuracy" : (names[0] ?? "val_loss"));
  return { metric, mode: LOWER_IS_BETTER.has(metric) ? "min" : "max" };
}

function improved(monitor: Monitor, value: number, best: number | null): boolean {
  if (!Number.isFinite(value)) return false;
  return best === null || (monitor.mode === "max" ? value > best : value < best);
}

function monitored(monitor: Monitor, r: EpochRecord): number {
  return monitor.metric === "val_loss" ? r.valLoss : monitor.metric === "loss" ? r.trainLoss : (r.metrics[monitor.metric] ?? NaN);
}

export async function runTraining(o: RunTrainingOptions): Promise<TrainResult> {
  const { tf, plan, io } = o;
  const task = plan.task.name;
  if (task !== "classify") throw new TrainingError(`the tfjs runtime trains classification models; ${plan.model} has task ${task}`);
  mkdirSync(o.out, { recursive: true });
  const previous = o.resume ? readJson<RunRecord>(join(o.out, RUN)) : undefined;
  if (o.resume && (!previous || !existsSync(join(o.out, LAST)))) throw new TrainingError(`--resume: ${o.out} has no run to resume (run.json and ${LAST} are missing)`);
  if (previous && o.seed !== undefined && o.seed !== previous.seed) throw new TrainingError(`--resume: the run used seed ${previous.seed}, not ${o.seed}`);
  const seed = previous?.seed ?? o.seed ?? plan.seed ?? 0;

  const { dataset, source } = openData(o);
  const trainSet = dataset.samples.filter((s) => s.split === "train");
  const valSet = dataset.samples.filter((s) => s.split === "val");
  if (trainSet.length === 0 || valSet.length === 0) throw new TrainingError(`${source}: needs training and validation images, found ${trainSet.length} and ${valSet.length}`);
  const classes = dataset.classNames.length;
  const outWidth = plan.outputs[0]?.[plan.outputs[0].length - 1];
  if (typeof outWidth === "number" && outWidth !== classes)
    throw new TrainingError(`${plan.model} outputs ${outWidth} values per image, but ${source} has ${classes} classes (${dataset.classNames.join(", ")}); set classes in the task`);

  const pipeline = new SamplePipeline(plan, seed);
  const stats = previous?.normalization.stats ?? pipeline.computeStats(trainSet);
  pipeline.stats = stats;

  // Stages and their settings; a resumed run keeps the ones it started with.
  const stages: ProgramStage[] = plan.stages.length
    ? plan.stages
    : [{ name: "train", freeze: [], unfreeze: [], epochs: null, lr: null, batch: null, optimizer: null, schedule: null }];
  const settings: RunRecord["settings"] = previous?.settings ?? {
    stages: stages.map((s) => ({ name: s.name, epochs: o.epochs ?? s.epochs ?? plan.epochs ?? DEFAULT_EPOCHS, batch: o.batch ?? s.batch ?? plan.batch ?? DEFAULT_BATCH })),
    monitor: chooseMonitor(o.monitor, plan.metrics.length ? plan.metrics : [{ name: "accuracy", args: { top_k: 1 } }]),
    patience: o.patience === undefined ? DEFAULT_PATIENCE : o.patience,
  };
  const monitor = settings.monitor;
  const metricEntries = plan.metrics.length ? plan.metrics : [{ name: "accuracy", args: { top_k: 1 } }];
  const names = plan.parameters.map((p) => p.name);
  const frozen = frozenPerStage(stages, names);
  const totalEpochs = settings.stages.reduce((a, s) => a + s.epochs, 0);

  // Parameters and buffers as variables named by their IR names.
  const last = previous ? loadCheckpoint(join(o.out, LAST)) : undefined;
  const doneEpochs = last ? Number(last.metadata.epoch ?? 0) : 0;
  const start = last?.values ?? o.initial;
  const missing = names.filter((n) => !start.has(n));
  if (missing.length) throw new TrainingError(`no initial value for ${missing.length} parameter(s): ${missing.slice(0, 5).join(", ")}`);
  const variables = new Map<string, Variable>();
  const record: RunRecord = {
    model: plan.model,
    medg: plan.medg,
    source: plan.source,
    status: "running",
    ...(o.runtime ? { runtime: o.runtime } : {}),
    seed,
    settings,
    classes: dataset.classNames,
    data: { source, train: trainSet.length, val: valSet.length },
    normalization: { entry: plan.normalize, ...(stats ? { stats } : {}) },
    plan,
    epochs: previous ? previous.epochs.filter((e) => e.epoch <= doneEpochs) : [],
    best: null,
  };
  for (const r of record.epochs) if (improved(monitor, monitored(monitor, r), record.best?.value ?? null)) record.best = { epoch: r.epoch, metric: monitor.metric, value: monitored(monitor, r) };

  const lossFn = makeLoss(tf, plan.loss ?? defaultLoss(plan), { classes, multilabel: plan.multilabel, classFrequencies: classCounts(dataset, "train") });
  let result: TrainResult["status"] = "completed";
  let globalEpoch = 0;
  let step = 0;
  let ranThisCall = 0;
  try {
    for (const p of plan.parameters) {
      const value = tf.tensor(start.get(p.name)!, p.shape, "float32");
      variables.set(p.name, tf.variable(value, !p.buffer, p.name));
      value.dispose();
    }
    const params = Object.fromEntries(variables) as Record<string, Tensor>;
    if (doneEpochs) io.out(`resuming ${plan.model} after epoch ${doneEpochs} from ${join(o.out, LAST)}`);
    io.out(`training ${plan.model} on ${source}: ${trainSet.length} training and ${valSet.length} validation images, ${classes} classes; ${totalEpochs} epochs in ${stages.length} stage${stages.length === 1 ? "" : "s"}; seed ${seed}`);

    stageLoop: for (const [si, stage] of stages.entries()) {
      const { epochs, batch } = settings.stages[si]!;
      for (const p of plan.parameters) variables.get(p.name)!.trainable = !p.buffer && !frozen[si]!.has(p.name);
      const trainable = plan.parameters.filter((p) => !p.buffer && !frozen[si]!.has(p.name)).map((p) => variables.get(p.name)!);
      const optimizer = makeOptimizer(tf, stage.optimizer ?? plan.optimizer ?? { name: "adamw", args: {} }, stage.lr !== null ? { lr: stage.lr } : undefined);
      const stepsPerEpoch = batchesOf(trainSet, batch).length;
      const schedule = makeSchedule(stage.schedule ?? plan.schedule ?? { name: "constant", args: { warmup: 0 } }, { baseLr: optimizer.lr, epochs, stepsPerEpoch });
      const frozenCount = plan.parameters.filter((p) => !p.buffer && frozen[si]!.has(p.name)).length;
      let stageBest: number | null = null;
      let bad = 0;
      try {
        for (let e = 0; e < epochs; e++) {
          globalEpoch++;
          const done = record.epochs.find((r) => r.stage === stage.name && r.stageEpoch === e && r.epoch === globalEpoch);
          if (done) {
            // Replays what the finished epoch left behind: schedule state, patience, the step count.
            schedule.endEpoch({ ...done.metrics, val_loss: done.valLoss, loss: done.trainLoss });
            step += stepsPerEpoch;
            const v = monitored(monitor, done);
            if (improved(monitor, v, stageBest)) [stageBest, bad] = [v, 0];
            else bad++;
            if (done.epoch === doneEpochs && e + 1 < epochs) optimizer.loadState(loadCheckpoint(join(o.out, LAST_OPTIMIZER)).values);
            if (done.earlyStop) continue stageLoop;
            continue;
          }
          if (o.maxEpochs !== undefined && ranThisCall >= o.maxEpochs) {
            result = "stopped";
            break stageLoop;
          }
          if (e === 0) io.out(`stage ${stage.name}: ${epochs} epoch${epochs === 1 ? "" : "s"}, batch ${batch}, ${optimizer.name} lr ${formatNumber(optimizer.lr)}${frozenCount ? `, ${frozenCount} parameter tensors frozen` : ""}`);
          ranThisCall++;

          // -- train
          const order = shuffleInPlace([...trainSet], createRng(seed, `shuffle/${globalEpoch}`));
          const batches = batchesOf(order, batch);
          const progress = new EpochProgress(io, `epoch ${globalEpoch}/${totalEpochs} ${stage.name}`, batches.length, batches.reduce((a, b) => a + b.length, 0));
          let lossSum = 0;
          let seen = 0;
          let correct = 0;
          let lr = 0;
          for (const [bi, items] of batches.entries()) {
            lr = schedule.lr(e, bi);
            const b = makeBatch(tf, plan, items, (s) => pipeline.train(s, globalEpoch), classes);
            const ctx = createForwardContext(tf, { training: true, seed, step });
            let logits: Tensor | undefined;
            let lossValue: number;
            if (trainable.length) {
              const { value, grads } = tf.variableGrads(() => {
                const out = firstOutput(o.model.forward(params, b.x, ctx));
                logits = tf.keep(out);
                return lossFn(out, b.y) as ReturnType<Tf["scalar"]>;
              }, trainable);
              lossValue = (await value.data())[0]!;
              if (!Number.isFinite(lossValue)) {
                tf.dispose([value, b.x, b.y, ...(logits ? [logits] : []), ...Object.values(grads).filter((g): g is Tensor => g !== null)]);
                for (const u of ctx.updates) u.value.dispose();
                throw new NanLoss(globalEpoch, bi, lossValue);
              }
              const withGrads = trainable.filter((v) => grads[v.name]);
              optimizer.step(withGrads, withGrads.map((v) => grads[v.name]!), lr);
              tf.dispose([value, ...Object.values(grads).filter((g): g is Tensor => g !== null)]);
            } else {
              const out = tf.tidy(() => {
                const y = firstOutput(o.model.forward(params, b.x, ctx));
                return [y, lossFn(y, b.y)] as const;
              });
              logits = out[0];
              lossValue = (await out[1].data())[0]!;
              out[1].dispose();
            }
            for (const u of ctx.updates) {
              u.target.assign(u.value);
              u.value.dispose();
            }
            if (!plan.multilabel && logits) {
              const argmax = tf.argMax(logits, 1);
              const predicted = await argmax.data();
              argmax.dispose();
              b.labels.forEach((l, i) => (correct += predicted[i] === l ? 1 : 0));
            }
            tf.dispose([b.x, b.y, ...(logits ? [logits] : [])]);
            lossSum += lossValue * b.size;
            seen += b.size;
            step++;
            progress.update(bi + 1, seen, { loss: lossSum / seen, ...(plan.multilabel ? {} : { metric: ["acc", correct / seen] as [string, number] }) });
          }
          progress.finish();
          const trainSeconds = progress.elapsed;

          // -- validate
          const probs = new Float32Array(valSet.length * classes);
          let valLoss = 0;
          for (let first = 0; first < valSet.length; first += batch) {
            const items = valSet.slice(first, first + batch);
            const b = makeBatch(tf, plan, items, (s) => pipeline.eval(s), classes);
            const [p, l] = tf.tidy(() => {
              const logits = firstOutput(o.model.forward(params, b.x, createForwardContext(tf)));
              return [plan.multilabel ? tf.sigmoid(logits) : tf.softmax(logits), lossFn(logits, b.y)] as const;
            });
            probs.set(await p.data(), first * classes);
            valLoss += (await l.data())[0]! * b.size;
            tf.dispose([p, l, b.x, b.y]);
          }
          valLoss /= valSet.length;
          const report = computeMetrics(metricEntries, probs, valSet.map((s) => s.label), classes, plan.multilabel);
          const epochRecord: EpochRecord = {
            epoch: globalEpoch,
            stage: stage.name,
            stageEpoch: e,
            lr,
            trainLoss: lossSum / seen,
            valLoss,
            metrics: report.scalars,
            perClass: report.perClass,
            ...(report.confusion ? { confusion: report.confusion } : {}),
            seconds: trainSeconds,
            imagesPerSecond: seen / Math.max(trainSeconds, 1e-3),
          };
          schedule.endEpoch({ ...report.scalars, val_loss: valLoss, loss: epochRecord.trainLoss });

          // -- keep
          const value = monitored(monitor, epochRecord);
          const isBest = improved(monitor, value, record.best?.value ?? null);
          if (improved(monitor, value, stageBest)) [stageBest, bad] = [value, 0];
          else bad++;
          const stopEarly = settings.patience !== null && bad >= settings.patience && e + 1 < epochs;
          if (stopEarly) epochRecord.earlyStop = true;
          record.epochs.push(epochRecord);
          const metadata = { model: plan.model, epoch: String(globalEpoch), stage: stage.name, stage_epoch: String(e), step: String(step), seed: String(seed) };
          saveOptimizerState(join(o.out, LAST_OPTIMIZER), optimizer.state(), metadata);
          saveVariables(join(o.out, LAST), variables, metadata);
          if (isBest) {
            saveVariables(join(o.out, BEST), variables, { ...metadata, [monitor.metric]: String(value) });
            record.best = { epoch: globalEpoch, metric: monitor.metric, value };
          }
          writeJsonAtomically(join(o.out, RUN), record);
          writeFileSync(join(o.out, "curves.svg"), curvesSvg(plan.model, record.epochs));
          const shown = Object.entries(report.scalars)
            .map(([k, v]) => `${k} ${formatNumber(v)}`)
            .join("  ");
          io.out(
            `epoch ${globalEpoch}/${totalEpochs} ${stage.name}  loss ${formatNumber(epochRecord.trainLoss)}  val_loss ${formatNumber(valLoss)}  ${shown}  lr ${formatNumber(lr)}  ${epochRecord.imagesPerSecond.toFixed(1)} img/s  ${Math.round(trainSeconds)}s${isBest ? `  best ${monitor.metric}` : ""}`,
          );
          if (stopEarly) {
            io.out(`stage ${stage.name}: ${monitor.metric} has not improved for ${bad} epochs; stopping the stage early`);
            break;
          }
        }
      } finally {
        optimizer.dispose();
      }
    }
    record.status = result === "completed" ? "completed" : "running";
    writeJsonAtomically(join(o.out, RUN), record);
    if (result === "completed" && record.best) io.out(`best ${record.best.metric} ${formatNumber(record.best.value)} at epoch ${record.best.epoch}: ${join(o.out, BEST)}`);
  } catch (e) {
    if (!(e instanceof NanLoss)) {
      record.status = "failed";
      record.message = (e as Error).message;
      writeJsonAtomically(join(o.out, RUN), record);
      throw e;
    }
    record.status = "nan";
    record.message = e.message;
    writeJsonAtomically(join(o.out, RUN), record);
    io.err(`${e.message}; stopping. The last good checkpoint is ${existsSync(join(o.out, LAST)) ? join(o.out, LAST) : "absent (no epoch finished)"}`);
    result = "nan";
  } finally {
    for (const v of variables.values()) v.dispose();
  }
  return { status: result, epochs: record.epochs, best: record.best, dir: o.out };
}

class NanLoss extends Error {
  constructor(epoch: number, batch: number, value: number) {
    super(`the loss became ${value} in epoch ${epoch}, batch ${batch + 1}`);
  }
}

// ---- the entry point of an emitted train.js ----

export interface TrainMainOptions {
  model: ModelModule;
  /** The program folder (holding plan.json and init.safetensors), as train.js's own URL folder. */
  dir: URL | string;
  argv: readonly string[];
  io?: TrainIo;
  /** The runtime the program was built for (`--runtime` at build time); `auto` otherwise. */
  defaultRuntime?: string;
  /** A tfjs namespace to use instead of loading one (tests, embedding). */
  tf?: Tf;
}

const trainUsage = `usage: node train.js --data DIR [--out runs/NAME] [--runtime auto|tfjs-node-gpu|tfjs-node|tfjs]
                     [--resume] [--epochs N] [--batch N] [--seed N] [--monitor METRIC] [--patience N|none]`;

export function processTrainIo(): TrainIo {
  const tty = process.stdout.isTTY === true;
  return {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    ...(tty ? { progress: (t: string) => process.stdout.write(`\r\x1b[K${t}`) } : {}),
  };
}

/** runs/NAME, or runs/NAME-2, -3 … when NAME already holds a run. */
function defaultOut(model: string): string {
  const base = join("runs", model);
  if (!existsSync(join(base, RUN))) return base;
  for (let n = 2; ; n++) if (!existsSync(join(`${base}-${n}`, RUN))) return `${base}-${n}`;
}

function intFlag(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || v < min) throw new TrainingError(`--${name} must be an integer ≥ ${min}, got '${raw}'`);
  return v;
}

/** Parses train.js's arguments, loads a tfjs runtime and trains; resolves to the exit status. */
export async function trainMain(options: TrainMainOptions): Promise<number> {
  const io = options.io ?? processTrainIo();
  const dir = typeof options.dir === "string" ? options.dir : fileURLToPath(options.dir);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...options.argv],
      options: {
        data: { type: "string" },
        out: { type: "string" },
        runtime: { type: "string" },
        resume: { type: "boolean" },
        epochs: { type: "string" },
        batch: { type: "string" },
        seed: { type: "string" },
        monitor: { type: "string" },
        patience: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    io.err(`${(e as Error).message}\n${trainUsage}`);
    return 2;
  }
  if (values.help) {
    io.out(trainUsage);
    return 0;
  }
  try {
    const plan = JSON.parse(readFileSync(join(dir, "plan.json"), "utf8")) as ProgramPlan;
    const initial = loadCheckpoint(join(dir, "init.safetensors")).values;
    const prefer = (values.runtime as string | undefined) ?? options.defaultRuntime ?? "auto";
    if (prefer !== "auto" && !(runtimeNames as readonly string[]).includes(prefer)) throw new TrainingError(`--runtime must be auto, ${runtimeNames.join(", ")}; got '${prefer}'`);
    const out = (values.out as string | undefined) ?? (values.resume ? join("runs", plan.model) : defaultOut(plan.model));
    if (!values.resume && existsSync(join(out, RUN))) throw new TrainingError(`${out} already holds a run; continue it with --resume or choose another --out`);
    const patienceRaw = values.patience as string | undefined;
    let tf = options.tf;
    let runtime = "the given tfjs";
    if (!tf) {
      const loaded = await loadTf({ prefer: prefer as RuntimeName | "auto", searchDirs: [dir], report: (line) => io.err(line) });
      tf = loaded.tf;
      runtime = loaded.description;
      io.out(loaded.description);
    }
    const result = await runTraining({
      tf,
      model: options.model,
      plan,
      initial,
      ...(values.data !== undefined ? { data: values.data as string } : {}),
      out,
      resume: values.resume === true,
      ...(values.seed !== undefined ? { seed: intFlag("seed", values.seed as string, 0)! } : {}),
      ...(values.epochs !== undefined ? { epochs: intFlag("epochs", values.epochs as string, 1)! } : {}),
      ...(values.batch !== undefined ? { batch: intFlag("batch", values.batch as string, 1)! } : {}),
      ...(values.monitor !== undefined ? { monitor: values.monitor as string } : {}),
      ...(patienceRaw !== undefined ? { patience: patienceRaw === "none" ? null : intFlag("patience", patienceRaw, 1)! } : {}),
      io,
      runtime,
    });
    return result.status === "nan" ? 1 : 0;
  } catch (e) {
    if (e instanceof TrainingError) {
      io.err(e.message);
      return 1;
    }
    throw e;
  }
}
