/** What a name at a position denotes: a local, a definition of the environment, or a policy entry. */
import { lookupPolicy, policyKinds, type PolicyEntry, type PolicyKind } from "../policy/registry.js";
import type { Binding, Env } from "../semantics/env.js";
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import type { Entry } from "./ast-path.js";

export type Resolved =
  | { kind: "local"; name: string; span: Span; what: "parameter" | "comprehension variable" | "let"; owner?: A.DefStmt; value?: A.Expr }
  | { kind: "model-def"; def: A.DefStmt }
  | { kind: "binding"; name: string; binding: Binding }
  | { kind: "policy"; policyKind: PolicyKind; entry: PolicyEntry };

/** Statement words whose values are registry entries. */
export function policyKindOfKeyword(keyword: string): PolicyKind | undefined {
  return (policyKinds as readonly string[]).includes(keyword) && keyword !== "input" ? (keyword as PolicyKind) : undefined;
}

/**
 * The registry a name is looked up in when it is a policy value (`loss focal`, `0.5*dice`,
 * `augment a | b`, `stage … schedule cosine`, `input image(…)`), given the path down to it.
 */
export function policyKindAt(path: readonly Entry[], at: number): PolicyKind | undefined {
  const target = path[at];
  if (target?.type !== "expr" || target.node.kind !== "name") return undefined;
  let j = at - 1;
  let child: A.Expr = target.node;
  const parent = path[j];
  if (parent?.type === "expr" && parent.node.kind === "call") {
    if (parent.node.callee !== child) return undefined;
    child = parent.node;
    j--;
  }
  for (; j >= 0; j--) {
    const e = path[j]!;
    if (e.type === "expr" && (e.node.kind === "pipe" || (e.node.kind === "binary" && (e.node.op === "+" || e.node.op === "*")))) {
      child = e.node;
      continue;
    }
    if (e.type === "policy") return policyKindOfKeyword(e.node.keyword);
    if (e.type === "clause" && (e.node.kind === "schedule" || e.node.kind === "optimizer")) return e.node.kind;
    if (e.type === "input") {
      const first = e.node.value.kind === "pipe" ? e.node.value.stages[0] : e.node.value;
      return first && spanHas(first.span, target.node.span) ? "input" : undefined;
    }
    return undefined;
  }
  return undefined;
}

const spanHas = (outer: Span, inner: Span) => outer.start.offset <= inner.start.offset && inner.end.offset <= outer.end.offset;

/** Resolves `name` as seen from the innermost entry of `path` (an expression at `offset`). */
export function resolveName(name: string, path: readonly Entry[], offset: number, env: Env | undefined): Resolved | undefined {
  const at = path.length - 1;
  const kind = policyKindAt(path, at);
  if (kind) {
    const entry = lookupPolicy(kind, name);
    if (entry) return { kind: "policy", policyKind: kind, entry };
  }
  for (let i = path.length - 1; i >= 0; i--) {
    const e = path[i]!;
    if (e.type === "expr" && e.node.kind === "comprehension" && e.node.variable === name) {
      const inScope = [e.node.body, e.node.condition].some((x) => x && x.span.start.offset <= offset && offset <= x.span.end.offset);
      if (inScope) return { kind: "local", name, span: e.node.variableSpan, what: "comprehension variable", value: e.node.iterable };
    }
    if (e.type === "expr" && e.node.kind === "let") {
      const b = e.node.bindings.find((x) => x.name === name);
      if (b && b.span.end.offset <= offset) return { kind: "local", name, span: b.nameSpan, what: "let", value: b.value };
    }
    if (e.type === "def") {
      const p = (e.node.params ?? []).find((x) => x.name === name);
      if (p) {
        const local: Resolved = { kind: "local", name, span: p.span, what: "parameter", owner: e.node };
        if (p.default) local.value = p.default;
        return local;
      }
    }
    if (e.type === "model") {
      for (const s of e.node.statements ?? []) {
        if (s.kind === "def" && s.name === name) return { kind: "model-def", def: s };
        if (s.kind === "let" && s.binding?.name === name) return { kind: "local", name, span: s.binding.nameSpan, what: "let", value: s.binding.value };
      }
    }
  }
  const binding = env?.lookup(name);
  return binding ? { kind: "binding", name, binding } : undefined;
}
