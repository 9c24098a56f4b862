/**
 * The training loop of emitted programs. One run: open the data, build the sample pipeline
 * (decode → prepare → augment → normalize, every random draw from a stream of the seed named after
 * the epoch and the file's path relative to the data root), then the plan's stages in order. Each stage freezes what it says
 * (frozen parameters are never handed to the optimizer, and batch norm under them runs in
 * inference mode), gets a fresh optimizer and its schedule, and ends early when the monitored
 * metric stops improving. After every epoch: validation metrics, `last` checkpoint with optimizer
 * state, `best` when the monitored metric improved, `run.json`, curves. A NaN loss ends the run
 * with the last good checkpoint in place.
 *
 * Tasks: classification (an image folder or CSV; accuracy by default) and 2-D segmentation
 * (images with masks, data/masks.ts; the mask follows the image through resizing, by nearest
 * neighbour, and through the geometric augmentations; loss 0.5·Dice + 0.5·CE and the best
 * checkpoint by mean foreground Dice unless the plan says otherwise).
 *
 * Everything that decides the numbers is a function of (seed, epoch, step, file), so `--resume`
 * from the last checkpoint continues to the same result as a run that was never interrupted.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { augment, augmentPair } from "./augment.js";
import { BEST, LAST, LAST_OPTIMIZER, loadCheckpoint, readJson, RUN, saveOptimizerState, saveVariables, writeJsonAtomically } from "./checkpoint.js";
import { curvesSvg } from "./curves.js";
import { classCounts, openDataset, openImageFolder, type DatasetResult } from "./data/datasets.js";
import { decodeImage } from "./data/decode.js";
import { dims, type RuntimeImage } from "./data/image.js";
import {
  loadMask,
  loadSegmentationImage,
  openSegmentationData,
  openSegmentationFolder,
  type SegmentationDataset,
  type SegmentationResult,
  type SegmentationSample,
} from "./data/masks.js";
import { prepare, resize, type PrepareSpec } from "./data/resize.js";
import { createForwardContext } from "./kernels/context.js";
import { accelerate } from "./kernels/cpu.js";
import { makeLoss } from "./losses.js";
import { computeMetrics } from "./metrics.js";
import { datasetStats, normalize, type DatasetStats } from "./normalize.js";
import { makeOptimizer } from "./optim.js";
import { frozenPerStage, type ModelModule, type ProgramPlan, type ProgramStage } from "./program.js";
import { EpochProgress, formatNumber, type TrainIo } from "./progress.js";
import { createRng, shuffleInPlace } from "./rng.js";
import { makeSchedule } from "./schedules.js";
import { loadTf, runtimeNames, type RuntimeName } from "./tf.js";
import type { Dataset, Entry, LossSpec, MetricReport, Sample, Tensor, Tf, Variable } from "./types.js";

export interface RunTrainingOptions {
  tf: Tf;
  model: ModelModule;
  plan: ProgramPlan;
  /** Initial values by IR name (the program's init.safetensors). */
  initial: ReadonlyMap<string, Float32Array>;
  /**
   * A folder used instead of the plan's data source: class sub-folders (classification), or
   * images/ + masks/ or the nnU-Net layout (segmentation).
   */
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
export class SamplePipeline {
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
    const rng = createRng(this.seed, `augment/${epoch}/${sample.id}`);
    return this.finish(augment(this.base(sample), this.plan.augment, rng));
  }

  eval(sample: Sample): Float32Array {
    const image = this.base(sample);
    return this.finish(this.evalSteps.length ? augment(image, this.evalSteps, createRng(this.seed, "eval")) : image);
  }

  /** Training-set statistics when the normalization is computed over the dataset. */
  computeStats(samples: readonly Sample[]): DatasetStats | undefined {
    return statsOver(this.plan, samples.map((s) => () => this.base(s)), this.spec);
  }
}

/** Dataset statistics over prepared training images, when the normalization asks for them. */
function statsOver(plan: ProgramPlan, images: readonly (() => RuntimeImage)[], spec: PrepareSpec): DatasetStats | undefined {
  const n = plan.normalize;
  if (!n || n.args.mode !== "dataset" || (n.name === "zscore" && n.args.mean !== null && n.args.mean !== undefined)) return undefined;
  const percentiles = n.name === "percentile" ? ([n.args.lo as number, n.args.hi as number] as [number, number]) : undefined;
  function* sized() {
    for (const image of images) {
      const r = prepare(image(), spec);
      if (!r.ok) throw new TrainingError(r.error);
      yield r.image;
    }
  }
  return datasetStats(sized(), percentiles ? { percentiles } : {});
}

/**
 * Segmentation samples: the image as in SamplePipeline, its mask read at the image's size, resized
 * by nearest neighbour with it, and moved by the same geometric augmentations (`augmentPair`).
 * Targets leave as class indices [H, W] (single-label) or a multi-hot map [K, H, W] (multi-label).
 */
export class SegmentationPipeline {
  private readonly cache = new Map<string, { image: RuntimeImage; mask: RuntimeImage }>();
  private cached = 0;
  readonly spec: PrepareSpec;
  private readonly firstSpec: PrepareSpec | null;
  private readonly evalSteps: Entry[];
  stats: DatasetStats | undefined;

  constructor(
    private readonly plan: ProgramPlan,
    private readonly seed: number,
    private readonly dataset: SegmentationDataset,
    private readonly outputs: number,
  ) {
    const shape = plan.input.shape;
    this.spec = { channels: shape[0]!, size: shape.slice(1) };
    this.firstSpec = plan.augment.some((a) => CROPS.has(a.name)) ? null : this.spec;
    this.evalSteps = plan.augment.filter((a) => CROPS.has(a.name)).map((a) => ({ name: a.name, args: { ...a.args, p: 0 } }));
  }

  base(sample: SegmentationSample): { image: RuntimeImage; mask: RuntimeImage } {
    const hit = this.cache.get(sample.path);
    if (hit) return hit;
    const decoded = loadSegmentationImage(sample);
    if (!decoded.ok) throw new TrainingError(decoded.error);
    const { h, w } = dims(decoded.image);
    const mask = loadMask(sample, this.dataset, { h, w }, this.outputs);
    if (!mask.ok) throw new TrainingError(mask.error);
    const size = this.firstSpec?.size ?? decoded.image.shape.slice(1);
    const prepared = prepare(decoded.image, { channels: this.spec.channels, size });
    if (!prepared.ok) throw new TrainingError(prepared.error);
    const pair = { image: prepared.image, mask: resize(mask.mask, size, "nearest") };
    const floats = pair.image.data.length + pair.mask.data.length;
    if (this.cached + floats <= CACHE_FLOATS) {
      this.cache.set(sample.path, pair);
      this.cached += floats;
    }
    return pair;
  }

  private finish(image: RuntimeImage, mask: RuntimeImage): { x: Float32Array; y: Float32Array } {
    const sized = prepare(image, this.spec);
    if (!sized.ok) throw new TrainingError(sized.error);
    return { x: normalize(sized.image, this.plan.normalize, this.stats).data, y: resize(mask, this.spec.size, "nearest").data };
  }

  train(sample: SegmentationSample, epoch: number): { x: Float32Array; y: Float32Array } {
    const rng = createRng(this.seed, `augment/${epoch}/${sample.id}`);
    const b = this.base(sample);
    const r = augmentPair(b.image, b.mask, this.plan.augment, rng);
    return this.finish(r.image, r.mask);
  }

  eval(sample: SegmentationSample): { x: Float32Array; y: Float32Array } {
    const b = this.base(sample);
    if (!this.evalSteps.length) return this.finish(b.image, b.mask);
    const r = augmentPair(b.image, b.mask, this.evalSteps, createRng(this.seed, "eval"));
    return this.finish(r.image, r.mask);
  }

  computeStats(samples: readonly SegmentationSample[]): DatasetStats | undefined {
    return statsOver(this.plan, samples.map((s) => () => this.base(s).image), this.spec);
  }

  /** Pixels per class over the training masks at the input size (weighted_ce without weights). */
  pixelCounts(samples: readonly SegmentationSample[], classes: number): number[] {
    const counts = new Array<number>(classes).fill(0);
    for (const s of samples) {
      const m = resize(this.base(s).mask, this.spec.size, "nearest");
      if (m.shape[0] === 1 && classes > 1) for (const v of m.data) counts[v]!++;
      else {
        const plane = m.data.length / m.shape[0]!;
        for (let i = 0; i < m.data.length; i++) counts[Math.floor(i / plane)]! += m.data[i]!;
      }
    }
    return counts;
  }
}

// ---- batches ----

interface Batch {
  x: Tensor;
  y: Tensor;
  size: number;
  /** Classification: each image's label, for the metrics. */
  labels?: (number | number[])[];
}

/** One task's data as the loop sees it: splits, batches, the training accuracy and validation metrics. */
interface TaskData<T extends { path: string }> {
  source: string;
  classNames: string[];
  /** Outputs per image (classes, or output channels of a segmentation map). */
  outputs: number;
  trainSet: T[];
  valSet: T[];
  /** "images" or "images (with masks)" in the log. */
  what: string;
  computeStats(): DatasetStats | undefined;
  setStats(stats: DatasetStats | undefined): void;
  /** epoch null: the evaluation pipeline. */
  batch(items: readonly T[], epoch: number | null): Batch;
  /** Correct predictions and their count (images, or pixels) in a training batch; null where not shown. */
  correct(logits: Tensor, b: Batch): Promise<[number, number] | null>;
  validator(metrics: readonly Entry[]): Validator;
  classFrequencies(): number[] | undefined;
}

interface Validator {
  /** Takes one validation batch's logits (disposed by the caller). */
  add(logits: Tensor, b: Batch): Promise<void>;
  report(): MetricReport;
}

function classificationData(o: RunTrainingOptions, seed: number): TaskData<Sample> {
  const { tf, plan } = o;
  const { dataset, source } = openData(o);
  const classes = dataset.classNames.length;
  const outWidth = plan.outputs[0]?.[plan.outputs[0].length - 1];
  if (typeof outWidth === "number" && outWidth !== classes)
    throw new TrainingError(`${plan.model} outputs ${outWidth} values per image, but ${source} has ${classes} classes (${dataset.classNames.join(", ")}); set classes in the task`);
  const pipeline = new SamplePipeline(plan, seed);
  const trainSet = dataset.samples.filter((s) => s.split === "train");
  return {
    source,
    classNames: dataset.classNames,
    outputs: classes,
    trainSet,
    valSet: dataset.samples.filter((s) => s.split === "val"),
    what: "images",
    computeStats: () => pipeline.computeStats(trainSet),
    setStats: (s) => (pipeline.stats = s),
    batch(items, epoch) {
      const shape = plan.input.shape;
      const per = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(items.length * per);
      items.forEach((s, i) => data.set(epoch === null ? pipeline.eval(s) : pipeline.train(s, epoch), i * per));
      const labels = items.map((s) => s.label);
      let y: Tensor;
      if (plan.multilabel) {
        const hot = new Float32Array(items.length * classes);
        labels.forEach((l, i) => (Array.isArray(l) ? l : [l]).forEach((c) => (hot[i * classes + c] = 1)));
        y = tf.tensor2d(hot, [items.length, classes]);
      } else y = tf.tensor1d(labels.map((l) => (Array.isArray(l) ? l[0]! : l)), "int32");
      return { x: tf.tensor(data, [items.length, ...shape]), y, size: items.length, labels };
    },
    async correct(logits, b) {
      const labels = b.labels!;
      if (plan.multilabel) return null;
      const argmax = tf.argMax(logits, 1);
      const predicted = await argmax.data();
      argmax.dispose();
      return [labels.filter((l, i) => predicted[i] === l).length, labels.length];
    },
    validator(metrics) {
      const probs: number[] = [];
      const labels: (number | number[])[] = [];
      return {
        async add(logits, b) {
          const p = tf.tidy(() => (plan.multilabel ? tf.sigmoid(logits) : tf.softmax(logits)));
          for (const v of await p.data()) probs.push(v);
          p.dispose();
          labels.push(...b.labels!);
        },
        report: () => computeMetrics([...metrics], Float32Array.from(probs), labels, classes, plan.multilabel),
      };
    },
    classFrequencies: () => classCounts(dataset, "train"),
  };
}

/** The segmentation metrics this runtime computes from pixel counts. */
const SEGMENTATION_METRICS = new Set(["dice", "iou", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "sensitivity", "specificity", "confusion_matrix"]);

function segmentationData(o: RunTrainingOptions, seed: number): TaskData<SegmentationSample> {
  const { tf, plan } = o;
  const out = plan.outputs[0] ?? [];
  const [, k, ...spatial] = out;
  const inputSize = plan.input.shape.slice(1);
  if (plan.input.kind !== "image") throw new TrainingError(`${plan.model}: the tfjs runtime trains 2-D segmentation; 3-D volumes are not supported yet`);
  if (typeof k !== "number" || out.length !== plan.input.shape.length + 1)
    throw new TrainingError(`${plan.model} outputs [${out.join(", ")}]; a segmentation model outputs one map per class, [N, K, ${inputSize.join(", ")}]`);
  if (spatial.some((d, i) => d !== inputSize[i]))
    throw new TrainingError(`${plan.model} outputs maps of ${spatial.join("×")}, but masks are compared at the input size ${inputSize.join("×")}; bring the output to the input resolution (upsample or resize)`);
  const classes: readonly string[] | number = Array.isArray(plan.classes) ? plan.classes : k;
  const opts = { classes, multilabel: plan.multilabel, ...(typeof plan.data?.args.val_split === "number" ? { val_split: plan.data.args.val_split } : {}) };
  let r: SegmentationResult;
  let source: string;
  if (o.data !== undefined) {
    r = openSegmentationFolder(o.data, opts);
    source = `${r.ok ? r.dataset.layout : "segmentation"}(${JSON.stringify(o.data)})`;
  } else if (plan.data) {
    r = openSegmentationData(plan.data, opts);
    const a = plan.data.args;
    source = `${plan.data.name}(${[a.path, a.images, a.masks].filter((v) => typeof v === "string").map((v) => JSON.stringify(v)).join(", ")})`;
  } else
    throw new TrainingError(
      `${plan.model} names no data source; give one with --data DIR (images/ and masks/, or the nnU-Net layout imagesTr/, labelsTr/, dataset.json) or a \`data images_masks(…)\` / \`data msd(…)\` statement`,
    );
  if (!r.ok) throw new TrainingError(r.error);
  const dataset = r.dataset;
  const names = dataset.classNames;
  if (k !== names.length && !(k === 1 && !plan.multilabel))
    throw new TrainingError(`${plan.model} outputs ${k} channels per pixel, but ${source} has ${names.length} classes (${names.join(", ")}); set classes in the task`);
  // Exclusive classes: one softmax over K ≥ 2 channels. Otherwise each channel is a sigmoid (multi-label, or one binary output).
  const exclusive = !plan.multilabel && k > 1;
  const pipeline = new SegmentationPipeline(plan, seed, dataset, k);
  const trainSet = dataset.samples.filter((s) => s.split === "train");
  const [h, w] = inputSize as [number, number];
  const pixels = h * w;
  return {
    source,
    classNames: names,
    outputs: k,
    trainSet,
    valSet: dataset.samples.filter((s) => s.split === "val"),
    what: "images with masks",
    computeStats: () => pipeline.computeStats(trainSet),
    setStats: (s) => (pipeline.stats = s),
    batch(items, epoch) {
      const per = plan.input.shape.reduce((a, b) => a * b, 1);
      const x = new Float32Array(items.length * per);
      const targetPer = exclusive || k === 1 ? pixels : k * pixels;
      const y = new Float32Array(items.length * targetPer);
      items.forEach((s, i) => {
        const r = epoch === null ? pipeline.eval(s) : pipeline.train(s, epoch);
        x.set(r.x, i * per);
        y.set(r.y, i * targetPer);
      });
      return {
        x: tf.tensor(x, [items.length, ...plan.input.shape]),
        y: exclusive || k === 1 ? tf.tensor(Int32Array.from(y), [items.length, h, w], "int32") : tf.tensor(y, [items.length, k, h, w]),
        size: items.length,
      };
    },
    async correct(logits, b) {
      if (!exclusive) return null;
      const right = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), b.y), "int32")));
      const n = (await right.data())[0]!;
      right.dispose();
      return [n, b.size * pixels];
    },
    validator(metrics) {
      const counts = new PixelCounts(k, exclusive, pixels);
      return {
        async add(logits, b) {
          const pred = tf.tidy(() => (exclusive ? tf.argMax(logits, 1) : tf.cast(tf.greater(logits, 0), "int32")));
          counts.add(await pred.data(), await b.y.data());
          pred.dispose();
        },
        report: () => segmentationMetrics(metrics, counts, exclusive),
      };
    },
    classFrequencies: () => pipeline.pixelCounts(trainSet, k),
  };
}

/**
 * Pixel counts over a validation pass. Exclusive classes: a K × K confusion matrix
 * [true][predicted] of arg-max predictions. Otherwise per channel: logit > 0 against the 0/1 target.
 */
class PixelCounts {
  readonly tp: number[];
  readonly fp: number[];
  readonly fn: number[];
  readonly tn: number[];
  readonly confusion: number[][];
  total = 0;

  constructor(
    readonly k: number,
    readonly exclusive: boolean,
    /** Pixels of one map (H·W). */
    private readonly pixels: number,
  ) {
    this.tp = new Array<number>(k).fill(0);
    this.fp = new Array<number>(k).fill(0);
    this.fn = new Array<number>(k).fill(0);
    this.tn = new Array<number>(k).fill(0);
    this.confusion = Array.from({ length: exclusive ? k : 0 }, () => new Array<number>(k).fill(0));
  }

  add(pred: ArrayLike<number>, truth: ArrayLike<number>): void {
    if (this.exclusive) {
      for (let i = 0; i < pred.length; i++) this.confusion[truth[i]!]![pred[i]!]!++;
      this.total += pred.length;
      const k = this.k;
      for (let c = 0; c < k; c++) {
        let row = 0;
        let col = 0;
        for (let j = 0; j < k; j++) {
          row += this.confusion[c]![j]!;
          col += this.confusion[j]![c]!;
        }
        const tp = this.confusion[c]![c]!;
        this.tp[c] = tp;
        this.fn[c] = row - tp;
        this.fp[c] = col - tp;
        this.tn[c] = this.total - row - col + tp;
      }
      return;
    }
    // [B, K, H, W] order; one binary output has K = 1.
    for (let i = 0; i < pred.length; i++) {
      const c = Math.floor(i / this.pixels) % this.k;
      const p = pred[i]! > 0;
      const t = truth[i]! > 0;
      if (p && t) this.tp[c]!++;
      else if (p) this.fp[c]!++;
      else if (t) this.fn[c]!++;
      else this.tn[c]!++;
    }
    this.total += pred.length / this.k;
  }
}

const nanMean = (values: readonly number[]): number => {
  const finite = values.filter((v) => !Number.isNaN(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
};
const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
const zeroDiv = (a: number, b: number): number => (b > 0 ? a / b : 0);

/**
 * Segmentation metrics from pixel counts pooled over the validation set, with the conventions of
 * metrics.ts: Dice 2TP / (2TP + FP + FN) and IoU TP / (TP + FP + FN) per class, NaN for a class
 * with no true pixels and left out of the mean, class 0 (background) left out of the mean unless
 * include_background (multi-label and single-output maps have no background channel); accuracy
 * is pixel accuracy; precision / recall / f1 as scikit-learn's on pixels.
 */
function segmentationMetrics(entries: readonly Entry[], n: PixelCounts, exclusive: boolean): MetricReport {
  const report: MetricReport = { scalars: {}, perClass: {} };
  const { tp, fp, fn, tn, k } = n;
  const used = new Set<string>();
  const classes = Array.from({ length: k }, (_, c) => c);
  const inSet = classes.map((c) => !exclusive || tp[c]! + fp[c]! + fn[c]! > 0);
  for (const entry of entries) {
    let key = entry.name;
    for (let i = 2; used.has(key); i++) key = `${entry.name}_${i}`;
    used.add(key);
    const average = typeof entry.args.average === "string" ? entry.args.average : "macro";
    const perClass = (values: number[], mean: number) => {
      report.perClass[key] = values;
      if (average !== "per_class") report.scalars[key] = mean;
    };
    switch (entry.name) {
      case "dice":
      case "iou": {
        const values = classes.map((c) => (tp[c]! + fn[c]! === 0 ? NaN : entry.name === "dice" ? (2 * tp[c]!) / (2 * tp[c]! + fp[c]! + fn[c]!) : tp[c]! / (tp[c]! + fp[c]! + fn[c]!)));
        const withBackground = entry.args.include_background === true || !exclusive;
        perClass(values, nanMean(withBackground ? values : values.slice(1)));
        break;
      }
      case "accuracy":
        report.scalars[key] = exclusive ? ratio(classes.reduce((a, c) => a + tp[c]!, 0), n.total) : ratio(classes.reduce((a, c) => a + tp[c]! + tn[c]!, 0), n.total * k);
        break;
      case "balanced_accuracy":
        report.scalars[key] = exclusive
          ? nanMean(classes.map((c) => ratio(tp[c]!, tp[c]! + fn[c]!)))
          : nanMean(classes.map((c) => (ratio(tp[c]!, tp[c]! + fn[c]!) + ratio(tn[c]!, tn[c]! + fp[c]!)) / 2));
        break;
      case "sensitivity":
        perClass(classes.map((c) => ratio(tp[c]!, tp[c]! + fn[c]!)), nanMean(classes.map((c) => ratio(tp[c]!, tp[c]! + fn[c]!))));
        break;
      case "specificity":
        perClass(classes.map((c) => ratio(tn[c]!, tn[c]! + fp[c]!)), nanMean(classes.map((c) => ratio(tn[c]!, tn[c]! + fp[c]!))));
        break;
      case "precision":
      case "recall":
      case "f1": {
        const score = (t: number, p: number, f: number) => (entry.name === "precision" ? zeroDiv(t, t + p) : entry.name === "recall" ? zeroDiv(t, t + f) : zeroDiv(2 * t, 2 * t + p + f));
        const values = classes.map((c) => (inSet[c] ? score(tp[c]!, fp[c]!, fn[c]!) : NaN));
        const sum = (xs: number[]) => classes.filter((c) => inSet[c]).reduce((a, c) => a + xs[c]!, 0);
        let value: number;
        if (average === "micro") value = score(sum(tp), sum(fp), sum(fn));
        else if (average === "weighted") {
          const support = classes.map((c) => tp[c]! + fn[c]!);
          value = zeroDiv(
            classes.filter((c) => inSet[c]).reduce((a, c) => a + support[c]! * values[c]!, 0),
            sum(support),
          );
        } else value = nanMean(values);
        report.scalars[key] = value;
        report.perClass[key] = values;
        break;
      }
      case "confusion_matrix":
        report.confusion = exclusive ? n.confusion.map((row) => [...row]) : classes.map((c) => [tn[c]!, fp[c]!, fn[c]!, tp[c]!]);
        break;
      default:
        throw new TrainingError(`metric ${entry.name} is not computed for segmentation (${[...SEGMENTATION_METRICS].join(", ")} are)`);
    }
  }
  return report;
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

/** Cross-entropy (BCE when multi-label); segmentation: 0.5·Dice + 0.5·CE (BCE), nnU-Net's default. */
function defaultLoss(plan: ProgramPlan): LossSpec {
  const ce: Entry = plan.multilabel ? { name: "bce", args: { pos_weight: null } } : { name: "ce", args: { label_smoothing: 0, ignore_index: null } };
  if (plan.task.name !== "segment") return { terms: [{ weight: 1, entry: ce }] };
  return {
    terms: [
      { weight: 0.5, entry: { name: "dice", args: { smooth: 1e-5, include_background: true } } },
      { weight: 0.5, entry: ce },
    ],
  };
}

/** The plan's metrics, else accuracy; segmentation: Dice and IoU, and Dice always (it picks the best checkpoint). */
function metricsOf(plan: ProgramPlan): Entry[] {
  if (plan.task.name !== "segment") return plan.metrics.length ? plan.metrics : [{ name: "accuracy", args: { top_k: 1 } }];
  const dice: Entry = { name: "dice", args: { include_background: false } };
  if (!plan.metrics.length) return [dice, { name: "iou", args: { include_background: false } }];
  return plan.metrics.some((m) => m.name === "dice") ? plan.metrics : [dice, ...plan.metrics];
}

function chooseMonitor(requested: string | undefined, metrics: readonly Entry[], segment: boolean): Monitor {
  const names = metrics.map((m) => m.name).filter((n) => n !== "confusion_matrix");
  const metric = requested ?? (segment && names.includes("dice") ? "dice" : names.includes("accuracy") ? "accuracy" : (names[0] ?? "val_loss"));
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
  if (task !== "classify" && task !== "segment") throw new TrainingError(`the tfjs runtime trains classification and segmentation models; ${plan.model} has task ${task}`);
  const segment = task === "segment";
  const metricEntries = metricsOf(plan);
  if (segment) {
    const unsupported = metricEntries.filter((m) => !SEGMENTATION_METRICS.has(m.name)).map((m) => m.name);
    if (unsupported.length) throw new TrainingError(`metric ${unsupported.join(", ")} is not computed for segmentation by the tfjs runtime (${[...SEGMENTATION_METRICS].join(", ")} are)`);
  }
  mkdirSync(o.out, { recursive: true });
  const previous = o.resume ? readJson<RunRecord>(join(o.out, RUN)) : undefined;
  if (o.resume && (!previous || !existsSync(join(o.out, LAST)))) throw new TrainingError(`--resume: ${o.out} has no run to resume (run.json and ${LAST} are missing)`);
  if (previous && o.seed !== undefined && o.seed !== previous.seed) throw new TrainingError(`--resume: the run used seed ${previous.seed}, not ${o.seed}`);
  const seed = previous?.seed ?? o.seed ?? plan.seed ?? 0;

  const data: TaskData<{ path: string }> = (segment ? segmentationData(o, seed) : classificationData(o, seed)) as TaskData<{ path: string }>;
  const { trainSet, valSet, source } = data;
  if (trainSet.length === 0 || valSet.length === 0) throw new TrainingError(`${source}: needs training and validation ${data.what}, found ${trainSet.length} and ${valSet.length}`);
  const classes = data.outputs;
  const stats = previous?.normalization.stats ?? data.computeStats();
  data.setStats(stats);

  // Stages and their settings; a resumed run keeps the ones it started with.
  const stages: ProgramStage[] = plan.stages.length
    ? plan.stages
    : [{ name: "train", freeze: [], unfreeze: [], epochs: null, lr: null, batch: null, optimizer: null, schedule: null }];
  const settings: RunRecord["settings"] = previous?.settings ?? {
    stages: stages.map((s) => ({ name: s.name, epochs: o.epochs ?? s.epochs ?? plan.epochs ?? DEFAULT_EPOCHS, batch: o.batch ?? s.batch ?? plan.batch ?? DEFAULT_BATCH })),
    monitor: chooseMonitor(o.monitor, metricEntries, segment),
    patience: o.patience === undefined ? DEFAULT_PATIENCE : o.patience,
  };
  const monitor = settings.monitor;
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
    classes: data.classNames,
    data: { source, train: trainSet.length, val: valSet.length },
    normalization: { entry: plan.normalize, ...(stats ? { stats } : {}) },
    plan,
    epochs: previous ? previous.epochs.filter((e) => e.epoch <= doneEpochs) : [],
    best: null,
  };
  for (const r of record.epochs) if (improved(monitor, monitored(monitor, r), record.best?.value ?? null)) record.best = { epoch: r.epoch, metric: monitor.metric, value: monitored(monitor, r) };

  const lossSpec = plan.loss ?? defaultLoss(plan);
  const needsFrequencies = lossSpec.terms.some((t) => t.entry.name === "weighted_ce" && (t.entry.args.weights === null || t.entry.args.weights === undefined));
  const classFrequencies = needsFrequencies ? data.classFrequencies() : undefined;
  // Losses over maps transpose and broadcast whole batches: on pure-JS tfjs they use the runtime's fast versions of those ops.
  const lossFn = makeLoss(segment ? accelerate(tf) : tf, lossSpec, { classes, multilabel: plan.multilabel, ...(classFrequencies ? { classFrequencies } : {}) });
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
    io.out(`training ${plan.model} on ${source}: ${trainSet.length} training and ${valSet.length} validation ${data.what}, ${data.classNames.length} classes; ${totalEpochs} epochs in ${stages.length} stage${stages.length === 1 ? "" : "s"}; seed ${seed}`);

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
          let counted = 0;
          let lr = 0;
          for (const [bi, items] of batches.entries()) {
            lr = schedule.lr(e, bi);
            const b = data.batch(items, globalEpoch);
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
            const right = logits ? await data.correct(logits, b) : null;
            if (right) {
              correct += right[0];
              counted += right[1];
            }
            tf.dispose([b.x, b.y, ...(logits ? [logits] : [])]);
            lossSum += lossValue * b.size;
            seen += b.size;
            step++;
            progress.update(bi + 1, seen, { loss: lossSum / seen, ...(counted ? { metric: ["acc", correct / counted] as [string, number] } : {}) });
          }
          progress.finish();
          const trainSeconds = progress.elapsed;

          // -- validate
          const validator = data.validator(metricEntries);
          let valLoss = 0;
          for (let first = 0; first < valSet.length; first += batch) {
            const items = valSet.slice(first, first + batch);
            const b = data.batch(items, null);
            const [logits, l] = tf.tidy(() => {
              const logits = firstOutput(o.model.forward(params, b.x, createForwardContext(tf)));
              return [logits, lossFn(logits, b.y)] as const;
            });
            await validator.add(logits, b);
            valLoss += (await l.data())[0]! * b.size;
            tf.dispose([logits, l, b.x, b.y]);
          }
          valLoss /= valSet.length;
          const report = validator.report();
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

const trainUsage = `usage: node train.js --data DIR [--out runs/NAME] [--runtime auto|tfjs-node-gpu|tfjs-node|wasm|cpu] [--threads N]
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
        threads: { type: "string" },
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
      const threads = intFlag("threads", values.threads as string | undefined, 1);
      const loaded = await loadTf({ prefer: prefer as RuntimeName | "auto", searchDirs: [dir], report: (line) => io.err(line), ...(threads !== undefined ? { threads } : {}) });
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
