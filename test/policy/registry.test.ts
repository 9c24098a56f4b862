import { describe, expect, it } from "vitest";
import { bindPolicy, policy, policyKinds, policyNouns, type PolicyKind } from "../../src/policy/registry.js";
import { bindArgs, type ArgInput } from "../../src/semantics/bind.js";
import type { ArgSpec } from "../../src/semantics/signature.js";
import { isPoison, type Val } from "../../src/semantics/values.js";
import { LineMap, type Span } from "../../src/syntax/span.js";

const text = "model m { loss focal(gamma=2) }";
const lines = new LineMap(text);
const span = (start: number, end: number): Span => lines.span("t.medg", start, end);
const callSpan = span(15, 29);
const argSpan = span(21, 28);

/** A value that satisfies a required argument's declared type, bounds and choices. */
function sample(spec: ArgSpec): Val {
  const n = Math.min(Math.max(spec.min ?? 1, 1), spec.max ?? Infinity);
  switch (spec.type) {
    case "int":
      return Math.ceil(n);
    case "float":
      return n;
    case "ints":
      return [Math.ceil(n)];
    case "floats":
      return [n];
    case "bool":
      return true;
    case "string":
      return spec.choices?.[0] ?? "data/train";
    case "strings":
      return ["a"];
    case "enum":
      return spec.choices![0]!;
    case "list":
      return [];
    case "any":
      return 1;
    case "block":
      return { kind: "callable", name: "relu", span: argSpan, target: null };
  }
}

const requiredArgs = (args: readonly ArgSpec[]): ArgInput[] =>
  args.filter((a) => a.default === undefined).map((a) => ({ name: a.name, nameSpan: argSpan, span: argSpan, value: sample(a) }));

const entries = policyKinds.flatMap((kind) => [...policy[kind].entries()].map(([key, entry]) => ({ kind, key, entry })));

describe("policy registry", () => {
  it("has a table for every kind, each non-empty", () => {
    expect(Object.keys(policy).sort()).toEqual([...policyKinds].sort());
    for (const kind of policyKinds) {
      expect(policy[kind].size, kind).toBeGreaterThan(0);
      expect(policyNouns[kind]).toBeTruthy();
    }
  });

  it("keys each entry by its own name; argument names are unique and docs non-empty single lines", () => {
    for (const { kind, key, entry } of entries) {
      const where = `${kind} ${key}`;
      expect(entry.name, where).toBe(key);
      expect(entry.name, where).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(entry.doc.trim().length, where).toBeGreaterThan(0);
      expect(entry.doc, where).not.toContain("\n");
      const names = entry.args.map((a) => a.name);
      expect(new Set(names).size, where).toBe(names.length);
      for (const a of entry.args) {
        if (a.type === "enum") expect(a.choices?.length, `${where}.${a.name}`).toBeGreaterThan(0);
        if (a.min !== undefined && a.max !== undefined) expect(a.min, `${where}.${a.name}`).toBeLessThanOrEqual(a.max);
      }
    }
  });

  it("binds every entry with only its required arguments, and its own checks accept the defaults", () => {
    for (const { kind, key, entry } of entries) {
      const r = bindArgs(entry, requiredArgs(entry.args), callSpan);
      expect(r.diagnostics, `${kind} ${key}`).toEqual([]);
      expect(r.ok, `${kind} ${key}`).toBe(true);
      for (const a of entry.args) expect(a.name in r.values, `${kind} ${key}.${a.name}`).toBe(true);
      expect(entry.validate?.(r.values), `${kind} ${key}`).toBeUndefined();
    }
  });

  it("every default conforms to its own declared type, bounds and choices", () => {
    for (const { kind, key, entry } of entries) {
      const explicit: ArgInput[] = entry.args
        .filter((a) => a.default !== undefined)
        .map((a) => ({ name: a.name, nameSpan: argSpan, span: argSpan, value: a.default as Val }));
      const r = bindArgs(entry, [...requiredArgs(entry.args), ...explicit], callSpan);
      expect(r.diagnostics, `${kind} ${key}`).toEqual([]);
      expect(r.ok, `${kind} ${key}`).toBe(true);
    }
  });

  it("puts a keyword-only probability p in [0, 1] on every augmentation", () => {
    for (const [name, entry] of policy.augment) {
      if (name === "center_crop") continue; // deterministic: applied to every sample, at evaluation too
      const pArg = entry.args.find((a) => a.name === "p");
      expect(pArg, name).toMatchObject({ type: "float", min: 0, max: 1, keywordOnly: true });
    }
  });

  it("has the entries the field expects", () => {
    const expected: Record<PolicyKind, string[]> = {
      task: ["classify", "segment", "detect", "pretrain", "regress"],
      input: ["image", "volume"],
      normalize: ["zscore", "imagenet", "minmax", "window", "percentile"],
      augment: ["rotate", "flip", "affine", "scale", "translate", "random_resized_crop", "gamma", "brightness", "contrast", "blur", "noise", "clahe", "elastic", "cutout", "erase"],
      loss: ["ce", "bce", "weighted_ce", "focal", "dice", "tversky", "mse", "l1", "smooth_l1", "nt_xent", "byol", "dino", "mae"],
      optimizer: ["adamw", "adam", "adamax", "sgd", "lamb", "rmsprop"],
      schedule: ["cosine", "step", "multistep", "plateau", "constant", "onecycle", "poly", "exponential"],
      data: ["imagefolder", "csv", "dicom", "msd", "images_masks"],
      metrics: ["accuracy", "balanced_accuracy", "f1", "auroc", "confusion_matrix", "dice", "iou", "sensitivity", "specificity", "map"],
    };
    for (const kind of policyKinds) for (const name of expected[kind]) expect(policy[kind].has(name), `${kind} ${name}`).toBe(true);
  });
});

describe("the design's example binds as written", () => {
  const sym = (symbol: string): ArgInput => ({ span: argSpan, value: undefined, symbol });
  const num = (value: number): ArgInput => ({ span: argSpan, value });
  const named = (name: string, value: Val): ArgInput => ({ name, nameSpan: argSpan, span: argSpan, value });
  const bind = (kind: PolicyKind, name: string, args: ArgInput[]) => bindPolicy(kind, { name, nameSpan: argSpan, span: callSpan, args });

  it.each([
    ["task", "classify", [named("classes", ["normal", "pneumonia", "covid"])]],
    ["input", "image", [num(1), num(224), num(224)]],
    ["normalize", "zscore", [sym("per_image")]],
    ["loss", "focal", [named("gamma", 2)]],
    ["optimizer", "adamw", [named("weight_decay", 1e-4)]],
    ["augment", "rotate", [num(15)]],
    ["augment", "flip", [sym("h")]],
    ["augment", "gamma", [num(0.7), num(1.5)]],
    ["augment", "contrast", [num(0.2)]],
    ["augment", "clahe", []],
    ["schedule", "cosine", []],
    ["normalize", "window", [num(40), num(400)]],
    ["metrics", "f1", [sym("micro")]],
    ["metrics", "auroc", [named("average", "per_class")]],
  ] as [PolicyKind, string, ArgInput[]][])("%s %s", (kind, name, args) => {
    const r = bind(kind, name, args);
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it("fills the field's defaults", () => {
    expect(bind("optimizer", "adamw", []).values).toEqual({ lr: 1e-3, weight_decay: 1e-4, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false });
    expect(bind("normalize", "zscore", [sym("per_image")]).values).toEqual({ mode: "per_image", mean: null, std: null });
    expect(bind("augment", "flip", [sym("h")]).values).toEqual({ axis: "h", p: 0.5 });
  });
});

describe("bindPolicy", () => {
  const named = (name: string, value: Val): ArgInput => ({ name, nameSpan: argSpan, span: argSpan, value });
  const bind = (kind: PolicyKind, name: string, args: ArgInput[] = []) => bindPolicy(kind, { name, nameSpan: argSpan, span: callSpan, args });

  it("reports an unknown entry with a did-you-mean fix", () => {
    const r = bind("loss", "focall");
    expect(r.ok).toBe(false);
    expect(r.entry).toBeUndefined();
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG401", span: argSpan, message: "unknown loss 'focall' (did you mean 'focal'?)" });
    expect(r.diagnostics[0]!.fixes?.[0]?.edits[0]?.text).toBe("focal");
  });

  it("lists the entries when nothing is close", () => {
    const r = bind("optimizer", "qqqqqqqq");
    expect(r.diagnostics[0]!.message).toMatch(/^unknown optimizer 'qqqqqqqq' \(expected one of adamw, adam, /);
  });

  it("passes binder diagnostics through", () => {
    const r = bind("augment", "rotate", [named("p", 2)]);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG213"]);
  });

  it("checks classes: a count, or distinct names", () => {
    expect(bind("task", "classify", [named("classes", 3)]).ok).toBe(true);
    expect(bind("task", "segment", [named("classes", 1)]).ok).toBe(true);
    const wrongType = bind("task", "classify", [named("classes", true)]);
    expect(wrongType.diagnostics[0]).toMatchObject({ code: "MEDG203", span: argSpan, message: "classify argument 'classes' expects a list of class names or a class count, got true" });
    expect(isPoison(wrongType.values.classes)).toBe(true);
    expect(bind("task", "classify", [named("classes", 2.5)]).diagnostics[0]!.code).toBe("MEDG203");
    expect(bind("task", "classify", [named("classes", ["a", 1])]).diagnostics[0]!.code).toBe("MEDG203");
    expect(bind("task", "classify", [named("classes", ["a", "b", "a"])]).diagnostics[0]).toMatchObject({ code: "MEDG213", message: 'classify argument \'classes\' names class "a" twice' });
    expect(bind("task", "classify", [named("classes", 1)]).diagnostics[0]!.message).toContain("multilabel=true");
    expect(bind("task", "classify", [named("classes", 1), named("multilabel", true)]).ok).toBe(true);
    expect(bind("task", "detect", [named("classes", 0)]).diagnostics[0]!.code).toBe("MEDG213");
  });

  it("checks lo <= hi, pointing at the argument the user wrote", () => {
    const hiSpan = span(0, 5);
    const r = bindPolicy("augment", { name: "gamma", nameSpan: argSpan, span: callSpan, args: [{ name: "hi", nameSpan: hiSpan, span: hiSpan, value: 0.5 }] });
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG213", span: hiSpan, message: "gamma argument 'lo' must not exceed 'hi' (0.5), got 0.7" });
    expect(bind("normalize", "percentile", [named("lo", 99), named("hi", 1)]).ok).toBe(false);
  });

  it("checks strictly positive values and list lengths", () => {
    expect(bind("normalize", "window", [named("center", 40), named("width", 0)]).diagnostics[0]!.message).toBe(
      "window argument 'width' must be greater than 0, got 0",
    );
    expect(bind("loss", "nt_xent", [named("temperature", 0)]).ok).toBe(false);
    expect(bind("optimizer", "adamw", [named("betas", [0.9])]).diagnostics[0]!.message).toBe(
      "adamw argument 'betas' must be a list of 2 numbers, got [0.9]",
    );
    expect(bind("augment", "blur", [named("sigma", 1)]).ok).toBe(true);
    expect(bind("augment", "blur", [named("sigma", [2, 1])]).ok).toBe(false);
    expect(bind("augment", "random_resized_crop", [named("size", 224), named("scale", [0.5, 0.2])]).ok).toBe(false);
  });

  it("does not run entry checks after a binder error", () => {
    const r = bind("normalize", "window", [named("center", "x"), named("width", 0)]);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG203"]);
  });
});
