import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { diagnostic } from "../diagnostics/diagnostic.js";
import type { Evaluator } from "../semantics/evaluate.js";
import type { Env } from "../semantics/env.js";
import { formatVal, isPoison, typeName, type Val } from "../semantics/values.js";
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import { emptyPlan, policyCall, type LossTerm, type PolicyCall, type TrainingPlan } from "./plan.js";
import { bindPolicy, type PolicyKind } from "./registry.js";

/** Statement words whose value is one registry entry; `augment` and `metrics` take several, `loss` a weighted sum. */
const singleEntry: Partial<Record<string, PolicyKind>> = {
  task: "task",
  optimizer: "optimizer",
  schedule: "schedule",
  normalize: "normalize",
  data: "data",
};

/** Reads one registry entry written as `name` or `name(args)`. */
export function policyEntry(kind: PolicyKind, e: A.Expr, ev: Evaluator, env: Env, diagnostics: Diagnostic[]): PolicyCall | null {
  if (containsMissing(e)) return null;
  let nameExpr: A.Expr = e;
  let args: readonly A.Arg[] = [];
  if (e.kind === "call") {
    nameExpr = e.callee;
    args = e.args;
  }
  if (nameExpr.kind !== "name") {
    if (nameExpr.kind !== "missing") diagnostics.push(diagnostic("MEDG401", e.span, `expected a ${kind} such as \`${exampleOf[kind]}\`, got an expression`));
    return null;
  }
  const bound = bindPolicy(kind, { name: nameExpr.name, nameSpan: nameExpr.span, span: e.span, args: ev.argInputs(args, env).map((a) => (a.value === undefined ? a : { ...a, value: ev.deepForce(a.value, a.span) })) });
  diagnostics.push(...bound.diagnostics);
  return bound.ok ? policyCall(nameExpr.name, bound.values, e.span) : null;
}

const exampleOf: Record<PolicyKind, string> = {
  task: "classify(classes=[\"normal\", \"pneumonia\"])",
  input: "image(1, 224, 224)",
  normalize: "zscore(per_image)",
  augment: "rotate(15)",
  loss: "focal(gamma=2)",
  optimizer: "adamw(weight_decay=1e-4)",
  schedule: "cosine(warmup=5)",
  data: "imagefolder(\"data/\")",
  metrics: "auroc",
};

/** `0.5*dice + 0.5*ce`: a sum of terms, each a loss entry optionally scaled by a number. */
function lossTerms(e: A.Expr, ev: Evaluator, env: Env, diagnostics: Diagnostic[], scale = 1): LossTerm[] | null {
  if (containsMissing(e)) return null;
  if (e.kind === "binary" && e.op === "+") {
    const l = lossTerms(e.left, ev, env, diagnostics, scale);
    const r = lossTerms(e.right, ev, env, diagnostics, scale);
    return l && r ? [...l, ...r] : null;
  }
  if (e.kind === "binary" && e.op === "*") {
    const [numberSide, lossSide] = isLossLike(e.right) ? [e.left, e.right] : [e.right, e.left];
    const w = ev.value(numberSide, env);
    if (isPoison(w)) return null;
    if (typeof w !== "number") {
      diagnostics.push(diagnostic("MEDG203", numberSide.span, `a loss weight must be a number, got ${typeName(w)} ${formatVal(w)}`));
      return null;
    }
    return lossTerms(lossSide, ev, env, diagnostics, scale * w);
  }
  const entry = policyEntry("loss", e, ev, env, diagnostics);
  return entry ? [{ weight: scale, entry }] : null;
}

function isLossLike(e: A.Expr): boolean {
  return e.kind === "name" || e.kind === "call" || (e.kind === "binary" && (e.op === "+" || e.op === "*"));
}

/** `augment a | b | c` or `augment a, b`. */
function flattenPipe(e: A.Expr): A.Expr[] {
  return e.kind === "pipe" ? e.stages.flatMap(flattenPipe) : [e];
}

function positiveInt(v: Val, span: Span, what: string, diagnostics: Diagnostic[]): number | null {
  if (isPoison(v)) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    diagnostics.push(diagnostic("MEDG203", span, `${what} must be a positive int, got ${typeName(v)} ${formatVal(v)}`));
    return null;
  }
  return v;
}

/** Fills the plan's recipe statements (everything except input and stages, which need the graph). */
export function buildPolicy(statements: readonly A.PolicyStmt[], ev: Evaluator, env: Env, diagnostics: Diagnostic[]): TrainingPlan {
  const plan = emptyPlan();
  const seen = new Map<string, Span>();
  for (const s of statements) {
    const previous = seen.get(s.keyword);
    if (previous) {
      diagnostics.push(diagnostic("MEDG405", s.keywordSpan, `a second \`${s.keyword}\` statement; the first is at line ${previous.start.line}`, { related: [{ span: previous, message: "first statement" }] }));
      continue;
    }
    seen.set(s.keyword, s.keywordSpan);
    const kind = singleEntry[s.keyword];
    if (kind) {
      if (s.values.length > 1) diagnostics.push(diagnostic("MEDG204", s.values[1]!.span, `\`${s.keyword}\` takes one ${kind}`));
      const entry = s.values[0] ? policyEntry(kind, s.values[0], ev, env, diagnostics) : null;
      (plan as unknown as Record<string, PolicyCall | null>)[s.keyword] = entry;
    } else if (s.keyword === "loss") {
      if (s.values.length > 1) diagnostics.push(diagnostic("MEDG204", s.values[1]!.span, "`loss` takes one expression; combine losses with + and weights: `0.5*dice + 0.5*ce`"));
      const terms = s.values[0] ? lossTerms(s.values[0], ev, env, diagnostics) : null;
      plan.loss = terms ? { terms, span: s.span } : null;
    } else if (s.keyword === "augment" || s.keyword === "metrics") {
      const kindOf: PolicyKind = s.keyword;
      const list = s.values.flatMap(flattenPipe).map((v) => policyEntry(kindOf, v, ev, env, diagnostics));
      const entries = list.filter((x): x is PolicyCall => x !== null);
      if (s.keyword === "augment") plan.augment = entries;
      else plan.metrics = entries;
    } else if (s.keyword === "epochs" || s.keyword === "batch" || s.keyword === "seed") {
      const v = s.values[0] ? ev.value(s.values[0], env) : null;
      plan[s.keyword] = s.values[0] ? positiveInt(v, s.values[0].span, `\`${s.keyword}\``, diagnostics) : null;
    }
  }
  return plan;
}

/** Number of classes the task names, if it names them. */
export function classCount(plan: TrainingPlan): number | null {
  const classes = plan.task?.args["classes"];
  if (typeof classes === "number") return classes;
  if (Array.isArray(classes)) return classes.length;
  return null;
}

/** True when the parser had to fill in part of the expression (its syntax error is already reported). */
function containsMissing(e: A.Expr): boolean {
  switch (e.kind) {
    case "missing":
      return true;
    case "binary":
      return containsMissing(e.left) || containsMissing(e.right);
    case "unary":
      return containsMissing(e.operand);
    case "call":
      return containsMissing(e.callee) || e.args.some((a) => containsMissing(a.value));
    case "pipe":
      return e.stages.some(containsMissing);
    default:
      return false;
  }
}
