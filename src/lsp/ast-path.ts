/**
 * The chain of AST nodes around a source offset, outermost first. Recovered ASTs may lack parts,
 * so every child is optional here.
 */
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";

export type Entry =
  | { type: "import"; node: A.ImportStmt }
  | { type: "def"; node: A.DefStmt }
  | { type: "let"; node: A.LetStmt }
  | { type: "model"; node: A.ModelDecl }
  | { type: "input"; node: A.InputStmt }
  | { type: "role"; node: A.RoleStmt }
  | { type: "policy"; node: A.PolicyStmt }
  | { type: "stage"; node: A.StageStmt }
  | { type: "clause"; node: A.StageClause }
  | { type: "path"; node: A.LabelPath }
  | { type: "param"; node: A.Param }
  | { type: "binding"; node: A.LetBinding }
  | { type: "arg"; node: A.Arg; call: A.Call }
  | { type: "expr"; node: A.Expr };

const contains = (span: Span | undefined, offset: number) => span !== undefined && span.start.offset <= offset && offset <= span.end.offset;

function children(e: Entry): Entry[] {
  const out: Entry[] = [];
  const expr = (x: A.Expr | undefined) => x && out.push({ type: "expr", node: x });
  switch (e.type) {
    case "import":
      break;
    case "def":
      for (const p of e.node.params ?? []) out.push({ type: "param", node: p });
      expr(e.node.body);
      break;
    case "let":
      if (e.node.binding) out.push({ type: "binding", node: e.node.binding });
      break;
    case "binding":
      expr(e.node.value);
      break;
    case "param":
      expr(e.node.default);
      break;
    case "model":
      for (const s of e.node.statements ?? []) out.push(statementEntry(s));
      break;
    case "input":
    case "role":
      expr(e.node.value);
      break;
    case "policy":
      for (const v of e.node.values ?? []) expr(v);
      break;
    case "stage":
      for (const c of e.node.clauses ?? []) out.push({ type: "clause", node: c });
      break;
    case "clause":
      if ("targets" in e.node) for (const t of e.node.targets ?? []) out.push({ type: "path", node: t });
      else expr(e.node.value);
      break;
    case "path":
      break;
    case "arg":
      expr(e.node.value);
      break;
    case "expr":
      exprChildren(e.node, out);
      break;
  }
  return out;
}

function exprChildren(x: A.Expr, out: Entry[]): void {
  const expr = (c: A.Expr | undefined) => c && out.push({ type: "expr", node: c });
  switch (x.kind) {
    case "string":
      for (const p of x.parts ?? []) if (typeof p !== "string") expr(p);
      break;
    case "list":
    case "tuple":
      for (const i of x.items ?? []) expr(i);
      break;
    case "comprehension":
      expr(x.body);
      expr(x.iterable);
      expr(x.condition);
      break;
    case "call":
      expr(x.callee);
      for (const a of x.args ?? []) out.push({ type: "arg", node: a, call: x });
      break;
    case "member":
      expr(x.object);
      break;
    case "index":
      expr(x.object);
      expr(x.index);
      break;
    case "unary":
      expr(x.operand);
      break;
    case "binary":
      expr(x.left);
      expr(x.right);
      break;
    case "conditional":
      expr(x.then);
      expr(x.condition);
      expr(x.otherwise);
      break;
    case "pipe":
      for (const s of x.stages ?? []) expr(s);
      break;
    case "labelled":
      if (typeof x.label !== "string") expr(x.label);
      expr(x.body);
      break;
    case "let":
      for (const b of x.bindings ?? []) out.push({ type: "binding", node: b });
      expr(x.body);
      break;
    default:
      break;
  }
}

export function statementEntry(s: A.TopLevel | A.ModelStmt): Entry {
  switch (s.kind) {
    case "import":
      return { type: "import", node: s };
    case "def":
      return { type: "def", node: s };
    case "let":
      return { type: "let", node: s };
    case "model":
      return { type: "model", node: s };
    case "input":
      return { type: "input", node: s };
    case "role":
      return { type: "role", node: s };
    case "policy":
      return { type: "policy", node: s };
    case "stage":
      return { type: "stage", node: s };
  }
}

/** Nodes whose span holds `offset`, outermost first (the end offset counts, so a word's end is on it). */
export function pathAt(module: A.Module, offset: number): Entry[] {
  const path: Entry[] = [];
  let level: Entry[] = (module.items ?? []).map(statementEntry);
  for (;;) {
    // Among overlapping siblings (a label and its body) the narrowest is the more specific.
    let next: Entry | undefined;
    for (const c of level) {
      if (!contains(c.node.span, offset)) continue;
      if (!next || width(c.node.span) < width(next.node.span)) next = c;
    }
    if (!next) return path;
    path.push(next);
    level = children(next);
  }
}

const width = (s: Span) => s.end.offset - s.start.offset;

/** Every entry of the module, depth first (for symbols, taps, folding). */
export function walk(module: A.Module, visit: (e: Entry, parents: readonly Entry[]) => void): void {
  const parents: Entry[] = [];
  const go = (e: Entry) => {
    visit(e, parents);
    parents.push(e);
    for (const c of children(e)) go(c);
    parents.pop();
  };
  for (const item of module.items ?? []) go(statementEntry(item));
}

export const inSpan = contains;
