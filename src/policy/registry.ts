import type { Code } from "../diagnostics/codes.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { bindArgs, type ArgInput } from "../semantics/bind.js";
import type { ArgSpec, Signature } from "../semantics/signature.js";
import { formatVal, POISON, type Val } from "../semantics/values.js";
import type { Span } from "../syntax/span.js";

/**
 * The training-policy vocabulary: one table per statement kind. Entries are data (signatures
 * with the defaults the field uses); the emitted runtime implements each entry under its name.
 */
export type PolicyKind = "task" | "input" | "normalize" | "augment" | "loss" | "optimizer" | "schedule" | "data" | "metrics";

export const policyKinds: readonly PolicyKind[] = ["task", "input", "normalize", "augment", "loss", "optimizer", "schedule", "data", "metrics"];

/** How messages name an entry of each kind ("unknown loss 'dicee'"). */
export const policyNouns: Record<PolicyKind, string> = {
  task: "task",
  input: "input kind",
  normalize: "normalization",
  augment: "augmentation",
  loss: "loss",
  optimizer: "optimizer",
  schedule: "schedule",
  data: "data source",
  metrics: "metric",
};

/** A problem that spans arguments or that an ArgType cannot express (positive, lo ≤ hi, class lists). */
export interface PolicyProblem {
  arg: string;
  code: Extract<Code, "MEDG203" | "MEDG213">;
  message: string;
  /** Where to point when `arg` took its default: the other argument of the pair, which the user did write. */
  other?: string;
}

export interface PolicyEntry extends Signature {
  /** Runs after a successful bind, on the bound values (defaults filled in). */
  validate?(values: Readonly<Record<string, Val>>): PolicyProblem | undefined;
}

// ---------------------------------------------------------------------------------------------
// Argument helpers: the same argument recurs across entries with the same meaning and bounds.

const p = (dflt: number): ArgSpec => ({ name: "p", type: "float", default: dflt, min: 0, max: 1, keywordOnly: true, doc: "probability of applying it to a sample" });
const lr = (dflt: number): ArgSpec => ({ name: "lr", type: "float", default: dflt, min: 0, doc: "learning rate (a stage's lr overrides it)" });
const weightDecay = (dflt: number): ArgSpec => ({ name: "weight_decay", type: "float", default: dflt, min: 0 });
const betas = (dflt: readonly number[] = [0.9, 0.999]): ArgSpec => ({ name: "betas", type: "floats", default: dflt, min: 0, max: 1, doc: "[beta1, beta2]" });
const eps = (dflt: number): ArgSpec => ({ name: "eps", type: "float", default: dflt, min: 0 });
const smooth: ArgSpec = { name: "smooth", type: "float", default: 1e-5, min: 0, doc: "added to numerator and denominator" };
const includeBackground = (dflt: boolean): ArgSpec => ({ name: "include_background", type: "bool", default: dflt, doc: "count class 0 as a class" });
const classes: ArgSpec = { name: "classes", type: "any", default: null, doc: "class names or a class count; none: taken from the data source" };
const multilabel: ArgSpec = { name: "multilabel", type: "bool", default: false, doc: "independent yes/no per class (sigmoid) instead of one of K (softmax)" };
const warmup: ArgSpec = { name: "warmup", type: "int", default: 0, min: 0, doc: "epochs of linear warm-up from 0" };
const valSplit: ArgSpec = { name: "val_split", type: "float", default: 0.2, min: 0, max: 1, keywordOnly: true, doc: "fraction held out for validation when no split is given" };
const imageMode = (dflt: "per_image" | "dataset"): ArgSpec => ({
  name: "mode",
  type: "enum",
  choices: ["per_image", "dataset"],
  default: dflt,
  doc: "statistics of each image, or of the training set",
});
const average = (choices: readonly string[], dflt: string): ArgSpec => ({ name: "average", type: "enum", choices, default: dflt, doc: "how per-class scores combine" });
const size: ArgSpec = { name: "size", type: "ints", min: 1, doc: "output size: one int for square, or [h, w] / [d, h, w]" };
const positiveInt = (name: string, doc: string): ArgSpec => ({ name, type: "int", min: 1, doc });

// ---------------------------------------------------------------------------------------------
// Validators.

type Check = (values: Readonly<Record<string, Val>>) => PolicyProblem | undefined;

const all =
  (...checks: Check[]): Check =>
  (values) => {
    for (const c of checks) {
      const problem = c(values);
      if (problem) return problem;
    }
    return undefined;
  };

/** Strictly positive where the bounds in ArgSpec are inclusive. */
const positive =
  (arg: string): Check =>
  (values) => {
    const v = values[arg];
    const bad = typeof v === "number" ? v <= 0 : Array.isArray(v) && v.some((e) => typeof e === "number" && e <= 0);
    return bad ? { arg, code: "MEDG213", message: `must be greater than 0, got ${formatVal(v)}` } : undefined;
  };

const ordered =
  (lo: string, hi: string): Check =>
  (values) => {
    const a = values[lo];
    const b = values[hi];
    return typeof a === "number" && typeof b === "number" && a > b
      ? { arg: lo, code: "MEDG213", message: `must not exceed '${hi}' (${formatVal(b)}), got ${formatVal(a)}`, other: hi }
      : undefined;
  };

/** A list argument of an exact length (betas: [b1, b2]); a scalar is accepted only when `scalarOk`. */
const length =
  (arg: string, n: number, scalarOk: boolean): Check =>
  (values) => {
    const v = values[arg];
    if (v === null || (scalarOk && typeof v === "number")) return undefined;
    if (Array.isArray(v) && v.length === n) return undefined;
    return { arg, code: "MEDG213", message: `must be ${scalarOk ? "a number or " : ""}a list of ${n} numbers, got ${formatVal(v)}` };
  };

/** A [lo, hi] range given as a list: lo ≤ hi. */
const rangeList =
  (arg: string): Check =>
  (values) => {
    const v = values[arg];
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && typeof v[1] === "number" && v[0] > v[1])
      return { arg, code: "MEDG213", message: `must be [lo, hi] with lo ≤ hi, got ${formatVal(v)}` };
    return undefined;
  };

/** `classes`: none, a positive count, or a non-empty list of distinct names. */
const classList =
  (minCount: number, why: string): Check =>
  (values) => {
    const v = values.classes;
    if (v === null || v === undefined) return undefined;
    if (typeof v === "number") {
      if (!Number.isInteger(v)) return { arg: "classes", code: "MEDG203", message: `expects a list of class names or a class count, got float ${formatVal(v)}` };
      if (v < minCount) return { arg: "classes", code: "MEDG213", message: `must be at least ${minCount}${why}, got ${v}` };
      return undefined;
    }
    if (Array.isArray(v) && v.every((e) => typeof e === "string")) {
      if (v.length < minCount) return { arg: "classes", code: "MEDG213", message: `needs at least ${minCount} class name${minCount === 1 ? "" : "s"}${why}, got ${formatVal(v)}` };
      const seen = new Set<string>();
      for (const name of v as string[]) {
        if (seen.has(name)) return { arg: "classes", code: "MEDG213", message: `names class ${JSON.stringify(name)} twice` };
        seen.add(name);
      }
      return undefined;
    }
    return { arg: "classes", code: "MEDG203", message: `expects a list of class names or a class count, got ${formatVal(v)}` };
  };

const classifyClasses: Check = (values) =>
  classList(values.multilabel === true ? 1 : 2, values.multilabel === true ? "" : " (use multilabel=true for a single yes/no label)")(values);

// ---------------------------------------------------------------------------------------------
// Tables.

const task: PolicyEntry[] = [
  { name: "classify", doc: "Image-level classification: one of K classes, or K independent labels when multilabel.", args: [classes, multilabel], validate: classifyClasses },
  { name: "segment", doc: "Per-pixel (per-voxel) segmentation into classes; class 0 is background unless multilabel.", args: [classes, multilabel], validate: classList(1, "") },
  { name: "detect", doc: "Object detection: boxes with a class each.", args: [classes], validate: classList(1, "") },
  {
    name: "pretrain",
    doc: "Self-supervised pretraining of the backbone without labels.",
    args: [{ name: "method", type: "enum", choices: ["simclr", "byol", "dino", "mae"] }],
  },
  { name: "regress", doc: "Regression of continuous targets (age, severity score, …).", args: [{ name: "outputs", type: "int", default: 1, min: 1, doc: "number of targets" }] },
];

const input: PolicyEntry[] = [
  {
    name: "image",
    doc: "A 2-D image of c channels, h × w pixels (channels-first, batch implied).",
    args: [positiveInt("c", "channels"), positiveInt("h", "height"), positiveInt("w", "width")],
  },
  {
    name: "volume",
    doc: "A 3-D volume of c channels, d × h × w voxels (CT, MRI).",
    args: [positiveInt("c", "channels"), positiveInt("d", "depth (slices)"), positiveInt("h", "height"), positiveInt("w", "width")],
  },
];

const normalize: PolicyEntry[] = [
  {
    name: "zscore",
    doc: "Subtract the mean and divide by the standard deviation, per image or with training-set statistics.",
    args: [
      imageMode("dataset"),
      { name: "mean", type: "floats", default: null, keywordOnly: true, doc: "fixed per-channel mean instead of computed statistics" },
      { name: "std", type: "floats", default: null, min: 0, keywordOnly: true, doc: "fixed per-channel standard deviation" },
    ],
    validate: positive("std"),
  },
  { name: "imagenet", doc: "Scale to [0, 1], then ImageNet mean/std, as pretrained natural-image backbones expect.", args: [] },
  { name: "minmax", doc: "Rescale intensities linearly to [0, 1].", args: [imageMode("per_image")] },
  {
    name: "window",
    doc: "CT intensity window: clip Hounsfield units to center ± width/2, then scale to [0, 1].",
    args: [
      { name: "center", type: "float", doc: "window level in HU (soft tissue 40, lung -600, bone 400)" },
      { name: "width", type: "float", min: 0, doc: "window width in HU (soft tissue 400, lung 1500, bone 1800)" },
    ],
    validate: positive("width"),
  },
  {
    name: "percentile",
    doc: "Clip intensities to the lo-th and hi-th percentiles, then scale to [0, 1] (robust for MRI).",
    args: [
      { name: "lo", type: "float", default: 0.5, min: 0, max: 100 },
      { name: "hi", type: "float", default: 99.5, min: 0, max: 100 },
      imageMode("per_image"),
    ],
    validate: ordered("lo", "hi"),
  },
];

const augment: PolicyEntry[] = [
  { name: "rotate", doc: "Random rotation by up to ± degrees.", args: [{ name: "degrees", type: "float", default: 15, min: 0, max: 180 }, p(0.5)] },
  {
    name: "flip",
    doc: "Random mirror: h (left-right), v (up-down), d (depth, volumes), both (h and v), all (h, v and d); each axis independently.",
    args: [{ name: "axis", type: "enum", choices: ["h", "v", "d", "both", "all"], default: "h" }, p(0.5)],
  },
  {
    name: "affine",
    doc: "Random affine transform: rotation, translation, scaling and shear in one resampling.",
    args: [
      { name: "degrees", type: "float", default: 0, min: 0, max: 180 },
      { name: "translate", type: "float", default: 0, min: 0, max: 1, doc: "fraction of the size" },
      { name: "scale", type: "floats", default: [1, 1], min: 0, doc: "[lo, hi] zoom factors" },
      { name: "shear", type: "float", default: 0, min: 0, max: 90, doc: "degrees" },
      p(0.5),
    ],
    validate: all(length("scale", 2, false), positive("scale"), rangeList("scale")),
  },
  {
    name: "scale",
    doc: "Random zoom by a factor in [lo, hi].",
    args: [
      { name: "lo", type: "float", default: 0.9, min: 0 },
      { name: "hi", type: "float", default: 1.1, min: 0 },
      p(0.5),
    ],
    validate: all(positive("lo"), ordered("lo", "hi")),
  },
  {
    name: "translate",
    doc: "Random shift by up to a fraction of the size along each axis.",
    args: [{ name: "fraction", type: "float", default: 0.1, min: 0, max: 1 }, p(0.5)],
  },
  { name: "crop", doc: "Random crop of the given size.", args: [size, p(1)] },
  { name: "center_crop", doc: "Central crop of the given size (also applied at evaluation).", args: [size] },
  {
    name: "random_resized_crop",
    doc: "Random crop of a random area fraction and aspect ratio, resized to size (Inception-style).",
    args: [
      size,
      { name: "scale", type: "floats", default: [0.08, 1], min: 0, max: 1, doc: "[lo, hi] fraction of the area" },
      { name: "ratio", type: "floats", default: [3 / 4, 4 / 3], min: 0, doc: "[lo, hi] aspect ratio" },
      p(1),
    ],
    validate: all(length("scale", 2, false), rangeList("scale"), length("ratio", 2, false), positive("ratio"), rangeList("ratio")),
  },
  {
    name: "gamma",
    doc: "Random gamma correction x^γ with γ in [lo, hi] (intensities in [0, 1]).",
    args: [
      { name: "lo", type: "float", default: 0.7, min: 0 },
      { name: "hi", type: "float", default: 1.5, min: 0 },
      p(0.5),
    ],
    validate: all(positive("lo"), ordered("lo", "hi")),
  },
  { name: "brightness", doc: "Random brightness shift by up to ± amount.", args: [{ name: "amount", type: "float", default: 0.2, min: 0, max: 1 }, p(0.5)] },
  { name: "contrast", doc: "Random contrast change by a factor in [1 - amount, 1 + amount].", args: [{ name: "amount", type: "float", default: 0.2, min: 0, max: 1 }, p(0.5)] },
  {
    name: "blur",
    doc: "Gaussian blur with sigma drawn from [lo, hi] (or fixed).",
    args: [{ name: "sigma", type: "floats", default: [0.1, 2], min: 0, doc: "pixels: a number or [lo, hi]" }, p(0.5)],
    validate: all(length("sigma", 2, true), rangeList("sigma")),
  },
  { name: "noise", doc: "Additive Gaussian noise.", args: [{ name: "std", type: "float", default: 0.05, min: 0 }, p(0.5)] },
  {
    name: "clahe",
    doc: "Contrast-limited adaptive histogram equalisation (X-ray, fundus, histology).",
    args: [
      { name: "clip", type: "float", default: 2.0, min: 0, doc: "contrast limit" },
      { name: "tiles", type: "int", default: 8, min: 1, doc: "tiles per side of the grid" },
      p(0.5),
    ],
  },
  {
    name: "elastic",
    doc: "Elastic deformation: a random displacement field of strength alpha smoothed with a Gaussian of sigma (Simard et al.).",
    args: [
      { name: "alpha", type: "float", default: 34, min: 0, doc: "displacement scale, pixels" },
      { name: "sigma", type: "float", default: 4, min: 0, doc: "smoothness, pixels" },
      p(0.5),
    ],
    validate: positive("sigma"),
  },
  {
    name: "cutout",
    doc: "Blank out square holes of a fraction of the size at random positions.",
    args: [
      { name: "holes", type: "int", default: 1, min: 1 },
      { name: "size", type: "float", default: 0.2, min: 0, max: 1, doc: "side as a fraction of the image side" },
      p(0.5),
    ],
  },
  {
    name: "erase",
    doc: "Random erasing of a rectangle of random area and aspect ratio (Zhong et al.).",
    args: [
      { name: "scale", type: "floats", default: [0.02, 0.33], min: 0, max: 1, doc: "[lo, hi] fraction of the area" },
      { name: "ratio", type: "floats", default: [0.3, 3.3], min: 0, doc: "[lo, hi] aspect ratio" },
      p(0.5),
    ],
    validate: all(length("scale", 2, false), rangeList("scale"), length("ratio", 2, false), positive("ratio"), rangeList("ratio")),
  },
];

const loss: PolicyEntry[] = [
  {
    name: "ce",
    doc: "Cross-entropy over softmax probabilities.",
    args: [
      { name: "label_smoothing", type: "float", default: 0, min: 0, max: 1 },
      { name: "ignore_index", type: "int", default: null, doc: "label value that contributes nothing (unlabelled pixels)" },
    ],
  },
  {
    name: "bce",
    doc: "Binary cross-entropy over sigmoid probabilities, one term per label.",
    args: [{ name: "pos_weight", type: "floats", default: null, min: 0, doc: "weight of positives, one number or one per label" }],
  },
  {
    name: "weighted_ce",
    doc: "Cross-entropy with per-class weights; none: inverse class frequencies of the training set.",
    args: [
      { name: "weights", type: "floats", default: null, min: 0, doc: "one weight per class" },
      { name: "label_smoothing", type: "float", default: 0, min: 0, max: 1 },
    ],
  },
  {
    name: "focal",
    doc: "Focal loss: cross-entropy down-weighting easy examples by (1 - p)^gamma (Lin et al.).",
    args: [
      { name: "gamma", type: "float", default: 2, min: 0 },
      { name: "alpha", type: "floats", default: null, min: 0, doc: "class balance: one number (positives) or one per class" },
    ],
  },
  { name: "dice", doc: "Soft Dice loss, 1 - 2|P∩G| / (|P| + |G|), averaged over classes.", args: [smooth, includeBackground(true)] },
  {
    name: "tversky",
    doc: "Tversky loss: Dice with false positives weighted by alpha and false negatives by beta.",
    args: [
      { name: "alpha", type: "float", default: 0.3, min: 0, max: 1 },
      { name: "beta", type: "float", default: 0.7, min: 0, max: 1 },
      smooth,
      includeBackground(true),
    ],
  },
  {
    name: "focal_tversky",
    doc: "Tversky loss raised to 1/gamma, focusing on hard small structures (Abraham & Khan).",
    args: [
      { name: "alpha", type: "float", default: 0.3, min: 0, max: 1 },
      { name: "beta", type: "float", default: 0.7, min: 0, max: 1 },
      { name: "gamma", type: "float", default: 4 / 3, min: 0 },
      smooth,
      includeBackground(true),
    ],
    validate: positive("gamma"),
  },
  { name: "mse", doc: "Mean squared error.", args: [] },
  { name: "l1", doc: "Mean absolute error.", args: [] },
  {
    name: "smooth_l1",
    doc: "Huber-style L1: quadratic below beta, linear above.",
    args: [{ name: "beta", type: "float", default: 1, min: 0 }],
  },
  {
    name: "nt_xent",
    doc: "SimCLR's normalised temperature-scaled cross-entropy between two views.",
    args: [{ name: "temperature", type: "float", default: 0.1, min: 0 }],
    validate: positive("temperature"),
  },
  {
    name: "byol",
    doc: "BYOL: predict the momentum target network's projection of the other view.",
    args: [{ name: "momentum", type: "float", default: 0.996, min: 0, max: 1, doc: "target network EMA rate" }],
  },
  {
    name: "dino",
    doc: "DINO self-distillation: cross-entropy between a sharpened, centred teacher and the student.",
    args: [
      { name: "teacher_temp", type: "float", default: 0.04, min: 0 },
      { name: "student_temp", type: "float", default: 0.1, min: 0 },
      { name: "center_momentum", type: "float", default: 0.9, min: 0, max: 1 },
      { name: "momentum", type: "float", default: 0.996, min: 0, max: 1, doc: "teacher EMA rate" },
    ],
    validate: all(positive("teacher_temp"), positive("student_temp")),
  },
  {
    name: "mae",
    doc: "Masked autoencoder: reconstruct masked patches, loss on the masked ones only.",
    args: [
      { name: "mask_ratio", type: "float", default: 0.75, min: 0, max: 1 },
      { name: "norm_pix_loss", type: "bool", default: true, doc: "normalise each target patch" },
    ],
  },
];

const optimizer: PolicyEntry[] = [
  {
    name: "adamw",
    doc: "Adam with decoupled weight decay (Loshchilov & Hutter).",
    args: [lr(1e-3), weightDecay(1e-4), betas(), eps(1e-8), { name: "amsgrad", type: "bool", default: false }],
    validate: length("betas", 2, false),
  },
  {
    name: "adam",
    doc: "Adam; weight decay added to the gradient (L2).",
    args: [lr(1e-3), weightDecay(0), betas(), eps(1e-8), { name: "amsgrad", type: "bool", default: false }],
    validate: length("betas", 2, false),
  },
  { name: "adamax", doc: "Adamax: Adam with the infinity norm.", args: [lr(2e-3), weightDecay(0), betas(), eps(1e-8)], validate: length("betas", 2, false) },
  {
    name: "sgd",
    doc: "Stochastic gradient descent with momentum.",
    args: [lr(1e-2), { name: "momentum", type: "float", default: 0.9, min: 0, max: 1 }, { name: "nesterov", type: "bool", default: false }, weightDecay(0)],
  },
  { name: "lamb", doc: "LAMB: layer-wise adaptive Adam for large batches.", args: [lr(1e-3), weightDecay(1e-2), betas(), eps(1e-6)], validate: length("betas", 2, false) },
  {
    name: "rmsprop",
    doc: "RMSprop: gradient scaled by a running RMS.",
    args: [
      lr(1e-2),
      { name: "alpha", type: "float", default: 0.99, min: 0, max: 1, doc: "smoothing of the squared-gradient average" },
      { name: "momentum", type: "float", default: 0, min: 0, max: 1 },
      eps(1e-8),
      weightDecay(0),
      { name: "centered", type: "bool", default: false },
    ],
  },
  { name: "adagrad", doc: "Adagrad: per-parameter learning rates from accumulated squared gradients.", args: [lr(1e-2), weightDecay(0), eps(1e-10)] },
];

const schedule: PolicyEntry[] = [
  {
    name: "cosine",
    doc: "Cosine annealing from lr to min_lr over the stage, after an optional linear warm-up.",
    args: [warmup, { name: "min_lr", type: "float", default: 0, min: 0 }],
  },
  {
    name: "step",
    doc: "Multiply the lr by gamma every step_size epochs.",
    args: [
      { name: "step_size", type: "int", min: 1, doc: "epochs" },
      { name: "gamma", type: "float", default: 0.1, min: 0 },
    ],
  },
  {
    name: "multistep",
    doc: "Multiply the lr by gamma at each milestone epoch.",
    args: [
      { name: "milestones", type: "ints", min: 0, doc: "epochs" },
      { name: "gamma", type: "float", default: 0.1, min: 0 },
    ],
  },
  {
    name: "plateau",
    doc: "Multiply the lr by factor when a metric stops improving for patience epochs.",
    args: [
      { name: "metric", type: "string", default: "val_loss", doc: "val_loss or a metric's name" },
      { name: "mode", type: "enum", choices: ["min", "max"], default: "min", doc: "whether lower or higher is better" },
      { name: "factor", type: "float", default: 0.1, min: 0, max: 1 },
      { name: "patience", type: "int", default: 10, min: 0 },
      { name: "min_lr", type: "float", default: 0, min: 0 },
    ],
  },
  { name: "constant", doc: "A constant lr, after an optional linear warm-up.", args: [warmup] },
  {
    name: "onecycle",
    doc: "One-cycle policy: warm up to max_lr, then anneal far below the starting lr (Smith).",
    args: [
      { name: "max_lr", type: "float", default: null, min: 0, doc: "peak lr; none: the stage's lr" },
      { name: "pct_start", type: "float", default: 0.3, min: 0, max: 1, doc: "fraction of the stage spent rising" },
      { name: "div_factor", type: "float", default: 25, min: 1, doc: "start lr = max_lr / div_factor" },
      { name: "final_div_factor", type: "float", default: 1e4, min: 1, doc: "final lr = start lr / final_div_factor" },
      { name: "anneal", type: "enum", choices: ["cos", "linear"], default: "cos" },
    ],
  },
  {
    name: "poly",
    doc: "Polynomial decay lr·(1 - epoch/epochs)^power, nnU-Net's default.",
    args: [{ name: "power", type: "float", default: 0.9, min: 0 }, warmup],
  },
  {
    name: "exponential",
    doc: "Multiply the lr by gamma every epoch.",
    args: [{ name: "gamma", type: "float", min: 0, max: 1 }],
    validate: positive("gamma"),
  },
];

const data: PolicyEntry[] = [
  {
    name: "imagefolder",
    doc: "One sub-folder per class (path/<class>/*.png); a train/ and val/ pair is used when present.",
    args: [{ name: "path", type: "string" }, valSplit],
  },
  {
    name: "csv",
    doc: "A CSV table of image paths (relative to the table) and labels.",
    args: [
      { name: "path", type: "string" },
      { name: "image_col", type: "string", default: "image" },
      { name: "label_col", type: "strings", default: "label", doc: "one column, or one per label when multilabel" },
      { name: "split_col", type: "string", default: null, keywordOnly: true, doc: "column holding train/val/test" },
      valSplit,
    ],
  },
  {
    name: "dicom",
    doc: "A folder of DICOM files (one series a volume); labels from an optional CSV keyed by StudyInstanceUID or file name.",
    args: [{ name: "path", type: "string" }, { name: "labels", type: "string", default: null, doc: "CSV of labels" }, valSplit],
  },
  {
    name: "msd",
    doc: "A Medical Segmentation Decathlon task folder (dataset.json, imagesTr/, labelsTr/, NIfTI).",
    args: [{ name: "path", type: "string" }, valSplit],
  },
  {
    name: "images_masks",
    doc: "Paired folders of images and masks matched by file name.",
    args: [{ name: "images", type: "string" }, { name: "masks", type: "string" }, valSplit],
  },
];

const metrics: PolicyEntry[] = [
  { name: "accuracy", doc: "Fraction of correct predictions (top-k).", args: [{ name: "top_k", type: "int", default: 1, min: 1 }] },
  { name: "balanced_accuracy", doc: "Mean per-class recall; robust to class imbalance.", args: [] },
  { name: "f1", doc: "F1 score, the harmonic mean of precision and recall.", args: [average(["macro", "micro", "weighted"], "macro")] },
  { name: "precision", doc: "Positive predictive value.", args: [average(["macro", "micro", "weighted"], "macro")] },
  { name: "recall", doc: "True positive rate.", args: [average(["macro", "micro", "weighted"], "macro")] },
  { name: "auroc", doc: "Area under the ROC curve, one-vs-rest.", args: [average(["macro", "per_class"], "macro")] },
  { name: "auprc", doc: "Area under the precision-recall curve (average precision), one-vs-rest.", args: [average(["macro", "per_class"], "macro")] },
  { name: "confusion_matrix", doc: "Counts of true class against predicted class.", args: [] },
  { name: "sensitivity", doc: "True positive rate (recall) per class, or averaged.", args: [average(["macro", "per_class"], "macro")] },
  { name: "specificity", doc: "True negative rate per class, or averaged.", args: [average(["macro", "per_class"], "macro")] },
  { name: "dice", doc: "Dice similarity coefficient of predicted and true masks.", args: [includeBackground(false)] },
  { name: "iou", doc: "Intersection over union (Jaccard index) of predicted and true masks.", args: [includeBackground(false)] },
  {
    name: "hd95",
    doc: "95th-percentile Hausdorff distance between predicted and true mask surfaces, in pixels.",
    args: [includeBackground(false)],
  },
  {
    name: "map",
    doc: "Mean average precision of detections at one IoU threshold or averaged over several.",
    args: [{ name: "iou", type: "floats", default: 0.5, min: 0, max: 1, doc: "IoU threshold(s)" }],
  },
  { name: "mae", doc: "Mean absolute error of regression outputs.", args: [] },
  { name: "rmse", doc: "Root mean squared error of regression outputs.", args: [] },
];

function table(entries: readonly PolicyEntry[]): ReadonlyMap<string, PolicyEntry> {
  const map = new Map<string, PolicyEntry>();
  for (const e of entries) {
    if (map.has(e.name)) throw new Error(`policy entry '${e.name}' is defined twice`);
    map.set(e.name, e);
  }
  return map;
}

export const policy: Record<PolicyKind, ReadonlyMap<string, PolicyEntry>> = {
  task: table(task),
  input: table(input),
  normalize: table(normalize),
  augment: table(augment),
  loss: table(loss),
  optimizer: table(optimizer),
  schedule: table(schedule),
  data: table(data),
  metrics: table(metrics),
};

export function lookupPolicy(kind: PolicyKind, name: string): PolicyEntry | undefined {
  return policy[kind].get(name);
}

export interface PolicyCallInput {
  name: string;
  nameSpan: Span;
  /** The whole call (`focal(gamma=2)`), or the bare name when written without parentheses. */
  span: Span;
  args: readonly ArgInput[];
}

export interface PolicyBindResult {
  entry: PolicyEntry | undefined;
  values: Record<string, Val>;
  diagnostics: Diagnostic[];
  ok: boolean;
}

/**
 * Looks an entry up in its table, binds the call's arguments and runs the entry's own checks.
 * An unknown name gives MEDG401 with the closest entry as a fix.
 */
export function bindPolicy(kind: PolicyKind, call: PolicyCallInput): PolicyBindResult {
  const entry = lookupPolicy(kind, call.name);
  if (!entry) {
    const names = [...policy[kind].keys()];
    const suggestion = didYouMean(call.name, names);
    const hint = suggestion !== undefined ? `did you mean '${suggestion}'?` : `expected one of ${names.join(", ")}`;
    return {
      entry: undefined,
      values: {},
      diagnostics: [
        diagnostic("MEDG401", call.nameSpan, `unknown ${policyNouns[kind]} '${call.name}' (${hint})`, {
          fixes: suggestion !== undefined ? [{ title: `replace with '${suggestion}'`, edits: [{ span: call.nameSpan, text: suggestion }] }] : [],
        }),
      ],
      ok: false,
    };
  }
  const bound = bindArgs(entry, call.args, call.span);
  if (!bound.ok || !entry.validate) return { entry, values: bound.values, diagnostics: bound.diagnostics, ok: bound.ok };
  const problem = entry.validate(bound.values);
  if (!problem) return { entry, values: bound.values, diagnostics: bound.diagnostics, ok: true };
  const values = { ...bound.values, [problem.arg]: POISON };
  const span = bound.spans[problem.arg] ?? (problem.other !== undefined ? bound.spans[problem.other] : undefined) ?? call.span;
  return {
    entry,
    values,
    diagnostics: [...bound.diagnostics, diagnostic(problem.code, span, `${entry.name} argument '${problem.arg}' ${problem.message}`)],
    ok: false,
  };
}

