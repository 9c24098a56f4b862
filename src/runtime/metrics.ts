/**
 * Validation metrics, one per registry entry (src/policy/registry.ts `metrics`), in plain
 * JavaScript: they run once an epoch on collected probabilities, so they need no tensors.
 *
 * Input: `probs` row-major B × K (softmax probabilities for single-label, per-class sigmoid
 * probabilities for multi-label, raw outputs for regression), `labels` one per row (a class index;
 * for multi-label the list of positive classes; for regression the target value or values).
 *
 * Conventions (scikit-learn's unless said otherwise):
 * - Predictions: the arg-max class (the lowest index among equal maxima) for single-label;
 *   probability ≥ 0.5 for each label of a multi-label task.
 * - precision / recall / f1: per class one-vs-rest; 0 where the denominator is 0 (zero_division=0).
 *   Single-label averages run over the classes present in the labels or the predictions
 *   (scikit-learn's default label set); multi-label ones over all K labels. micro pools the counts,
 *   weighted weighs each class by its number of true samples.
 * - sensitivity / specificity, auroc, auprc: per class one-vs-rest, NaN where undefined (a class
 *   with no positive, or no negative, samples); averages leave NaN classes out (NaN if all are).
 * - auroc: the Mann–Whitney statistic with mid-ranks, so tied scores count one half — the area
 *   under the ROC curve drawn through tied points with the trapezoid rule.
 * - auprc: average precision, Σ (R_n - R_{n-1})·P_n over distinct score thresholds
 *   (sklearn.metrics.average_precision_score).
 * - `average: "per_class"` reports the values under perClass only; "macro" also puts their mean
 *   in scalars. perClass is filled for every per-class metric.
 *
 * Keys: scalars and perClass use the entry's name ("f1", "auroc"); a second entry of the same
 * name gets its arguments appended ("accuracy_top_k_5").
 */
import type { Entry, MetricReport } from "./types.js";

type Labels = readonly (number | readonly number[])[];

interface Counts {
  tp: number[];
  fp: number[];
  fn: number[];
  tn: number[];
}

/** What every metric may need, computed once. */
interface Prepared {
  b: number;
  k: number;
  probs: Float32Array;
  multilabel: boolean;
  /** truth[i * k + c] ∈ {0, 1}: one-hot (single-label) or multi-hot (multi-label). */
  truth: Uint8Array;
  /** pred[i * k + c] ∈ {0, 1}: arg-max one-hot or thresholded. */
  pred: Uint8Array;
  counts: Counts;
  /** Single-label only: class index of each row. */
  y: Int32Array;
  /** Single-label only: predicted class of each row. */
  yHat: Int32Array;
}

function argError(entry: Entry, name: string, want: string): Error {
  return new TypeError(`metric ${entry.name}: argument '${name}' must be ${want}, got ${JSON.stringify(entry.args[name])}`);
}

function intArg(entry: Entry, name: string, dflt: number): number {
  const v = entry.args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw argError(entry, name, "a positive integer");
  return v;
}

function enumArg<T extends string>(entry: Entry, name: string, choices: readonly T[], dflt: T): T {
  const v = entry.args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) throw argError(entry, name, `one of ${choices.join(", ")}`);
  return v as T;
}

function boolArg(entry: Entry, name: string, dflt: boolean): boolean {
  const v = entry.args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") throw argError(entry, name, "true or false");
  return v;
}

// ---------------------------------------------------------------------------------------------

function prepare(probs: Float32Array, labels: Labels, k: number, multilabel: boolean): Prepared {
  const b = labels.length;
  if (!Number.isInteger(k) || k < 1) throw new Error(`metrics: classes must be a positive integer, got ${k}`);
  if (probs.length !== b * k) throw new Error(`metrics: ${probs.length} probabilities for ${b} samples of ${k} classes (expected ${b * k})`);
  const truth = new Uint8Array(b * k);
  const pred = new Uint8Array(b * k);
  const y = new Int32Array(multilabel ? 0 : b);
  const yHat = new Int32Array(multilabel ? 0 : b);
  for (let i = 0; i < b; i++) {
    const label = labels[i] as number | readonly number[];
    const positives = typeof label === "number" ? [label] : label;
    if (!multilabel && positives.length !== 1) throw new Error(`metrics: sample ${i} of a single-label task has ${positives.length} labels`);
    for (const c of positives) {
      if (!Number.isInteger(c) || c < 0 || c >= k) throw new Error(`metrics: sample ${i} has label ${c}, outside 0..${k - 1}`);
      truth[i * k + c] = 1;
    }
    if (multilabel) {
      for (let c = 0; c < k; c++) pred[i * k + c] = (probs[i * k + c] as number) >= 0.5 ? 1 : 0;
    } else {
      let best = 0;
      for (let c = 1; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + best] as number)) best = c;
      pred[i * k + best] = 1;
      y[i] = positives[0] as number;
      yHat[i] = best;
    }
  }
  const counts: Counts = { tp: new Array(k).fill(0), fp: new Array(k).fill(0), fn: new Array(k).fill(0), tn: new Array(k).fill(0) };
  for (let i = 0; i < b; i++)
    for (let c = 0; c < k; c++) {
      const t = truth[i * k + c];
      const p = pred[i * k + c];
      if (t && p) counts.tp[c]++;
      else if (p) counts.fp[c]++;
      else if (t) counts.fn[c]++;
      else counts.tn[c]++;
    }
  return { b, k, probs, multilabel, truth, pred, counts, y, yHat };
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
const zeroDiv = (a: number, b: number): number => (b > 0 ? a / b : 0);

/** Mean of the finite values; NaN when there are none. */
function nanMean(values: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const v of values)
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  return n > 0 ? s / n : NaN;
}

/** Classes an average runs over: present in labels or predictions (single-label), all (multi-label). */
function labelSet(p: Prepared): boolean[] {
  const { tp, fp, fn } = p.counts;
  return Array.from({ length: p.k }, (_, c) => p.multilabel || tp[c]! + fp[c]! + fn[c]! > 0);
}

type Average = "macro" | "micro" | "weighted";

/** precision / recall / f1 with scikit-learn's averaging; per-class values NaN outside the label set. */
function prf(p: Prepared, which: "precision" | "recall" | "f1", average: Average): { value: number; perClass: number[] } {
  const { tp, fp, fn } = p.counts;
  const inSet = labelSet(p);
  const score = (t: number, f_p: number, f_n: number): number =>
    which === "precision" ? zeroDiv(t, t + f_p) : which === "recall" ? zeroDiv(t, t + f_n) : zeroDiv(2 * t, 2 * t + f_p + f_n);
  const perClass = Array.from({ length: p.k }, (_, c) => (inSet[c] ? score(tp[c]!, fp[c]!, fn[c]!) : NaN));
  let value: number;
  if (average === "micro") {
    let t = 0;
    let f_p = 0;
    let f_n = 0;
    for (let c = 0; c < p.k; c++)
      if (inSet[c]) {
        t += tp[c]!;
        f_p += fp[c]!;
        f_n += fn[c]!;
      }
    value = score(t, f_p, f_n);
  } else if (average === "weighted") {
    let s = 0;
    let w = 0;
    for (let c = 0; c < p.k; c++)
      if (inSet[c]) {
        const support = tp[c]! + fn[c]!;
        s += support * perClass[c]!;
        w += support;
      }
    value = zeroDiv(s, w);
  } else {
    value = nanMean(perClass);
  }
  return { value, perClass };
}

/** Single-label: the true class is among the k highest scores (equal scores: lower index first). Multi-label: per-label accuracy. */
function accuracy(p: Prepared, topK: number): number {
  if (p.b === 0) return NaN;
  if (p.multilabel) {
    let right = 0;
    for (let i = 0; i < p.truth.length; i++) if (p.truth[i] === p.pred[i]) right++;
    return right / p.truth.length;
  }
  let hits = 0;
  for (let i = 0; i < p.b; i++) {
    const y = p.y[i] as number;
    const sy = p.probs[i * p.k + y] as number;
    let rank = 0;
    for (let c = 0; c < p.k; c++) {
      const s = p.probs[i * p.k + c] as number;
      if (s > sy || (s === sy && c < y)) rank++;
    }
    if (rank < topK) hits++;
  }
  return hits / p.b;
}

/**
 * Single-label: mean recall over the classes present in the labels (sklearn.metrics.balanced_accuracy_score).
 * Multi-label: mean over labels of (sensitivity + specificity) / 2, over labels where both are defined.
 */
function balancedAccuracy(p: Prepared): number {
  const { tp, fp, fn, tn } = p.counts;
  if (!p.multilabel) return nanMean(Array.from({ length: p.k }, (_, c) => ratio(tp[c]!, tp[c]! + fn[c]!)));
  return nanMean(Array.from({ length: p.k }, (_, c) => (ratio(tp[c]!, tp[c]! + fn[c]!) + ratio(tn[c]!, tn[c]! + fp[c]!)) / 2));
}

/** Scores of column c and 0/1 truth of column c. */
function column(p: Prepared, c: number): { scores: number[]; truth: number[] } {
  const scores: number[] = new Array(p.b);
  const truth: number[] = new Array(p.b);
  for (let i = 0; i < p.b; i++) {
    scores[i] = p.probs[i * p.k + c] as number;
    truth[i] = p.truth[i * p.k + c] as number;
  }
  return { scores, truth };
}

/** Mann–Whitney AUROC with mid-ranks for ties; NaN without positives or negatives. */
export function aurocBinary(scores: readonly number[], truth: readonly number[]): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let t = i; t <= j; t++)
      if (truth[order[t]!]) {
        rankSumPos += midRank;
        nPos++;
      }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Average precision over distinct thresholds, high to low; NaN without positives. */
export function averagePrecision(scores: readonly number[], truth: readonly number[]): number {
  const n = scores.length;
  const nPos = truth.reduce((a, t) => a + (t ? 1 : 0), 0);
  if (nPos === 0) return NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    for (let t = i; t <= j; t++) {
      if (truth[order[t]!]) tp++;
      else fp++;
    }
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}

function perClassCurve(p: Prepared, fn: (s: readonly number[], t: readonly number[]) => number): number[] {
  return Array.from({ length: p.k }, (_, c) => {
    const { scores, truth } = column(p, c);
    return fn(scores, truth);
  });
}

/** K × K counts [true][predicted]; multi-label: one row [tn, fp, fn, tp] per label. */
function confusion(p: Prepared): number[][] {
  if (p.multilabel) {
    const { tp, fp, fn, tn } = p.counts;
    return Array.from({ length: p.k }, (_, c) => [tn[c]!, fp[c]!, fn[c]!, tp[c]!]);
  }
  const m = Array.from({ length: p.k }, () => new Array<number>(p.k).fill(0));
  for (let i = 0; i < p.b; i++) m[p.y[i]!]![p.yHat[i]!]!++;
  return m;
}

/**
 * Dice and IoU when each row is one pixel / voxel (segmentation outputs flattened to N × K): per
 * class over all rows, 2TP / (2TP + FP + FN) and TP / (TP + FP + FN), i.e. pooled over the whole
 * validation set rather than averaged per image. A class with no true pixels is NaN (MONAI's
 * ignore_empty) and left out of the mean; class 0 is left out unless include_background.
 */
function overlapMetric(p: Prepared, kind: "dice" | "iou", includeBackground: boolean): { value: number; perClass: number[] } {
  const { tp, fp, fn } = p.counts;
  const perClass = Array.from({ length: p.k }, (_, c) => {
    if (tp[c]! + fn[c]! === 0) return NaN;
    return kind === "dice" ? (2 * tp[c]!) / (2 * tp[c]! + fp[c]! + fn[c]!) : tp[c]! / (tp[c]! + fp[c]! + fn[c]!);
  });
  const used = includeBackground || p.k === 1 ? perClass : perClass.slice(1);
  return { value: nanMean(used), perClass };
}

/** Regression errors over all outputs: labels are the targets (one number, or one per output). */
function regression(probs: Float32Array, labels: Labels, k: number, kind: "mae" | "rmse"): number {
  if (probs.length !== labels.length * k) throw new Error(`metrics: ${probs.length} outputs for ${labels.length} samples of ${k} outputs`);
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number | readonly number[];
    const targets = typeof l === "number" ? [l] : l;
    if (targets.length !== k) throw new Error(`metrics: sample ${i} has ${targets.length} targets for ${k} outputs`);
    for (let c = 0; c < k; c++) {
      const d = (probs[i * k + c] as number) - (targets[c] as number);
      s += kind === "mae" ? Math.abs(d) : d * d;
    }
  }
  const mean = s / Math.max(1, probs.length);
  return kind === "mae" ? mean : Math.sqrt(mean);
}

function keyFor(entry: Entry, used: Set<string>): string {
  let key = entry.name;
  if (used.has(key)) {
    const parts = Object.entries(entry.args)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}_${Array.isArray(v) ? v.join("_") : String(v)}`);
    key = [entry.name, ...parts].join("_");
    for (let n = 2; used.has(key); n++) key = `${entry.name}_${n}`;
  }
  used.add(key);
  return key;
}

/** Every requested metric on one epoch's validation outputs. */
export function computeMetrics(names: Entry[], probs: Float32Array, labels: (number | number[])[], classes: number, multilabel: boolean): MetricReport {
  const report: MetricReport = { scalars: {}, perClass: {} };
  const used = new Set<string>();
  let prepared: Prepared | undefined;
  const prep = (): Prepared => (prepared ??= prepare(probs, labels, classes, multilabel));

  const classMetric = (key: string, values: number[], average: string): void => {
    report.perClass[key] = values;
    if (average !== "per_class") report.scalars[key] = nanMean(values);
  };

  for (const entry of names) {
    const key = keyFor(entry, used);
    switch (entry.name) {
      case "accuracy":
        report.scalars[key] = accuracy(prep(), intArg(entry, "top_k", 1));
        break;
      case "balanced_accuracy":
        report.scalars[key] = balancedAccuracy(prep());
        break;
      case "f1":
      case "precision":
      case "recall": {
        const r = prf(prep(), entry.name, enumArg(entry, "average", ["macro", "micro", "weighted"] as const, "macro"));
        report.scalars[key] = r.value;
        report.perClass[key] = r.perClass;
        break;
      }
      case "sensitivity": {
        const { tp, fn } = prep().counts;
        classMetric(
          key,
          tp.map((t, c) => ratio(t, t + fn[c]!)),
          enumArg(entry, "average", ["macro", "per_class"] as const, "macro"),
        );
        break;
      }
      case "specificity": {
        const { tn, fp } = prep().counts;
        classMetric(
          key,
          tn.map((t, c) => ratio(t, t + fp[c]!)),
          enumArg(entry, "average", ["macro", "per_class"] as const, "macro"),
        );
        break;
      }
      case "auroc":
        classMetric(key, perClassCurve(prep(), aurocBinary), enumArg(entry, "average", ["macro", "per_class"] as const, "macro"));
        break;
      case "auprc":
        classMetric(key, perClassCurve(prep(), averagePrecision), enumArg(entry, "average", ["macro", "per_class"] as const, "macro"));
        break;
      case "confusion_matrix":
        report.confusion = confusion(prep());
        break;
      case "dice":
      case "iou": {
        const r = overlapMetric(prep(), entry.name, boolArg(entry, "include_background", false));
        report.scalars[key] = r.value;
        report.perClass[key] = r.perClass;
        break;
      }
      case "mae":
      case "rmse":
        report.scalars[key] = regression(probs, labels, classes, entry.name);
        break;
      case "hd95":
      case "map":
        throw new Error(
          `metric ${entry.name} needs ${entry.name === "hd95" ? "spatial masks" : "boxes"}; it cannot be computed from per-sample class probabilities`,
        );
      default:
        throw new Error(`unknown metric '${entry.name}'`);
    }
  }
  return report;
}
