import type * as A from "../syntax/ast.js";

/**
 * The program a module denotes, for checking that formatting kept it: the AST without spans,
 * file names and comment lists. Numbers keep value and text; a doc comment's lines are compared
 * without trailing whitespace (the formatter trims comments).
 */
export function programOf(m: A.Module): unknown {
  return strip(m);
}

function strip(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => strip(x));
  if (v === null || typeof v !== "object") {
    if (key === "doc" && typeof v === "string")
      return v
        .split("\n")
        .map((l) => l.replace(/\s+$/, ""))
        .join("\n");
    return v;
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "span" || k.endsWith("Span") || k === "file" || k === "comments" || x === undefined) continue;
    out[k] = strip(x, k);
  }
  return out;
}

export function sameProgram(a: A.Module, b: A.Module): boolean {
  return JSON.stringify(programOf(a)) === JSON.stringify(programOf(b));
}

/** Comment texts without trailing whitespace, sorted: formatting must keep this multiset. */
export function commentTexts(m: A.Module): string[] {
  return m.comments.map((c) => c.text.replace(/\s+$/, "")).sort();
}
