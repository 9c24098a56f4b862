/** Hover: what a name denotes, and the shapes, parameters and MACs of the graph nodes built at the position. */
import { dirname, resolve } from "node:path";
import type { CheckedModel } from "../compile.js";
import type { Node } from "../ir/graph.js";
import { formatShape } from "../ir/types.js";
import { nodeMacs } from "../passes/count-macs.js";
import { policy } from "../policy/registry.js";
import { formatMacs, thousands } from "../cli/summary.js";
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import type { Analysis } from "./analysis.js";
import { inSpan, pathAt, type Entry } from "./ast-path.js";
import type { Application } from "./capture.js";
import { bindingMarkdown, defMarkdown, defOrigin, formatDefault, policyMarkdown, shapes, sourceOf, wiringSignatures } from "./describe.js";
import type { BlockSite, NodeIndex } from "./node-index.js";
import { policyKindOfKeyword, resolveName } from "./resolve.js";
import type { ArgSpec } from "../semantics/signature.js";
import type { Target } from "../semantics/evaluate.js";
import { isCallable } from "../semantics/values.js";

export interface HoverResult {
  markdown: string;
  span: Span;
}

export interface HoverContext {
  /** Text of open documents, for default expressions shown in signatures. */
  open: (file: string) => string | undefined;
  root: string;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const learnable = (nodes: readonly Node[]) => nodes.reduce((s, n) => s + n.params.filter((p) => !p.buffer).reduce((t, p) => t + numel(p.shape), 0), 0);
const macsOf = (nodes: readonly Node[]) => nodes.reduce((s, n) => s + nodeMacs(n), 0);

export function hover(analysis: Analysis, offset: number, ctx: HoverContext): HoverResult | null {
  if ((analysis.ast.comments ?? []).some((c) => c.span.start.offset <= offset && offset < c.span.end.offset)) return null;
  const path = pathAt(analysis.ast, offset);
  const symbol = symbolHover(analysis, path, offset, ctx);
  const index = analysis.index();
  const site = symbol?.skipBlock ? undefined : index.siteAt(analysis.path, offset);
  const block = site ? siteMarkdown(site, index, analysis.result.models.length > 1) : undefined;
  if (!symbol && !block) return null;
  const parts = [symbol?.markdown, block].filter((x): x is string => !!x);
  return { markdown: parts.join("\n\n---\n\n"), span: symbol?.span ?? site!.span };
}

interface SymbolHover {
  markdown: string;
  span: Span;
  /** Declarations (a model's or def's name) are not blocks; their statement's nodes would only confuse. */
  skipBlock?: boolean;
}

function symbolHover(analysis: Analysis, path: Entry[], offset: number, ctx: HoverContext): SymbolHover | undefined {
  const inner = path[path.length - 1];
  if (!inner) return undefined;
  switch (inner.type) {
    case "def":
      if (inSpan(inner.node.nameSpan, offset)) return { markdown: defMarkdown(inner.node, ctx.open, ctx.root), span: inner.node.nameSpan, skipBlock: true };
      return undefined;
    case "model":
      if (inSpan(inner.node.nameSpan, offset)) {
        const model = analysis.result.models.find((m) => m.span.start.offset === inner.node.span.start.offset);
        return { markdown: modelMarkdown(inner.node, model), span: inner.node.nameSpan, skipBlock: true };
      }
      return undefined;
    case "role":
      if (inSpan(inner.node.roleSpan, offset)) return { markdown: roleMarkdown(analysis, path, inner.node), span: inner.node.roleSpan, skipBlock: true };
      return undefined;
    case "policy":
      if (inSpan(inner.node.keywordSpan, offset)) return { markdown: statementMarkdown(inner.node.keyword), span: inner.node.keywordSpan, skipBlock: true };
      return undefined;
    case "import":
      if (inSpan(inner.node.pathSpan, offset)) {
        const target = resolve(dirname(analysis.path), inner.node.path);
        return { markdown: `import of \`${defOrigin(target, ctx.root)}\``, span: inner.node.pathSpan, skipBlock: true };
      }
      return undefined;
    case "param":
      return { markdown: `parameter \`${inner.node.name}\`${inner.node.default ? ` = \`${textOf(analysis, inner.node.default.span)}\`` : " (required)"}`, span: inner.node.span, skipBlock: true };
    case "path":
      return labelPathHover(analysis, path, inner.node);
    case "arg":
      if (inner.node.nameSpan && inSpan(inner.node.nameSpan, offset)) return argumentHover(analysis, path, inner.node, inner.call, offset);
      return undefined;
    case "expr":
      return expressionHover(analysis, path, inner.node, offset, ctx);
    default:
      return undefined;
  }
}

function expressionHover(analysis: Analysis, path: Entry[], e: A.Expr, offset: number, ctx: HoverContext): SymbolHover | undefined {
  switch (e.kind) {
    case "name": {
      const r = resolveName(e.name, path, offset, analysis.env);
      if (!r) return undefined;
      if (r.kind === "policy") return { markdown: policyMarkdown(r.policyKind, r.entry), span: e.span };
      if (r.kind === "model-def") return { markdown: defMarkdown(r.def, ctx.open, ctx.root), span: e.span };
      if (r.kind === "local") {
        const owner = r.owner ? ` of \`${r.owner.name}\`` : "";
        const value = r.value ? ` = \`${textOf(analysis, r.value.span)}\`` : "";
        return { markdown: `${r.what} \`${r.name}\`${owner}${r.what === "comprehension variable" ? ` in \`${textOf(analysis, r.value!.span)}\`` : value}`, span: e.span };
      }
      const md = bindingMarkdown(r.name, r.binding, ctx.open, ctx.root);
      return md ? { markdown: md, span: e.span } : undefined;
    }
    case "in":
      return { markdown: "`in`: the tensor entering the current def; fields `c`, `d`, `h`, `w` (channels-first), `last`, `rank`, `shape`", span: e.span };
    case "member":
      if (e.object.kind === "in" && inSpan(e.nameSpan, offset)) return { markdown: `\`in.${e.name}\`: ${inFields[e.name] ?? "not a field of `in`"}`, span: e.nameSpan };
      return undefined;
    case "tap":
      return { markdown: `\`tap ${e.name}\`: remembers the tensor here as \`${e.name}\`; \`from ${e.name}\` continues from it`, span: e.span };
    case "from":
      return { markdown: `\`from ${e.name}\`: continues from the tensor remembered by \`tap ${e.name}\``, span: e.span };
    case "labelled":
      if (inSpan(e.labelSpan, offset)) return { markdown: `label \`${typeof e.label === "string" ? e.label : textOf(analysis, e.labelSpan)}\`: its block's parameters are named one level deeper`, span: e.labelSpan };
      return undefined;
    default:
      return undefined;
  }
}

const inFields: Record<string, string> = {
  c: "channels (dimension 1)",
  d: "depth (volumes)",
  h: "height",
  w: "width",
  last: "the last dimension",
  rank: "the number of dimensions, batch included",
  shape: "the dimensions without the batch",
};

const statementDocs: Record<string, string> = {
  task: "what the model predicts",
  loss: "the training loss; a weighted sum such as `0.5*dice + 0.5*ce` is allowed",
  optimizer: "the optimizer",
  schedule: "the learning-rate schedule",
  augment: "training-time augmentations, applied in order (`a | b | c`)",
  normalize: "intensity normalization of the input",
  data: "where the training data comes from",
  metrics: "what is reported during validation (`a, b, c`)",
  epochs: "number of training epochs (stages may set their own)",
  batch: "batch size",
  seed: "random seed",
};

function statementMarkdown(keyword: string): string {
  const kind = policyKindOfKeyword(keyword);
  const entries = kind ? [...policy[kind].keys()].map((n) => `\`${n}\``).join(", ") : "";
  return `\`${keyword}\`: ${statementDocs[keyword] ?? "a training-policy statement"}${entries ? `\n\none of: ${entries}` : ""}`;
}

function argumentHover(analysis: Analysis, path: Entry[], arg: A.Arg, call: A.Call, offset: number): SymbolHover | undefined {
  if (call.callee.kind !== "name" || !arg.name || !arg.nameSpan) return undefined;
  const calleePath: Entry[] = [...path.slice(0, -1), { type: "expr", node: call.callee }];
  const r = resolveName(call.callee.name, calleePath, offset, analysis.env);
  let spec: ArgSpec | undefined;
  let text: string | undefined;
  if (r?.kind === "policy") spec = r.entry.args.find((a) => a.name === arg.name);
  else if (r?.kind === "model-def") text = paramText(r.def, arg.name, analysis);
  else if (r?.kind === "binding" && r.binding.kind === "value" && isCallable(r.binding.value)) {
    const target = r.binding.value.target as Target;
    if (target.type === "op") spec = target.op.args.find((a) => a.name === arg.name);
    else if (target.type === "builtin") spec = target.builtin.args.find((a) => a.name === arg.name);
    else if (target.type === "combinator") spec = wiringSignatures[target.name]?.args.find((a) => a.name === arg.name);
    else if (target.type === "def") text = paramText(target.def, arg.name, analysis);
  }
  if (spec) {
    const bits = [spec.type === "enum" && spec.choices ? spec.choices.join(" | ") : spec.type, spec.default === undefined ? "required" : `default ${formatDefault(spec.default)}`];
    return { markdown: `argument \`${spec.name}\` of \`${call.callee.name}\` (${bits.join(", ")})${spec.doc ? `: ${spec.doc}` : ""}`, span: arg.nameSpan };
  }
  if (text) return { markdown: `argument ${text} of \`${call.callee.name}\``, span: arg.nameSpan };
  return undefined;
}

function paramText(def: A.DefStmt, name: string, analysis: Analysis): string | undefined {
  const p = def.params.find((x) => x.name === name);
  if (!p) return undefined;
  if (!p.default) return `\`${name}\` (required)`;
  const text = def.span.file === analysis.path ? analysis.text : sourceOf(def.span.file);
  return `\`${name}\` = \`${text.slice(p.default.span.start.offset, p.default.span.end.offset)}\``;
}

function textOf(analysis: Analysis, span: Span): string {
  const t = analysis.text.slice(span.start.offset, span.end.offset);
  return t.length > 80 ? `${t.slice(0, 77)}…` : t;
}

function modelOf(analysis: Analysis, path: readonly Entry[]): CheckedModel | undefined {
  const decl = path.find((e) => e.type === "model");
  return decl ? analysis.result.models.find((m) => m.span.start.offset === decl.node.span.start.offset) : undefined;
}

function modelMarkdown(decl: A.ModelDecl, m: CheckedModel | undefined): string {
  const out = [`**model ${decl.name}**`];
  if (decl.doc) out.push("", decl.doc);
  if (!m) return out.join("\n");
  out.push("");
  if (m.plan.input) out.push(`- input: ${m.plan.input.kind} ${formatShape(["N", ...m.plan.input.shape])}`);
  out.push(`- outputs: ${m.graph.outputs.map((o) => formatShape(o.type.shape)).join(", ") || (m.complete ? "(none)" : "(incomplete: see the errors)")}`);
  out.push(`- ${thousands(m.graph.nodes.length)} operators, ${thousands(m.params.total)} parameters (${thousands(m.params.trainable)} trainable in the first stage)`);
  const roles = Object.entries(m.params.byRole);
  if (roles.length > 1) out.push(`- ${roles.map(([r, n]) => `${r} ${thousands(n)}`).join(", ")}`);
  out.push(`- ${formatMacs(m.macs)} MACs per sample`);
  return out.join("\n");
}

function roleMarkdown(analysis: Analysis, path: readonly Entry[], role: A.RoleStmt): string {
  const model = modelOf(analysis, path);
  const out = [`**${role.role}**`];
  if (!model) return out.join("\n");
  const nodes = model.graph.nodes.filter((n) => n.scope === role.role || n.scope.startsWith(`${role.role}.`));
  const app = analysis.capture.applications.find((a) => a.parent === null && a.scope === role.role && a.span.start.offset >= role.span.start.offset && a.span.end.offset <= role.span.end.offset && a.span.file === role.span.file);
  if (app) out.push("", `${shapes(app.inputs)} → ${app.outputs ? shapes(app.outputs) : "failed (see the errors)"}`);
  out.push("", `${thousands(nodes.length)} operators · ${thousands(learnable(nodes))} parameters · ${formatMacs(macsOf(nodes))} MACs`);
  return out.join("\n");
}

function labelPathHover(analysis: Analysis, path: readonly Entry[], label: A.LabelPath): SymbolHover | undefined {
  const model = modelOf(analysis, path);
  if (!model) return undefined;
  const text = analysis.text.slice(label.span.start.offset, label.span.end.offset).replace(/\s+/g, "");
  if (/-/.test(text)) return undefined;
  const params = [...model.graph.params.values()].filter((p) => !p.buffer && (text === "all" || p.name === text || p.name.startsWith(`${text}.`)));
  const count = params.reduce((s, p) => s + numel(p.shape), 0);
  return { markdown: `\`${text}\`: ${thousands(params.length)} parameter tensors, ${thousands(count)} parameters`, span: label.span, skipBlock: true };
}

/** Shapes, parameters and MACs of a block as built: once, or each time it was applied. */
function siteMarkdown(site: BlockSite, index: NodeIndex, manyModels: boolean): string | undefined {
  const apps = site.applications;
  if (apps.length === 0) return undefined;
  if (apps.length === 1) return applicationMarkdown(apps[0]!, index, manyModels);
  const rows = apps.slice(0, 8).map((a) => {
    const nodes = index.nodesOf(a);
    const where = `${manyModels ? `${index.modelOf(a)?.name ?? "?"}: ` : ""}${a.scope || "(input)"}`;
    return `| \`${where}\` | ${shapes(a.inputs)} → ${a.outputs ? shapes(a.outputs) : "failed"} | ${thousands(learnable(nodes))} | ${formatMacs(macsOf(nodes))} |`;
  });
  const all = apps.flatMap((a) => index.nodesOf(a));
  return [
    `applied ${apps.length} times · ${thousands(learnable(all))} parameters · ${formatMacs(macsOf(all))} MACs in all`,
    "",
    "| where | shapes | params | MACs |",
    "|---|---|---:|---:|",
    ...rows,
    ...(apps.length > rows.length ? [`| … ${apps.length - rows.length} more | | | |`] : []),
  ].join("\n");
}

function applicationMarkdown(a: Application, index: NodeIndex, manyModels: boolean): string {
  const nodes = index.nodesOf(a);
  const where = `${manyModels ? `${index.modelOf(a)?.name ?? "?"}: ` : ""}${a.scope || "(input)"}`;
  const out = [`\`${where}\`  ${shapes(a.inputs)} → ${a.outputs ? shapes(a.outputs) : "failed (see the errors)"}`];
  if (a.node && nodes.length === 1) {
    const n = a.node;
    const params = n.params.map((p) => `- \`${p.name}\` ${formatShape(p.shape)}${p.buffer ? " (buffer)" : ""}`);
    out.push("", `\`${n.op}\` · ${thousands(learnable(nodes))} parameters · ${formatMacs(nodeMacs(n))} MACs`);
    if (params.length) out.push("", ...params);
  } else if (nodes.length) {
    out.push("", `${thousands(nodes.length)} operators · ${thousands(learnable(nodes))} parameters · ${formatMacs(macsOf(nodes))} MACs`);
  }
  return out.join("\n");
}

