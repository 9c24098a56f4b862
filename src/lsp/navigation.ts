/** Go to definition, document symbols and folding ranges: read off the AST. */
import { dirname, resolve } from "node:path";
import { DocumentSymbol, FoldingRange, FoldingRangeKind, SymbolKind } from "vscode-languageserver/node.js";
import type * as A from "../syntax/ast.js";
import { medgLexer } from "../syntax/tokens.js";
import type { Span } from "../syntax/span.js";
import type { Analysis } from "./analysis.js";
import { inSpan, pathAt, walk, type Entry } from "./ast-path.js";
import { toRange } from "./convert.js";
import { resolveName } from "./resolve.js";
import type { Target } from "../semantics/evaluate.js";
import { isCallable } from "../semantics/values.js";

/** Where the thing named at `offset` is defined; a file's start for an import. */
export function definition(analysis: Analysis, offset: number): Span[] {
  const path = pathAt(analysis.ast, offset);
  const inner = path[path.length - 1];
  if (!inner) return [];
  if (inner.type === "import" && inSpan(inner.node.pathSpan, offset)) {
    const file = resolve(dirname(analysis.path), inner.node.path);
    const start = { offset: 0, line: 1, col: 1 };
    return [{ file, start, end: start }];
  }
  if (inner.type === "def" && inSpan(inner.node.nameSpan, offset)) return [inner.node.nameSpan];
  if (inner.type === "arg" && inner.node.nameSpan && inSpan(inner.node.nameSpan, offset)) return argumentDefinition(analysis, path, inner.call, inner.node.name!, offset);
  if (inner.type !== "expr") return [];
  const e = inner.node;
  if (e.kind === "from" || e.kind === "tap") return tapDefinitions(analysis, path, e.name);
  if (e.kind !== "name") return [];
  const r = resolveName(e.name, path, offset, analysis.env);
  if (!r) return [];
  if (r.kind === "local") return [r.span];
  if (r.kind === "model-def") return [r.def.nameSpan];
  if (r.kind === "binding" && r.binding.span && r.binding.span.file !== "<builtin>") return [r.binding.span];
  return [];
}

function argumentDefinition(analysis: Analysis, path: Entry[], call: A.Call, name: string, offset: number): Span[] {
  if (call.callee.kind !== "name") return [];
  const r = resolveName(call.callee.name, [...path.slice(0, -1), { type: "expr", node: call.callee }], offset, analysis.env);
  let def: A.DefStmt | undefined;
  if (r?.kind === "model-def") def = r.def;
  else if (r?.kind === "binding" && r.binding.kind === "value" && isCallable(r.binding.value) && (r.binding.value.target as Target).type === "def")
    def = (r.binding.value.target as Extract<Target, { type: "def" }>).def;
  const p = def?.params.find((x) => x.name === name);
  return p ? [p.span] : [];
}

/** `tap NAME` expressions: in the model around the cursor first, then in every def this file sees. */
function tapDefinitions(analysis: Analysis, path: Entry[], name: string): Span[] {
  const taps = (items: readonly (A.TopLevel | A.ModelStmt)[]) => {
    const found: Span[] = [];
    const module: A.Module = { ...analysis.ast, items: items as A.TopLevel[] };
    walk(module, (e) => {
      if (e.type === "expr" && e.node.kind === "tap" && e.node.name === name) found.push(e.node.span);
    });
    return found;
  };
  const model = path.find((e) => e.type === "model");
  if (model) {
    const inModel = taps(model.node.statements ?? []);
    if (inModel.length) return inModel;
  }
  const own = taps((analysis.ast.items ?? []).filter((i) => i.kind === "def"));
  if (own.length) return own;
  const out: Span[] = [];
  for (const [file, module] of analysis.capture.modules) {
    if (file === analysis.path) continue;
    out.push(...taps(module.parsed.module.items.filter((i) => i.kind === "def")));
  }
  return out;
}

/** Models with their statements, defs and lets, imports. */
export function documentSymbols(analysis: Analysis): DocumentSymbol[] {
  return (analysis.ast.items ?? []).map((item) => symbolOf(item, analysis.text)).filter((s): s is DocumentSymbol => s !== undefined);
}

function symbolOf(item: A.TopLevel | A.ModelStmt, text: string): DocumentSymbol | undefined {
  const excerpt = (span: Span) => {
    const t = text.slice(span.start.offset, span.end.offset).replace(/\s+/g, " ");
    return t.length > 60 ? `${t.slice(0, 57)}…` : t;
  };
  const summary = (e: A.Expr | undefined) => (e ? excerpt(e.span) : "");
  // Clients reject a selection outside the symbol's range, which recovered spans can produce.
  const symbol = (name: string, kind: SymbolKind, span: Span, selection: Span, detail?: string, children?: DocumentSymbol[]): DocumentSymbol =>
    DocumentSymbol.create(name || "?", detail, kind, toRange(span), toRange(within(selection, span) ? selection : span), children);
  switch (item.kind) {
    case "import":
      return symbol(item.path, SymbolKind.Module, item.span, item.pathSpan, "import");
    case "def":
      return symbol(item.name, SymbolKind.Function, item.span, item.nameSpan, `(${(item.params ?? []).map((p) => p.name).join(", ")})`);
    case "let":
      return item.binding ? symbol(item.binding.name, SymbolKind.Variable, item.span, item.binding.nameSpan, summary(item.binding.value)) : undefined;
    case "model":
      return symbol(
        item.name,
        SymbolKind.Class,
        item.span,
        item.nameSpan,
        "model",
        (item.statements ?? []).map((s) => symbolOf(s, text)).filter((s): s is DocumentSymbol => s !== undefined),
      );
    case "input":
      return symbol("input", SymbolKind.Field, item.span, item.span, summary(item.value));
    case "role":
      return symbol(item.role, SymbolKind.Property, item.span, item.roleSpan, summary(item.value));
    case "policy":
      return symbol(item.keyword, SymbolKind.Property, item.span, item.keywordSpan, (item.values ?? []).map(summary).join(", "));
    case "stage":
      return symbol(item.name ? `stage ${item.name}` : "stage", SymbolKind.Event, item.span, item.nameSpan ?? item.span, excerpt(item.span));
  }
}

const within = (inner: Span, outer: Span) => outer.start.offset <= inner.start.offset && inner.end.offset <= outer.end.offset;

/** Models, multi-line statements and brackets, and runs of comment lines. */
export function foldingRanges(analysis: Analysis): FoldingRange[] {
  const ranges = new Map<number, FoldingRange>();
  const add = (startLine: number, endLine: number, kind?: FoldingRangeKind) => {
    if (endLine <= startLine) return;
    const existing = ranges.get(startLine);
    if (existing && existing.endLine >= endLine) return;
    const r: FoldingRange = { startLine, endLine };
    if (kind) r.kind = kind;
    ranges.set(startLine, r);
  };
  // Brackets: fold up to the line before the closing one, which stays visible.
  const lexed = medgLexer.tokenize(analysis.text);
  const open: { image: string; line: number }[] = [];
  for (const t of lexed.tokens) {
    if (t.image === "(" || t.image === "[" || t.image === "{") open.push({ image: t.image, line: (t.startLine ?? 1) - 1 });
    else if (t.image === ")" || t.image === "]" || t.image === "}") {
      const o = open.pop();
      if (o) add(o.line, (t.startLine ?? 1) - 2);
    }
  }
  walk(analysis.ast, (e) => {
    if (e.type === "def" || e.type === "let" || e.type === "role" || e.type === "policy" || e.type === "stage" || e.type === "input") add(e.node.span.start.line - 1, e.node.span.end.line - 1);
  });
  // Comment blocks: two or more consecutive comment lines.
  let runStart = -1;
  let previous = -2;
  for (const c of lexed.groups["comments"] ?? []) {
    const line = (c.startLine ?? 1) - 1;
    if (line !== previous + 1) {
      if (runStart >= 0) add(runStart, previous, FoldingRangeKind.Comment);
      runStart = line;
    }
    previous = line;
  }
  if (runStart >= 0) add(runStart, previous, FoldingRangeKind.Comment);
  return [...ranges.values()].sort((a, b) => a.startLine - b.startLine);
}
