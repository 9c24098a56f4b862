import { readFileSync, writeFileSync } from "node:fs";
import { it } from "vitest";
import { parse } from "../../src/syntax/parse.js";
import type * as A from "../../src/syntax/ast.js";

function s(e: A.Expr | undefined): string {
  if (!e) return "?";
  switch (e.kind) {
    case "number": return e.text;
    case "string": return JSON.stringify(e.parts.map((p) => (typeof p === "string" ? p : `{${s(p)}}`)).join(""));
    case "bool": return String(e.value);
    case "none": return "none";
    case "name": return e.name;
    case "in": return "in";
    case "list": return `[${e.items.map(s).join(", ")}]`;
    case "tuple": return `(tuple ${e.items.map(s).join(", ")})`;
    case "comprehension": return `[${s(e.body)} for ${e.variable} in ${s(e.iterable)}${e.condition ? " if " + s(e.condition) : ""}]`;
    case "call": return `${s(e.callee)}(${e.args.map((a) => (a.name ? a.name + "=" : "") + s(a.value)).join(", ")})`;
    case "member": return `(. ${s(e.object)} ${e.name})`;
    case "index": return `(idx ${s(e.object)} ${s(e.index)})`;
    case "unary": return `(${e.op} ${s(e.operand)})`;
    case "binary": return `(${e.op} ${s(e.left)} ${s(e.right)})`;
    case "conditional": return `(if ${s(e.then)} ${s(e.condition)}${e.otherwise ? " " + s(e.otherwise) : ""})`;
    case "pipe": return `(| ${e.stages.map(s).join(" ")})`;
    case "labelled": return `(label ${typeof e.label === "string" ? e.label : s(e.label)} ${s(e.body)})`;
    case "tap": return `(tap ${e.name})`;
    case "from": return `(from ${e.name})`;
    case "let": return `(let ${e.bindings.map((b) => b.name + "=" + s(b.value)).join(" ")} ${s(e.body)})`;
    case "missing": return "MISSING";
  }
}
function stmt(m: A.ModelStmt): string {
  switch (m.kind) {
    case "input": return `input ${s(m.value)}`;
    case "role": return `${m.role} ${s(m.value)}`;
    case "policy": return `${m.keyword} ${m.values.map(s).join(" ;; ")}`;
    case "stage": return `stage[${m.name ?? ""}] ${m.clauses.map((c) => c.kind + " " + ("targets" in c ? c.targets.map((t) => t.segments.map((g) => g.name ?? (g.to !== undefined ? `${g.index}-${g.to}` : g.index)).join(".")).join(",") : s(c.value))).join(" ;; ")}`;
    case "let": return `let ${m.binding.name}=${s(m.binding.value)}`;
    case "def": return `def ${m.name}(${m.params.map((p) => p.name + (p.default ? "=" + s(p.default) : "")).join(",")}) = ${s(m.body)}`;
  }
}
function top(t: A.TopLevel): string[] {
  switch (t.kind) {
    case "import": return [`import ${t.path}`];
    case "let": return [`let ${t.binding.name}=${s(t.binding.value)}`];
    case "def": return [`def ${t.name}(${t.params.map((p) => p.name + (p.default ? "=" + s(p.default) : "")).join(",")}) = ${s(t.body)}${t.doc ? "  DOC=" + JSON.stringify(t.doc) : ""}`];
    case "model": return [`model ${t.name}${t.doc ? " DOC=" + JSON.stringify(t.doc) : ""}`, ...t.statements.map((x) => "  " + stmt(x))];
  }
}
it("probe", () => {
  const snippets = readFileSync("/tmp/probe.txt", "utf8").split("\n=====\n");
  const out: string[] = [];
  for (const src of snippets) {
    const r = parse(src, "p.medg");
    out.push("### " + src.trim().replace(/\n/g, "\n### "));
    for (const it of r.module.items) out.push(...top(it));
    for (const d of r.diagnostics) out.push(`!! ${d.code} ${d.message}`);
    out.push("");
  }
  writeFileSync("/tmp/probe.out", out.join("\n"));
});
