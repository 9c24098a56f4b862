import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { balancedClassWeights, makeLoss } from "../../src/runtime/losses.js";
import type { Entry, LossContext, Tensor } from "../../src/runtime/types.js";

/*
 * Reference values were computed once in float64 with PyTorch 1.13 / torchvision 0.14, using the
 * call named beside each value; the focal, Dice and Tversky references spell out the formula in
 * torch because PyTorch has no such function (MONAI's DiceLoss/TverskyLoss with batch=False,
 * smooth_nr = smooth_dr = smooth, compute the same).
 */

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const single: LossContext = { classes: 3, multilabel: false };
const multi: LossContext = { classes: 3, multilabel: true };

function entry(name: string, args: Record<string, unknown> = {}): Entry {
  return { name, args };
}

function lossOf(e: Entry, ctx: LossContext, logits: Tensor, targets: Tensor): number {
  const fn = makeLoss(tf, { terms: [{ weight: 1, entry: e }] }, ctx);
  const out = fn(logits, targets);
  expect(out.shape).toEqual([]);
  const v = out.dataSync()[0] as number;
  out.dispose();
  return v;
}

// L = [[2, .5, -1], [.1, .2, .3], [-1.5, 2.5, 0]], t = [0, 2, 1]
const L = () => tf.tensor2d([2.0, 0.5, -1.0, 0.1, 0.2, 0.3, -1.5, 2.5, 0.0], [3, 3]);
const t = () => tf.tensor1d([0, 2, 1], "int32");

// M = [[1.2, -.7, 3], [-2, .4, -.1]], Y = [[1, 0, 1], [0, 1, 0]]
const M = () => tf.tensor2d([1.2, -0.7, 3.0, -2.0, 0.4, -0.1], [2, 3]);
const Y = () => tf.tensor2d([1, 0, 1, 0, 1, 0], [2, 3]);

// Segmentation logits S [2, 3, 2, 2] and index masks T [2, 2, 2].
const S = () =>
  tf.tensor4d([1.0, -0.5, 0.2, 0.0, 0.3, 0.8, -1.0, 1.5, -0.2, 0.1, 0.9, -0.3, 0.5, 0.5, 2.0, -1.0, -0.7, 0.0, 0.4, 0.6, 1.1, -0.2, 0.0, 0.3], [2, 3, 2, 2]);
const T = () => tf.tensor3d([0, 1, 2, 1, 2, 0, 0, 1], [2, 2, 2], "int32");
// Multi-label masks Gm [2, 3, 2, 2].
const Gm = () => tf.tensor4d([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0], [2, 3, 2, 2]);

describe("cross-entropy", () => {
  it("ce matches F.cross_entropy", () => {
    expect(lossOf(entry("ce", { label_smoothing: 0, ignore_index: null }), single, L(), t())).toBeCloseTo(0.4463094914, 5); // F.cross_entropy(L, t)
  });
  it("ce with label smoothing as PyTorch", () => {
    expect(lossOf(entry("ce", { label_smoothing: 0.1 }), single, L(), t())).toBeCloseTo(0.571865047, 5); // label_smoothing=0.1
  });
  it("ce ignore_index, alone and with smoothing", () => {
    expect(lossOf(entry("ce", { ignore_index: 2 }), single, L(), t())).toBeCloseTo(0.168492813, 5); // ignore_index=2
    expect(lossOf(entry("ce", { ignore_index: 2, label_smoothing: 0.2 }), single, L(), t())).toBeCloseTo(0.5351594797, 5); // ignore_index=2, label_smoothing=0.2
  });
  it("ce with soft (probability) targets", () => {
    const soft = tf.tensor2d([0.7, 0.2, 0.1, 0, 0, 1, 0.25, 0.5, 0.25], [3, 3]);
    expect(lossOf(entry("ce", { label_smoothing: 0.1 }), single, L(), soft)).toBeCloseTo(1.239365047, 5); // F.cross_entropy(L, soft, label_smoothing=0.1)
  });
  it("ce gradient matches torch autograd", () => {
    const fn = makeLoss(tf, { terms: [{ weight: 1, entry: entry("ce", { label_smoothing: 0.1 }) }] }, single);
    const targets = t();
    const g = tf.grad((x: Tensor) => fn(x, targets))(L());
    // torch: L.requires_grad_(); F.cross_entropy(L, t, label_smoothing=0.1).backward(); L.grad
    const want = [-0.0492454329, 0.0473190196, 0.0019264133, 0.0890920907, 0.0996305534, -0.1887226441, -0.0055629382, -0.0081911364, 0.0137540746];
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 6));
  });
  it("weighted_ce with given weights (mean over Σ w_y, as PyTorch)", () => {
    expect(lossOf(entry("weighted_ce", { weights: [1, 2, 0.5], label_smoothing: 0 }), single, L(), t())).toBeCloseTo(0.2667518227, 5); // weight=[1,2,.5]
    expect(lossOf(entry("weighted_ce", { weights: [1, 2, 0.5], label_smoothing: 0.2 }), single, L(), t())).toBeCloseTo(0.4959966898, 5); // + label_smoothing=0.2
    const soft = tf.tensor2d([0.7, 0.2, 0.1, 0, 0, 1, 0.25, 0.5, 0.25], [3, 3]);
    expect(lossOf(entry("weighted_ce", { weights: [1, 2, 0.5] }), single, L(), soft)).toBeCloseTo(0.9908438727, 5); // soft targets, mean over N
  });
  it("weighted_ce from class frequencies: w_k = N / (K·count_k)", () => {
    expect(balancedClassWeights([10, 5, 1])).toEqual([16 / 30, 16 / 15, 16 / 3]);
    expect(balancedClassWeights([0.5, 0.5, 0])).toEqual([2 / 3, 2 / 3, 0]);
    const ctx = { ...single, classFrequencies: [10, 5, 1] };
    expect(lossOf(entry("weighted_ce", { weights: null, label_smoothing: 0 }), ctx, L(), t())).toBeCloseTo(0.8040068029, 5); // weight=[16/30,16/15,16/3]
    expect(() => makeLoss(tf, { terms: [{ weight: 1, entry: entry("weighted_ce") }] }, single)).toThrow(/class frequencies/);
    expect(() => makeLoss(tf, { terms: [{ weight: 1, entry: entry("weighted_ce", { weights: [1, 2] }) }] }, single)).toThrow(/2 weights for 3 classes/);
  });
});

describe("binary cross-entropy", () => {
  it("bce matches F.binary_cross_entropy_with_logits", () => {
    expect(lossOf(entry("bce", { pos_weight: null }), multi, M(), Y())).toBeCloseTo(0.3332326319, 5);
  });
  it("bce pos_weight per label and as one number", () => {
    expect(lossOf(entry("bce", { pos_weight: [2, 1, 0.5] }), multi, M(), Y())).toBeCloseTo(0.3730640971, 5); // pos_weight=[2,1,.5]
    expect(lossOf(entry("bce", { pos_weight: 3 }), multi, M(), Y())).toBeCloseTo(0.6081943223, 5); // pos_weight=[3]
  });
  it("bce stays finite for large logits", () => {
    const ctx = { classes: 2, multilabel: true };
    expect(lossOf(entry("bce"), ctx, tf.tensor2d([[100, -100]]), tf.tensor2d([[0, 1]]))).toBeCloseTo(100, 4);
  });
  it("bce with a single logit and 0/1 index labels", () => {
    const ctx = { classes: 1, multilabel: false };
    expect(lossOf(entry("bce"), ctx, tf.tensor2d([0.8, -1.2, 2.0], [3, 1]), tf.tensor1d([1, 0, 0], "int32"))).toBeCloseTo(0.9204370481, 5);
  });
  it("bce on one-hot-encoded index targets equals bce on the multi-hot tensor", () => {
    const a = lossOf(entry("bce"), single, L(), t());
    const b = lossOf(entry("bce"), single, L(), tf.oneHot(t(), 3).toFloat());
    expect(a).toBeCloseTo(b, 6);
  });
});

describe("focal", () => {
  it("softmax focal with gamma 0 is cross-entropy", () => {
    expect(lossOf(entry("focal", { gamma: 0, alpha: null }), single, L(), t())).toBeCloseTo(0.4463094914, 5);
  });
  it("softmax focal gamma 2: mean of -(1-p_y)^2 log p_y", () => {
    expect(lossOf(entry("focal", { gamma: 2, alpha: null }), single, L(), t())).toBeCloseTo(0.1377156386, 5);
  });
  it("softmax focal with per-class alpha", () => {
    expect(lossOf(entry("focal", { gamma: 2, alpha: [0.25, 0.5, 0.25] }), single, L(), t())).toBeCloseTo(0.03449528173, 5);
  });
  it("softmax focal, two classes, one alpha weighs the positive class", () => {
    const ctx = { classes: 2, multilabel: false };
    const logits = tf.tensor2d([0.3, -0.4, 1.0, 2.0, 0.5, 0.5], [3, 2]);
    // torch: -(α_t·(1-p_t)^1.5·log p_t).mean() with α_t = [0.75, 0.25][t]
    expect(lossOf(entry("focal", { gamma: 1.5, alpha: 0.25 }), ctx, logits, tf.tensor1d([1, 0, 1], "int32"))).toBeCloseTo(0.2758548812, 5);
  });
  it("multilabel focal equals torchvision.ops.sigmoid_focal_loss", () => {
    expect(lossOf(entry("focal", { gamma: 2, alpha: null }), multi, M(), Y())).toBeCloseTo(0.04807281844, 6); // alpha=-1, gamma=2, reduction="mean"
    expect(lossOf(entry("focal", { gamma: 2, alpha: 0.25 }), multi, M(), Y())).toBeCloseTo(0.0279847733, 6); // alpha=0.25, gamma=2
  });
});

describe("segmentation terms", () => {
  it("ce over [B, K, H, W] maps, with ignore_index", () => {
    expect(lossOf(entry("ce"), single, S(), T())).toBeCloseTo(0.5275812233, 5); // F.cross_entropy(S, T)
    const T2 = tf.tensor3d([255, 1, 2, 1, 2, 0, 0, 255], [2, 2, 2], "int32");
    expect(lossOf(entry("ce", { ignore_index: 255 }), single, S(), T2)).toBeCloseTo(0.4950018568, 5); // ignore_index=255
  });
  it("ce accepts [B, 1, H, W] index masks", () => {
    expect(lossOf(entry("ce"), single, S(), T().reshape([2, 1, 2, 2]))).toBeCloseTo(0.5275812233, 5);
  });
  it("ce where every pixel is ignored is 0, not NaN", () => {
    const all = tf.fill([2, 2, 2], 255, "int32");
    expect(lossOf(entry("ce", { ignore_index: 255, label_smoothing: 0.1 }), single, S(), all)).toBe(0);
  });
  it("dice: mean over samples and classes of 1 - (2TP+s)/(2TP+FP+FN+s)", () => {
    expect(lossOf(entry("dice", { smooth: 1e-5, include_background: true }), single, S(), T())).toBeCloseTo(0.424288501, 5);
    expect(lossOf(entry("dice", { smooth: 1e-5, include_background: false }), single, S(), T())).toBeCloseTo(0.4321375497, 5);
    expect(lossOf(entry("dice", { smooth: 1, include_background: true }), single, S(), T())).toBeCloseTo(0.3009765073, 5);
  });
  it("dice multilabel uses sigmoid and dense masks", () => {
    expect(lossOf(entry("dice"), multi, S(), Gm())).toBeCloseTo(0.6129458851, 5);
  });
  it("dice on [B, K] sums over the batch", () => {
    expect(lossOf(entry("dice"), single, L(), t())).toBeCloseTo(0.3349151253, 5);
  });
  it("tversky (α on FP, β on FN)", () => {
    expect(lossOf(entry("tversky", { alpha: 0.3, beta: 0.7, smooth: 1e-5, include_background: true }), single, S(), T())).toBeCloseTo(0.4213420607, 5);
  });
  it("focal_tversky = mean (1 - TI)^(1/γ)", () => {
    expect(lossOf(entry("focal_tversky", { alpha: 0.3, beta: 0.7, gamma: 4 / 3 }), single, S(), T())).toBeCloseTo(0.5218255566, 5);
    expect(lossOf(entry("focal_tversky", { alpha: 0.2, beta: 0.8, gamma: 2, smooth: 1, include_background: false }), single, S(), T())).toBeCloseTo(
      0.4762675684,
      5,
    );
  });
  it("bce over multi-label maps", () => {
    expect(lossOf(entry("bce"), multi, S(), Gm())).toBeCloseTo(0.9510398735, 5); // F.binary_cross_entropy_with_logits(S, Gm)
  });
  it("weighted sum of terms: 0.5*dice + 0.5*ce", () => {
    const fn = makeLoss(
      tf,
      {
        terms: [
          { weight: 0.5, entry: entry("dice") },
          { weight: 0.5, entry: entry("ce") },
        ],
      },
      single,
    );
    expect(fn(S(), T()).dataSync()[0]).toBeCloseTo(0.4759348622, 5);
  });
  it("dice gradients are finite and focal_tversky at a perfect prediction has no NaN gradient", () => {
    const fn = makeLoss(tf, { terms: [{ weight: 1, entry: entry("focal_tversky", { smooth: 0 }) }] }, single);
    const perfect = tf.mul(
      tf
        .oneHot(T().reshape([-1]), 3)
        .reshape([2, 2, 2, 3])
        .transpose([0, 3, 1, 2]),
      50,
    );
    const g = tf.grad((x: Tensor) => fn(x, T()))(perfect);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });
});

describe("regression", () => {
  const o = () => tf.tensor2d([0.5, 2.0, -1.0, 3.5], [4, 1]);
  const y = () => tf.tensor1d([0.0, 2.5, 1.0, 3.4]);
  it("mse, l1, smooth_l1 as torch.nn.functional", () => {
    const ctx = { classes: 1, multilabel: false };
    expect(lossOf(entry("mse"), ctx, o(), y())).toBeCloseTo(1.1275, 5);
    expect(lossOf(entry("l1"), ctx, o(), y())).toBeCloseTo(0.775, 5);
    expect(lossOf(entry("smooth_l1", { beta: 1 }), ctx, o(), y())).toBeCloseTo(0.43875, 5);
    expect(lossOf(entry("smooth_l1", { beta: 0.5 }), ctx, o(), y())).toBeCloseTo(0.565, 5);
    expect(lossOf(entry("smooth_l1", { beta: 0 }), ctx, o(), y())).toBeCloseTo(0.775, 5);
  });
});

describe("errors and memory", () => {
  it("rejects self-supervised and unknown entries", () => {
    expect(() => makeLoss(tf, { terms: [{ weight: 1, entry: entry("nt_xent") }] }, single)).toThrow(/self-supervised/);
    expect(() => makeLoss(tf, { terms: [{ weight: 1, entry: entry("hinge") }] }, single)).toThrow(/unknown loss 'hinge'/);
    expect(() => makeLoss(tf, { terms: [{ weight: 1, entry: entry("ce", { label_smoothing: "x" }) }] }, single)).toThrow(/label_smoothing/);
  });
  it("rejects targets that fit neither form", () => {
    const fn = makeLoss(tf, { terms: [{ weight: 1, entry: entry("ce") }] }, single);
    expect(() => fn(L(), tf.tensor1d([0, 1], "int32"))).toThrow(/do not fit/);
  });
  it("leaves no tensors behind", () => {
    const logits = S();
    const targets = T();
    const fn = makeLoss(
      tf,
      {
        terms: [
          { weight: 0.3, entry: entry("dice") },
          { weight: 0.3, entry: entry("ce", { label_smoothing: 0.1, ignore_index: 2 }) },
          { weight: 0.2, entry: entry("focal", { alpha: [1, 2, 3] }) },
          { weight: 0.2, entry: entry("focal_tversky") },
        ],
      },
      single,
    );
    fn(logits, targets).dispose();
    const before = tf.memory().numTensors;
    fn(logits, targets).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
