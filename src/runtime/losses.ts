/**
 * Loss functions of the training runtime, one per registry entry (src/policy/registry.ts `loss`).
 *
 * Shapes. Logits are channels-first: [B, K] for classification, [B, K, H, W] (or [B, K, D, H, W])
 * for segmentation. Targets are either class indices, int32 [B] / [B, H, W] (a [B, 1, H, W] map is
 * accepted too), or dense float targets of the logits' shape (multi-hot labels, soft labels,
 * one-hot masks). Every loss returns a scalar.
 *
 * Reductions follow PyTorch (torch.nn.functional) where it has the loss, MONAI for Dice and
 * Tversky, torchvision for the sigmoid focal loss; each function says which.
 */
import { argReader } from "./args.js";
import type { Entry, LossContext, LossFn, LossSpec, Tensor, Tf } from "./types.js";

type Term = (logits: Tensor, targets: Tensor) => Tensor;

// ---------------------------------------------------------------------------------------------
// Argument reading (entries normally come from the plan with defaults filled; hand-written ones
// may omit arguments, which then take the registry's defaults).

const { error: argError, num, optNum, bool } = argReader("loss");

/** A `floats` argument: one number or a list; null when absent. */
function floats(entry: Entry, name: string): number[] | null {
  const v = entry.args[name];
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return [v];
  if (Array.isArray(v) && v.every((e) => typeof e === "number")) return v as number[];
  throw argError(entry, name, "a number or a list of numbers");
}

// ---------------------------------------------------------------------------------------------
// Shape handling.

/** Moves the class axis (1) last and flattens: [B, K, ...] -> [N, K]. */
function flatLogits(tf: Tf, logits: Tensor): Tensor {
  if (logits.rank < 2) throw new Error(`loss: logits must have a class axis ([B, K, ...]), got shape [${logits.shape.join(", ")}]`);
  const k = logits.shape[1] as number;
  if (logits.rank === 2) return logits;
  const perm = [0, ...Array.from({ length: logits.rank - 2 }, (_, i) => i + 2), 1];
  return tf.reshape(tf.transpose(logits, perm), [-1, k]);
}

type Targets = { kind: "index"; t: Tensor } | { kind: "dense"; t: Tensor };

/**
 * Classifies targets as class indices or dense per-class values, with the dense ones laid out like
 * the logits ([B, K, ...]) and indices like the logits without the class axis ([B, ...]).
 */
function readTargets(tf: Tf, logits: Tensor, targets: Tensor): Targets {
  const k = logits.shape[1] as number;
  const sameSpatial = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  const withoutClass = [logits.shape[0] as number, ...logits.shape.slice(2)];
  if (targets.rank === logits.rank - 1 && sameSpatial(targets.shape, withoutClass)) {
    // A single-logit binary model with 0/1 labels: the index is the target value itself.
    if (k === 1) return { kind: "dense", t: tf.reshape(tf.cast(targets, "float32"), logits.shape) };
    return { kind: "index", t: tf.cast(targets, "int32") };
  }
  if (targets.rank === logits.rank && sameSpatial(targets.shape, logits.shape)) return { kind: "dense", t: tf.cast(targets, "float32") };
  if (targets.rank === logits.rank && targets.shape[1] === 1 && k > 1 && sameSpatial([targets.shape[0] as number, ...targets.shape.slice(2)], withoutClass))
    return { kind: "index", t: tf.cast(tf.reshape(targets, withoutClass), "int32") };
  throw new Error(
    `loss: targets of shape [${targets.shape.join(", ")}] do not fit logits of shape [${logits.shape.join(", ")}] ` +
      `(expected class indices [${withoutClass.join(", ")}] or per-class values [${logits.shape.join(", ")}])`,
  );
}

/** Dense [B, K, ...] targets from either form (one-hot for indices; out-of-range indices give all zeros). */
function denseTargets(tf: Tf, logits: Tensor, targets: Targets): Tensor {
  if (targets.kind === "dense") return targets.t;
  const k = logits.shape[1] as number;
  const oh = tf.cast(tf.oneHot(tf.reshape(targets.t, [-1]), k), "float32");
  const lastShape = [logits.shape[0] as number, ...logits.shape.slice(2), k];
  const r = logits.rank;
  const perm = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
  return r === 2 ? oh : tf.transpose(tf.reshape(oh, lastShape), perm);
}

/** Dense targets flattened like flatLogits: [N, K]. */
function flatDense(tf: Tf, logits: Tensor, targets: Targets): Tensor {
  const k = logits.shape[1] as number;
  if (targets.kind === "index") return tf.cast(tf.oneHot(tf.reshape(targets.t, [-1]), k), "float32");
  return flatLogits(tf, targets.t);
}

function classVector(tf: Tf, entry: Entry, name: string, values: number[], k: number): Tensor {
  if (values.length === 1 && k !== 1) return tf.fill([k], values[0] as number);
  if (values.length !== k) throw new Error(`loss ${entry.name}: '${name}' has ${values.length} values but the model has ${k} classes`);
  return tf.tensor1d(values, "float32");
}

/** a / b where b may be 0 (every pixel ignored): the loss is then 0 rather than NaN, which would poison the weights. */
function safeDiv(tf: Tf, a: Tensor, b: Tensor): Tensor {
  return tf.div(a, tf.maximum(b, 1e-12));
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy family.

/**
 * Softmax cross-entropy exactly as torch.nn.functional.cross_entropy(logits, target, weight,
 * ignore_index, label_smoothing=ε), mean reduction:
 *   index targets:  (1-ε)·Σ w_y·(-log p_y) / Σ w_y  +  ε/K · Σ_i Σ_k w_k·(-log p_ik) / Σ w_y
 *                   (without weights w ≡ 1, so the divisor is the number of non-ignored targets);
 *   dense targets:  target ← (1-ε)·target + ε/K, then Σ_i Σ_k -w_k·target_ik·log p_ik / N.
 */
function crossEntropy(tf: Tf, entry: Entry, weights: number[] | null, smoothing: number, ignoreIndex: number | null): Term {
  return (logits, targets) => {
    const k = logits.shape[1] as number;
    const logp = tf.logSoftmax(flatLogits(tf, logits), -1);
    const w = weights ? classVector(tf, entry, "weights", weights, k) : null;
    const tg = readTargets(tf, logits, targets);
    if (tg.kind === "dense") {
      let y = flatLogits(tf, tg.t);
      if (smoothing > 0) y = tf.add(tf.mul(y, 1 - smoothing), smoothing / k);
      let per = tf.mul(y, logp);
      if (w) per = tf.mul(per, w);
      return tf.div(tf.neg(tf.sum(per)), logp.shape[0] as number);
    }
    const idx = tf.reshape(tg.t, [-1]);
    const valid = ignoreIndex === null ? tf.onesLike(idx) : tf.cast(tf.notEqual(idx, ignoreIndex), "int32");
    const safeIdx = tf.mul(idx, valid); // ignored positions point at class 0 and are masked below
    const validF = tf.cast(valid, "float32");
    const onehot = tf.cast(tf.oneHot(safeIdx, k), "float32");
    const nll = tf.neg(tf.sum(tf.mul(onehot, logp), -1)); // [N]
    const wy = w ? tf.mul(tf.gather(w, safeIdx), validF) : validF;
    const denom = tf.sum(wy);
    let loss = safeDiv(tf, tf.sum(tf.mul(wy, nll)), denom);
    if (smoothing > 0) {
      const perClass = w ? tf.mul(logp, w) : logp;
      const smooth = tf.mul(tf.neg(tf.sum(perClass, -1)), validF);
      loss = tf.add(tf.mul(loss, 1 - smoothing), tf.mul(safeDiv(tf, tf.sum(smooth), denom), smoothing / k));
    }
    return loss;
  };
}

/**
 * Per-class weights from training-set class counts, "balanced" weighting (as scikit-learn's
 * compute_class_weight): w_k = N / (K · count_k) with N = Σ count_k. A class with no samples gets
 * weight 0 (it never occurs as a target, and an infinite weight would poison the smoothing term).
 * The formula is invariant to scaling the counts, so relative frequencies work as well.
 */
export function balancedClassWeights(counts: readonly number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  const k = counts.length;
  return counts.map((c) => (c > 0 ? n / (k * c) : 0));
}

/**
 * Binary cross-entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits with
 * pos_weight p, mean over all elements, in PyTorch's overflow-free form:
 *   (1 - y)·x + (1 + (p - 1)·y)·(log(1 + e^-|x|) + max(-x, 0))
 * which for p = 1 is max(x, 0) - x·y + log(1 + e^-|x|).
 */
function bce(tf: Tf, entry: Entry, posWeight: number[] | null): Term {
  return (logits, targets) => {
    const k = logits.shape[1] as number;
    const x = flatLogits(tf, logits);
    const y = flatDense(tf, logits, readTargets(tf, logits, targets));
    const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(x)))), tf.relu(tf.neg(x))); // log(1 + e^-x), stable
    let scale: Tensor = tf.onesLike(y);
    if (posWeight) scale = tf.add(1, tf.mul(tf.sub(classVector(tf, entry, "pos_weight", posWeight, k), 1), y));
    const per = tf.add(tf.mul(tf.sub(1, y), x), tf.mul(scale, softplusNeg));
    return tf.mean(per);
  };
}

/**
 * Focal loss (Lin et al.).
 * Single-label (softmax): mean over samples of -α_y·(1 - p_y)^γ·log p_y (dense targets: summed
 *   over classes with the target as weight). α: one number per class; a single number means
 *   [1 - α, α] for two classes (α weighs the positive class) and a constant factor otherwise.
 * Multi-label or a single logit (sigmoid): torchvision.ops.sigmoid_focal_loss, mean reduction:
 *   BCE(x, y)·(1 - p_t)^γ·α_t with p_t = p·y + (1 - p)·(1 - y), α_t = α·y + (1 - α)·(1 - y);
 *   no α weighting when α is none (torchvision's alpha < 0); α may also be one per class.
 */
function focal(tf: Tf, entry: Entry, ctx: LossContext, gamma: number, alpha: number[] | null): Term {
  return (logits, targets) => {
    const k = logits.shape[1] as number;
    const x = flatLogits(tf, logits);
    const y = flatDense(tf, logits, readTargets(tf, logits, targets));
    if (ctx.multilabel || k === 1) {
      const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(x)))), tf.relu(tf.neg(x)));
      const ce = tf.add(tf.mul(tf.sub(1, y), x), softplusNeg);
      const p = tf.sigmoid(x);
      const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), tf.sub(1, y)));
      let loss = tf.mul(ce, tf.pow(tf.sub(1, pt), gamma));
      if (alpha) {
        const a = classVector(tf, entry, "alpha", alpha, k);
        loss = tf.mul(loss, tf.add(tf.mul(a, y), tf.mul(tf.sub(1, a), tf.sub(1, y))));
      }
      return tf.mean(loss);
    }
    const logp = tf.logSoftmax(x, -1);
    const p = tf.exp(logp);
    let per = tf.mul(tf.mul(y, tf.pow(tf.sub(1, p), gamma)), logp);
    if (alpha) {
      const a = alpha.length === 1 && k === 2 ? tf.tensor1d([1 - (alpha[0] as number), alpha[0] as number]) : classVector(tf, entry, "alpha", alpha, k);
      per = tf.mul(per, a);
    }
    return tf.div(tf.neg(tf.sum(per)), x.shape[0] as number);
  };
}

// ---------------------------------------------------------------------------------------------
// Overlap losses (segmentation).

/**
 * Soft overlap statistics as MONAI computes them with batch=False: probabilities (softmax over
 * classes, sigmoid when multi-label or a single channel) against one-hot targets, summed over the
 * spatial axes for each sample and class; class 0 dropped when include_background is false (and
 * there is more than one channel). For [B, K] inputs with no spatial axes the sums run over the batch.
 */
function overlap(tf: Tf, ctx: LossContext, logits: Tensor, targets: Tensor, includeBackground: boolean) {
  const k = logits.shape[1] as number;
  let p = ctx.multilabel || k === 1 ? tf.sigmoid(logits) : tf.softmax(logits.rank === 2 ? logits : tf.transpose(logits, moveLast(logits.rank)), -1);
  if (!(ctx.multilabel || k === 1) && logits.rank > 2) p = tf.transpose(p, moveFirst(logits.rank));
  let g = denseTargets(tf, logits, readTargets(tf, logits, targets));
  if (!includeBackground && k > 1) {
    const begin = Array<number>(logits.rank).fill(0);
    begin[1] = 1;
    p = tf.slice(p, begin);
    g = tf.slice(g, begin);
  }
  const axes = logits.rank === 2 ? [0] : Array.from({ length: logits.rank - 2 }, (_, i) => i + 2);
  const tp = tf.sum(tf.mul(p, g), axes);
  const fp = tf.sum(tf.mul(p, tf.sub(1, g)), axes);
  const fn = tf.sum(tf.mul(tf.sub(1, p), g), axes);
  return { tp, fp, fn };
}

/** [B, K, ...] -> [B, ..., K] */
function moveLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** [B, ..., K] -> [B, K, ...] */
function moveFirst(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** monai.losses.DiceLoss (smooth_nr = smooth_dr = smooth): mean of 1 - (2·TP + s) / (2·TP + FP + FN + s). */
function dice(tf: Tf, ctx: LossContext, smooth: number, includeBackground: boolean): Term {
  return (logits, targets) => {
    const { tp, fp, fn } = overlap(tf, ctx, logits, targets, includeBackground);
    const num = tf.add(tf.mul(tp, 2), smooth);
    const den = tf.add(tf.add(tf.add(tf.mul(tp, 2), fp), fn), smooth);
    return tf.mean(tf.sub(1, tf.div(num, den)));
  };
}

/** Tversky index TI = (TP + s) / (TP + α·FP + β·FN + s) (monai.losses.TverskyLoss). */
function tverskyIndex(
  tf: Tf,
  ctx: LossContext,
  logits: Tensor,
  targets: Tensor,
  alpha: number,
  beta: number,
  smooth: number,
  includeBackground: boolean,
): Tensor {
  const { tp, fp, fn } = overlap(tf, ctx, logits, targets, includeBackground);
  return tf.div(tf.add(tp, smooth), tf.add(tf.add(tf.add(tp, tf.mul(fp, alpha)), tf.mul(fn, beta)), smooth));
}

/** Mean of 1 - TI over samples and classes. */
function tversky(tf: Tf, ctx: LossContext, alpha: number, beta: number, smooth: number, includeBackground: boolean): Term {
  return (logits, targets) => tf.mean(tf.sub(1, tverskyIndex(tf, ctx, logits, targets, alpha, beta, smooth, includeBackground)));
}

/**
 * Focal Tversky (Abraham & Khan): mean of (1 - TI)^(1/γ). The base is kept above 1e-7 because
 * for γ > 1 the power's derivative is infinite at 0 (a perfect prediction).
 */
function focalTversky(tf: Tf, ctx: LossContext, alpha: number, beta: number, gamma: number, smooth: number, includeBackground: boolean): Term {
  return (logits, targets) => {
    const ti = tverskyIndex(tf, ctx, logits, targets, alpha, beta, smooth, includeBackground);
    return tf.mean(tf.pow(tf.maximum(tf.sub(1, ti), 1e-7), 1 / gamma));
  };
}

// ---------------------------------------------------------------------------------------------
// Regression.

/** Regression targets of the outputs' shape ([B] is accepted for [B, 1] outputs). */
function regressionTargets(tf: Tf, outputs: Tensor, targets: Tensor): Tensor {
  if (targets.size !== outputs.size)
    throw new Error(`loss: targets of shape [${targets.shape.join(", ")}] do not fit outputs of shape [${outputs.shape.join(", ")}]`);
  return tf.reshape(tf.cast(targets, "float32"), outputs.shape);
}

/** torch.nn.functional.smooth_l1_loss: 0.5·d²/β where |d| < β, |d| - 0.5·β elsewhere (β = 0: L1); mean. */
function smoothL1(tf: Tf, beta: number): Term {
  return (outputs, targets) => {
    const d = tf.abs(tf.sub(outputs, regressionTargets(tf, outputs, targets)));
    if (beta === 0) return tf.mean(d);
    return tf.mean(tf.where(tf.less(d, beta), tf.div(tf.mul(tf.square(d), 0.5), beta), tf.sub(d, 0.5 * beta)));
  };
}

// ---------------------------------------------------------------------------------------------

function makeTerm(tf: Tf, entry: Entry, ctx: LossContext): Term {
  const smooth = () => num(entry, "smooth", 1e-5);
  const background = () => bool(entry, "include_background", true);
  switch (entry.name) {
    case "ce":
      return crossEntropy(tf, entry, null, num(entry, "label_smoothing", 0), optNum(entry, "ignore_index"));
    case "weighted_ce": {
      let weights = floats(entry, "weights");
      if (!weights) {
        if (!ctx.classFrequencies) throw new Error("loss weighted_ce: no 'weights' given and no class frequencies from the training set to derive them");
        weights = balancedClassWeights(ctx.classFrequencies);
      }
      if (ctx.classes > 0 && weights.length !== ctx.classes && weights.length !== 1)
        throw new Error(`loss weighted_ce: ${weights.length} weights for ${ctx.classes} classes`);
      return crossEntropy(tf, entry, weights, num(entry, "label_smoothing", 0), null);
    }
    case "bce":
      return bce(tf, entry, floats(entry, "pos_weight"));
    case "focal":
      return focal(tf, entry, ctx, num(entry, "gamma", 2), floats(entry, "alpha"));
    case "dice":
      return dice(tf, ctx, smooth(), background());
    case "tversky":
      return tversky(tf, ctx, num(entry, "alpha", 0.3), num(entry, "beta", 0.7), smooth(), background());
    case "focal_tversky":
      return focalTversky(tf, ctx, num(entry, "alpha", 0.3), num(entry, "beta", 0.7), num(entry, "gamma", 4 / 3), smooth(), background());
    case "mse":
      return (o, t) => tf.mean(tf.squaredDifference(o, regressionTargets(tf, o, t)));
    case "l1":
      return (o, t) => tf.mean(tf.abs(tf.sub(o, regressionTargets(tf, o, t))));
    case "smooth_l1":
      return smoothL1(tf, num(entry, "beta", 1));
    case "nt_xent":
    case "byol":
    case "dino":
    case "mae":
      throw new Error(`loss ${entry.name} is a self-supervised objective over two views or masked patches; it has no (logits, targets) form`);
    default:
      throw new Error(`unknown loss '${entry.name}'`);
  }
}

/** The weighted sum of the spec's terms as one function; intermediate tensors are freed. */
export function makeLoss(tf: Tf, spec: LossSpec, ctx: LossContext): LossFn {
  if (spec.terms.length === 0) throw new Error("loss: no terms");
  const terms = spec.terms.map((t) => ({ weight: t.weight, fn: makeTerm(tf, t.entry, ctx) }));
  return (logits, targets) =>
    tf.tidy(() => {
      let total: Tensor | null = null;
      for (const { weight, fn } of terms) {
        const value = fn(logits, targets);
        const term = weight === 1 ? value : tf.mul(value, weight);
        total = total === null ? term : tf.add(total, term);
      }
      return total as Tensor;
    });
}
