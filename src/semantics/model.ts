import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { Graph, Value as TensorValue } from "../ir/graph.js";
import { dirname, resolve } from "node:path";
import { BATCH, formatShape } from "../ir/types.js";
import { buildPolicy, classCount, policyEntry } from "../policy/build-plan.js";
import { stage as newStage, type Stage, type TrainingPlan } from "../policy/plan.js";
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import { EvalContext, flowValues, type EvalTrace } from "./context.js";
import { Env } from "./env.js";
import { Evaluator } from "./evaluate.js";
import { defineItems } from "./modules.js";
import { formatVal, isPoison, typeName, type Flow } from "./values.js";

export interface RoleInfo {
  role: string;
  span: Span;
  /** The role's output tensors (empty when the role failed to build). */
  outputs: TensorValue[];
  /** `weights="file.safetensors"` on the role's call: pretrained weights named relative to the role. */
  weights?: { file: string; span: Span };
  /** `in_channels=N` on the role's call: adapt the first conv's pretrained weights to N input channels. */
  inChannels?: { count: number; span: Span };
  /** The role's block as written (first pipe stage) and whether it is a call with parentheses. */
  head: { span: Span; isCall: boolean };
}

/** Keyword arguments of a role's top-level call that configure the role rather than the block. */
const roleOptions = new Set(["weights", "in_channels"]);

/** Splits `backbone resnet50(weights="w.safetensors", in_channels=1)` into the block and its options. */
function roleCall(value: A.Expr): { value: A.Expr; options: A.Arg[] } {
  const head = value.kind === "pipe" ? value.stages[0]! : value;
  if (head.kind !== "call") return { value, options: [] };
  const options = head.args.filter((a) => a.name !== undefined && roleOptions.has(a.name));
  if (options.length === 0) return { value, options };
  const stripped: A.Call = { ...head, args: head.args.filter((a) => !options.includes(a)) };
  // A call left without arguments is the bare name (so `resnet50(weights=…)` is `resnet50`).
  const call: A.Expr = stripped.args.length === 0 && stripped.callee.kind === "name" ? { ...stripped.callee, span: stripped.span } : stripped;
  return { value: value.kind === "pipe" ? { ...value, stages: [call, ...value.stages.slice(1)] } : call, options };
}

export interface CompiledModel {
  name: string;
  span: Span;
  doc?: string;
  graph: Graph;
  plan: TrainingPlan;
  roles: RoleInfo[];
  diagnostics: Diagnostic[];
  /** False when an error stopped the graph short of the model's last role. */
  complete: boolean;
}

/** Evaluates one `model { … }`: builds its graph (shapes inferred on the way) and its training plan. */
export function compileModel(decl: A.ModelDecl, moduleEnv: Env, isLibrary: (file: string) => boolean = () => false, trace: EvalTrace | null = null): CompiledModel {
  const ctx = new EvalContext();
  ctx.isLibrary = isLibrary;
  ctx.trace = trace;
  const ev = new Evaluator(ctx);
  const env = new Env(moduleEnv);
  defineItems(decl.statements.filter((s): s is A.DefStmt | A.LetStmt => s.kind === "def" || s.kind === "let"), env, ctx.diagnostics);

  const plan = buildPolicy(decl.statements.filter((s): s is A.PolicyStmt => s.kind === "policy"), ev, env, ctx.diagnostics);
  ctx.classes = classCount(plan);

  const roles: RoleInfo[] = [];
  let flow: Flow | null = buildInput(decl, ev, env, plan, ctx);
  const seenRoles = new Map<string, Span>();
  let complete = flow !== null;
  for (const s of decl.statements) {
    if (s.kind !== "role") continue;
    const previous = seenRoles.get(s.role);
    if (previous) {
      ctx.error("MEDG405", s.roleSpan, `a second \`${s.role}\`; the model's ${s.role} is at line ${previous.start.line} (compose parts with |)`);
      continue;
    }
    seenRoles.set(s.role, s.roleSpan);
    const { value, options } = roleCall(s.value);
    const first = s.value.kind === "pipe" ? s.value.stages[0]! : s.value;
    const info: RoleInfo = { role: s.role, span: s.span, outputs: [], head: { span: first.span, isCall: first.kind === "call" } };
    for (const o of options) {
      const v = ev.value(o.value, env);
      if (isPoison(v)) continue;
      if (o.name === "weights") {
        if (typeof v === "string") info.weights = { file: resolve(dirname(decl.span.file), v), span: o.value.span };
        else ctx.error("MEDG203", o.value.span, `weights expects a path to a .safetensors file, got ${typeName(v)} ${formatVal(v)}`);
      } else if (typeof v === "number" && Number.isInteger(v) && v >= 1) info.inChannels = { count: v, span: o.value.span };
      else ctx.error("MEDG203", o.value.span, `in_channels expects a positive int, got ${typeName(v)} ${formatVal(v)}`);
    }
    roles.push(info);
    const block = ev.blockOf(value, env);
    if (!flow || block === false) {
      // Later roles would only report consequences of this one.
      flow = null;
      complete = false;
      continue;
    }
    if (info.inChannels) {
      const c = flowValues(flow)[0]?.type.shape[1];
      if (c !== info.inChannels.count)
        ctx.error("MEDG301", info.inChannels.span, `in_channels=${info.inChannels.count}, but the ${s.role} receives ${c} channels (${flowValues(flow).map((v) => formatShape(v.type.shape)).join(", ")})`);
    }
    const out: Flow | null = block ? block.apply(flow, { path: [s.role], role: s.role }) : flow;
    info.outputs = out ? [...flowValues(out)] : [];
    flow = out;
    if (!out) complete = false;
  }
  if (flow && complete) ctx.graph.outputs = [...flowValues(flow)];
  if (seenRoles.size === 0) ctx.error("MEDG402", decl.nameSpan, `model ${decl.name} has no parts; add one, e.g. \`backbone resnet50\``);

  plan.stages = buildStages(decl, ev, env, ctx, [...seenRoles.keys()]);
  const model: CompiledModel = { name: decl.name, span: decl.span, graph: ctx.graph, plan, roles, diagnostics: ctx.diagnostics, complete };
  if (decl.doc) model.doc = decl.doc;
  return model;
}

function buildInput(decl: A.ModelDecl, ev: Evaluator, env: Env, plan: TrainingPlan, ctx: EvalContext): Flow | null {
  const inputs = decl.statements.filter((s): s is A.InputStmt => s.kind === "input");
  if (inputs.length === 0) {
    ctx.error("MEDG402", decl.nameSpan, `model ${decl.name} has no input; add e.g. \`input image(1, 224, 224)\``);
    return null;
  }
  for (const extra of inputs.slice(1)) ctx.error("MEDG405", extra.span, "a model has one `input` statement");
  const stmt = inputs[0]!;
  const stages = stmt.value.kind === "pipe" ? stmt.value.stages : [stmt.value];
  const kind = policyEntry("input", stages[0]!, ev, env, ctx.diagnostics);
  if (!kind) return null;
  const shape = kind.name === "image" ? ["c", "h", "w"] : ["c", "d", "h", "w"];
  const dims = shape.map((k) => kind.args[k]);
  if (dims.some((d) => typeof d !== "number")) return null;
  plan.input = { kind: kind.name as "image" | "volume", shape: dims as number[], steps: [], span: stmt.span, kindSpan: stages[0]!.span };
  let flow: Flow | null = ctx.graph.addInput({ dtype: "float32", shape: [BATCH, ...(dims as number[])] }, "input");
  for (const step of stages.slice(1)) {
    const block = ev.blockOf(step, env);
    if (block === false) return null;
    if (!block || !flow) continue;
    plan.input.steps.push({ name: block.describe, args: {}, span: step.span });
    flow = block.apply(flow, { path: [], role: "input" });
  }
  return flow;
}

/** Every label path that names parameters, for stage targets and their did-you-mean. */
function labelPaths(graph: Graph): Set<string> {
  const paths = new Set<string>(["all"]);
  for (const name of graph.params.keys()) for (let i = name.indexOf("."); i >= 0; i = name.indexOf(".", i + 1)) paths.add(name.slice(0, i));
  return paths;
}

/** A sibling of the path's last segment (`layr4` -> `layer4`); never a parent, which would freeze far more. */
function suggestPath(path: string, known: Set<string>): string | undefined {
  const cut = path.lastIndexOf(".");
  const [parent, last] = cut < 0 ? ["", path] : [path.slice(0, cut), path.slice(cut + 1)];
  const siblings = [...known].filter((k) => (cut < 0 ? !k.includes(".") : k.startsWith(`${parent}.`) && !k.slice(parent.length + 1).includes("."))).map((k) => k.slice(cut + 1));
  const s = didYouMean(last, siblings);
  return s === undefined ? undefined : cut < 0 ? s : `${parent}.${s}`;
}

/** Whether a label path is one a target names: the same depth, each segment equal or inside its range. */
function matchesPath(path: string, target: A.LabelPath): boolean {
  const parts = path.split(".");
  if (parts.length !== target.segments.length) return false;
  return target.segments.every((seg, i) => {
    const part = parts[i]!;
    if (seg.name !== undefined) return part === seg.name;
    if (!/^\d+$/.test(part)) return false;
    const n = Number(part);
    return seg.to !== undefined ? n >= seg.index! && n <= seg.to : n === seg.index;
  });
}

/** The label paths (see labelPaths) a stage target names, in the order they are known. */
function targetHits(graph: Graph, known: () => Set<string>, target: A.LabelPath): string[] {
  // A path of names matches only itself: `all`, or a proper prefix of a parameter name.
  if (target.segments.length > 0 && target.segments.every((seg) => seg.name !== undefined)) {
    const text = pathText(target);
    if (text === "all") return [text];
    const prefix = `${text}.`;
    for (const name of graph.params.keys()) if (name.startsWith(prefix)) return [text];
    return [];
  }
  return [...known()].filter((k) => matchesPath(k, target));
}

function pathText(path: A.LabelPath): string {
  return path.segments.map((s) => s.name ?? (s.to !== undefined ? `${s.index}-${s.to}` : String(s.index))).join(".");
}

function buildStages(decl: A.ModelDecl, ev: Evaluator, env: Env, ctx: EvalContext, roles: string[]): Stage[] {
  let knownPaths: Set<string> | undefined;
  const known = () => (knownPaths ??= labelPaths(ctx.graph));
  const stages: Stage[] = [];
  const stmts = decl.statements.filter((s): s is A.StageStmt => s.kind === "stage");
  for (const [i, s] of stmts.entries()) {
    const stage = newStage(s.name ?? `stage${i + 1}`, s.span);
    for (const c of s.clauses) {
      if (c.kind === "freeze" || c.kind === "unfreeze") {
        const list = c.kind === "freeze" ? stage.freeze : stage.unfreeze;
        if (c.targets.length === 0) {
          if (c.kind === "unfreeze") list.push("all");
          else if (roles.includes("backbone")) list.push("backbone");
          else ctx.error("MEDG404", c.span, "`freeze` without a target freezes the backbone, but this model has no backbone; name what to freeze, e.g. `freeze encoder`");
          continue;
        }
        for (const target of c.targets) {
          const reversed = target.segments.find((seg) => seg.to !== undefined && seg.to < seg.index!);
          if (reversed) {
            ctx.error("MEDG404", reversed.span, `the range ${reversed.index}-${reversed.to} is empty; write it low to high (${reversed.to}-${reversed.index})`);
            continue;
          }
          // A range names the layers it covers that have parameters (relus and pools between them have none).
          const hits = ctx.graph.params.size ? targetHits(ctx.graph, known, target) : [pathText(target)];
          if (hits.length) {
            list.push(...hits);
            continue;
          }
          const p = pathText(target);
          const s2 = target.segments.some((seg) => seg.to !== undefined) ? undefined : suggestPath(p, known());
          ctx.error("MEDG403", target.span, `stage target '${p}' names no parameters${s2 ? ` (did you mean '${s2}'?)` : ""}`, s2 ? { fixes: [{ title: `change to '${s2}'`, edits: [{ span: target.span, text: s2 }] }] } : {});
        }
      } else if (c.kind === "epochs" || c.kind === "batch") {
        const v = ev.value(c.value, env);
        if (isPoison(v)) continue;
        if (typeof v !== "number" || !Number.isInteger(v) || v < 1) ctx.error("MEDG203", c.value.span, `${c.kind} must be a positive int, got ${typeName(v)} ${formatVal(v)}`);
        else if (c.kind === "epochs") stage.epochs = v;
        else stage.batch = v;
      } else if (c.kind === "lr") {
        const v = ev.value(c.value, env);
        if (isPoison(v)) continue;
        if (typeof v !== "number" || !(v > 0)) ctx.error("MEDG203", c.value.span, `lr must be a positive number, got ${typeName(v)} ${formatVal(v)}`);
        else stage.lr = v;
      } else if (c.kind === "schedule" || c.kind === "optimizer") {
        const entry = policyEntry(c.kind, c.value, ev, env, ctx.diagnostics);
        if (entry) stage[c.kind] = entry;
      }
    }
    stages.push(stage);
  }
  return stages;
}

/** Whether a parameter name lies under one of the label paths (`all` covers every name). */
function pathMatcher(paths: readonly string[]): (name: string) => boolean {
  if (paths.length === 0) return () => false;
  if (paths.includes("all")) return () => true;
  const exact = new Set(paths);
  const prefixes = paths.map((p) => `${p}.`);
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

/** Parameter names trainable in a stage, given the names frozen before it (stages are cumulative). */
export function frozenAfter(stages: readonly Stage[], graph: Graph): Set<string>[] {
  const frozen = new Set<string>();
  const out: Set<string>[] = [];
  for (const s of stages) {
    const freeze = pathMatcher(s.freeze);
    const unfreeze = pathMatcher(s.unfreeze);
    for (const name of graph.params.keys()) {
      if (freeze(name)) frozen.add(name);
      if (unfreeze(name)) frozen.delete(name);
    }
    out.push(new Set(frozen));
  }
  return out;
}

export { diagnostic };
