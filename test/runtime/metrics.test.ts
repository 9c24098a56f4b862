import { describe, expect, it } from "vitest";
import { aurocBinary, averagePrecision, computeMetrics } from "../../src/runtime/metrics.js";
import type { Entry } from "../../src/runtime/types.js";

const e = (name: string, args: Record<string, unknown> = {}): Entry => ({ name, args });

/*
 * Six samples, three classes. Predictions (arg-max): [0, 1, 2, 1, 0, 2]; labels [0, 1, 1, 2, 0, 2].
 * Confusion [true][pred]: [[2, 0, 0], [0, 1, 1], [0, 1, 1]].
 */
const P3 = new Float32Array([0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.2, 0.6, 0.25, 0.4, 0.35, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5]);
const Y3 = [0, 1, 1, 2, 0, 2];

/** AUROC as the fraction of (positive, negative) pairs ranked right, ties counting one half. */
function pairwiseAuroc(scores: number[], truth: number[]): number {
  let s = 0;
  let n = 0;
  scores.forEach((sp, i) => {
    if (!truth[i]) return;
    scores.forEach((sn, j) => {
      if (truth[j]) return;
      s += sp > sn ? 1 : sp === sn ? 0.5 : 0;
      n++;
    });
  });
  return s / n;
}

describe("single-label", () => {
  const run = (entries: Entry[]) => computeMetrics(entries, P3, Y3, 3, false);

  it("accuracy and top-k (equal scores: lower class index ranks first)", () => {
    const r = run([e("accuracy", { top_k: 1 }), e("accuracy", { top_k: 2 }), e("accuracy", { top_k: 3 })]);
    expect(r.scalars.accuracy).toBeCloseTo(4 / 6, 12);
    // sample 2 scores [0.2, 0.2, 0.6] with label 1: class 0 ties and ranks before it, so it misses the top 2
    expect(r.scalars.accuracy_top_k_2).toBeCloseTo(5 / 6, 12);
    expect(r.scalars.accuracy_top_k_3).toBe(1);
  });
  it("balanced accuracy, precision, recall, f1", () => {
    const r = run([e("balanced_accuracy"), e("precision"), e("recall"), e("f1", { average: "macro" })]);
    expect(r.scalars.balanced_accuracy).toBeCloseTo((1 + 0.5 + 0.5) / 3, 12);
    expect(r.perClass.precision).toEqual([1, 0.5, 0.5]);
    expect(r.perClass.recall).toEqual([1, 0.5, 0.5]);
    expect(r.perClass.f1).toEqual([1, 0.5, 0.5]);
    expect(r.scalars.f1).toBeCloseTo(2 / 3, 12);
  });
  it("micro averages equal accuracy for single-label", () => {
    const r = run([e("f1", { average: "micro" }), e("precision", { average: "micro" }), e("recall", { average: "micro" })]);
    expect(r.scalars.f1).toBeCloseTo(4 / 6, 12);
    expect(r.scalars.precision).toBeCloseTo(4 / 6, 12);
    expect(r.scalars.recall).toBeCloseTo(4 / 6, 12);
  });
  it("sensitivity and specificity", () => {
    const r = run([e("sensitivity"), e("specificity", { average: "per_class" })]);
    expect(r.scalars.sensitivity).toBeCloseTo(2 / 3, 12);
    expect(r.perClass.specificity).toEqual([1, 0.75, 0.75]);
    expect(r.scalars.specificity).toBeUndefined(); // per_class: no scalar
  });
  it("auroc per class, including a tie between a positive and a negative", () => {
    const r = run([e("auroc", { average: "macro" })]);
    // class 1: positives 0.6, 0.2; negatives 0.2, 0.4, 0.3, 0.3 → (4 + 0.5) / 8
    expect(r.perClass.auroc).toEqual([1, 0.5625, 0.75]);
    expect(r.scalars.auroc).toBeCloseTo((1 + 0.5625 + 0.75) / 3, 12);
    for (let c = 0; c < 3; c++) {
      const scores = Y3.map((_, i) => P3[i * 3 + c] as number);
      const truth = Y3.map((y) => (y === c ? 1 : 0));
      expect(r.perClass.auroc![c]).toBeCloseTo(pairwiseAuroc(scores, truth), 12);
    }
  });
  it("auprc: average precision over distinct thresholds", () => {
    const r = run([e("auprc")]);
    // class 1 by descending score: 0.6 P | 0.4 N | 0.3 N N | 0.2 P N → 0.5·1 + 0.5·(2/6)
    // class 2: 0.6 N | 0.5 P | 0.35 P → 0.5·0.5 + 0.5·(2/3)
    const want = [1, 0.5 + 0.5 / 3, 0.25 + 1 / 3];
    r.perClass.auprc!.forEach((v, c) => expect(v).toBeCloseTo(want[c]!, 6));
    expect(r.scalars.auprc).toBeCloseTo(0.75, 6);
  });
  it("confusion matrix", () => {
    expect(run([e("confusion_matrix")]).confusion).toEqual([
      [2, 0, 0],
      [0, 1, 1],
      [0, 1, 1],
    ]);
  });
});

describe("classes absent from the labels", () => {
  // Four classes; class 3 never occurs; class 2 is predicted once but never true.
  // predictions [0, 0, 1, 2, 0]; labels [0, 0, 1, 1, 1]
  const probs = new Float32Array([0.9, 0.05, 0.03, 0.02, 0.6, 0.3, 0.05, 0.05, 0.2, 0.7, 0.05, 0.05, 0.1, 0.3, 0.5, 0.1, 0.5, 0.4, 0.05, 0.05]);
  const labels = [0, 0, 1, 1, 1];
  const r = computeMetrics(
    [e("auroc"), e("auprc"), e("precision"), e("recall", { average: "weighted" }), e("f1", { average: "weighted" }), e("balanced_accuracy"), e("sensitivity")],
    probs,
    labels,
    4,
    false,
  );
  it("AUROC and AUPRC are NaN for classes without positives and left out of the mean", () => {
    expect(r.perClass.auroc![2]).toBeNaN();
    expect(r.perClass.auroc![3]).toBeNaN();
    const a0 = pairwiseAuroc([0.9, 0.6, 0.2, 0.1, 0.5], [1, 1, 0, 0, 0]);
    const a1 = pairwiseAuroc([0.05, 0.3, 0.7, 0.3, 0.4], [0, 0, 1, 1, 1]);
    expect(r.perClass.auroc![0]).toBeCloseTo(a0, 12);
    expect(r.perClass.auroc![1]).toBeCloseTo(a1, 12);
    expect(r.scalars.auroc).toBeCloseTo((a0 + a1) / 2, 12);
    expect(r.perClass.auprc![3]).toBeNaN();
  });
  it("precision/recall average over classes in the labels or predictions (scikit-learn)", () => {
    // class 0: tp 2 fp 1 → P 2/3, R 1; class 1: tp 1 fn 2 → P 1, R 1/3; class 2: fp 1 → P 0, R 0 (zero_division); class 3 absent
    expect(r.perClass.precision![3]).toBeNaN();
    expect(r.scalars.precision).toBeCloseTo((2 / 3 + 1 + 0) / 3, 12);
    // weighted by support [2, 3, 0]
    expect(r.scalars.recall).toBeCloseTo((2 * 1 + 3 * (1 / 3)) / 5, 12);
    expect(r.scalars.f1).toBeCloseTo((2 * 0.8 + 3 * 0.5) / 5, 12);
  });
  it("balanced accuracy and sensitivity use only classes with true samples", () => {
    expect(r.scalars.balanced_accuracy).toBeCloseTo((1 + 1 / 3) / 2, 12);
    expect(r.perClass.sensitivity![2]).toBeNaN();
    expect(r.scalars.sensitivity).toBeCloseTo((1 + 1 / 3) / 2, 12);
  });
});

describe("multi-label", () => {
  // predictions at 0.5: [[1,0],[1,1],[0,0],[0,1]]; truth [[1,0],[1,1],[0,1],[0,0]]
  const probs = new Float32Array([0.9, 0.2, 0.6, 0.7, 0.3, 0.4, 0.1, 0.8]);
  const labels = [[0], [0, 1], [1], []];
  const r = computeMetrics(
    [e("accuracy"), e("balanced_accuracy"), e("f1"), e("precision", { average: "micro" }), e("auroc"), e("confusion_matrix"), e("specificity")],
    probs,
    labels,
    2,
    true,
  );
  it("per-label accuracy, balanced accuracy and F1", () => {
    expect(r.scalars.accuracy).toBe(0.75);
    expect(r.scalars.balanced_accuracy).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(r.perClass.f1).toEqual([1, 0.5]);
    expect(r.scalars.precision).toBeCloseTo(0.75, 12);
    expect(r.perClass.specificity).toEqual([1, 0.5]);
  });
  it("auroc per label", () => {
    expect(r.perClass.auroc).toEqual([1, 0.5]);
    expect(r.scalars.auroc).toBeCloseTo(0.75, 12);
  });
  it("confusion: one [tn, fp, fn, tp] row per label", () => {
    expect(r.confusion).toEqual([
      [2, 0, 0, 2],
      [1, 1, 1, 1],
    ]);
  });
});

describe("ranking helpers", () => {
  it("all-tied scores give AUROC 0.5", () => {
    expect(aurocBinary([0.3, 0.3, 0.3, 0.3], [1, 0, 1, 0])).toBe(0.5);
  });
  it("AUROC with several tie groups equals the pairwise count", () => {
    const s = [0.1, 0.4, 0.4, 0.4, 0.8, 0.8, 0.2, 0.9, 0.1];
    const t = [0, 1, 0, 1, 1, 0, 0, 1, 1];
    expect(aurocBinary(s, t)).toBeCloseTo(pairwiseAuroc(s, t), 12);
    expect(aurocBinary(s, [0, 0, 0, 0, 0, 0, 0, 0, 0])).toBeNaN();
  });
  it("average precision groups tied scores into one threshold", () => {
    // scores 0.8 (P, N tie) then 0.5 (P): thresholds 0.8 → P 1/2, R 1/2; 0.5 → P 2/3, R 1
    expect(averagePrecision([0.8, 0.8, 0.5], [1, 0, 1])).toBeCloseTo(0.5 * 0.5 + 0.5 * (2 / 3), 12);
    expect(averagePrecision([0.9, 0.5], [1, 1])).toBe(1);
  });
});

describe("segmentation and regression", () => {
  it("dice and iou pool pixels per class; background excluded by default", () => {
    // 6 pixels, 3 classes; predictions [0, 0, 1, 1, 2, 0]; truth [0, 1, 1, 1, 2, 2]
    const probs = new Float32Array([0.8, 0.1, 0.1, 0.5, 0.4, 0.1, 0.1, 0.8, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.6, 0.2, 0.2]);
    const labels = [0, 1, 1, 1, 2, 2];
    const r = computeMetrics([e("dice", { include_background: false }), e("iou", { include_background: true })], probs, labels, 3, false);
    // class 0: tp 1 fp 2 fn 0; class 1: tp 2 fp 0 fn 1; class 2: tp 1 fp 0 fn 1
    expect(r.perClass.dice).toEqual([2 / 4, 4 / 5, 2 / 3]);
    expect(r.scalars.dice).toBeCloseTo((4 / 5 + 2 / 3) / 2, 12);
    expect(r.scalars.iou).toBeCloseTo((1 / 3 + 2 / 3 + 1 / 2) / 3, 12);
  });
  it("mae and rmse over all outputs", () => {
    const r = computeMetrics(
      [e("mae"), e("rmse")],
      new Float32Array([1, 2, 3, 5]),
      [
        [1.5, 2],
        [2, 3],
      ],
      2,
      false,
    );
    expect(r.scalars.mae).toBeCloseTo((0.5 + 0 + 1 + 2) / 4, 6);
    expect(r.scalars.rmse).toBeCloseTo(Math.sqrt((0.25 + 0 + 1 + 4) / 4), 6);
  });
});

describe("errors", () => {
  it("rejects mismatched sizes, bad labels, unknown and unsupported entries", () => {
    expect(() => computeMetrics([e("accuracy")], new Float32Array(5), [0, 1], 3, false)).toThrow(/expected 6/);
    expect(() => computeMetrics([e("accuracy")], new Float32Array(6), [0, 3], 3, false)).toThrow(/outside 0..2/);
    expect(() => computeMetrics([e("accuracy")], new Float32Array(6), [0, [1, 2]], 3, false)).toThrow(/2 labels/);
    expect(() => computeMetrics([e("kappa")], new Float32Array(6), [0, 1], 3, false)).toThrow(/unknown metric 'kappa'/);
    expect(() => computeMetrics([e("hd95")], new Float32Array(6), [0, 1], 3, false)).toThrow(/spatial masks/);
    expect(() => computeMetrics([e("f1", { average: "samples" })], new Float32Array(6), [0, 1], 3, false)).toThrow(/average/);
  });
});
