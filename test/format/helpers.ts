import * as prettier from "prettier";
import { expect } from "vitest";
import { plugin } from "../../src/format/plugin.js";
import type * as A from "../../src/syntax/ast.js";
import { parse } from "../../src/syntax/parse.js";

/** Parses text that must be free of diagnostics. */
export function parseOk(text: string, file = "t.medg"): A.Module {
  const r = parse(text, file);
  expect(
    r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col} ${d.message}`),
    text,
  ).toEqual([]);
  return r.module;
}

/**
 * The program as data: the AST without spans, file names and comment lists, numbers by value and
 * text; doc lines without trailing whitespace (comments are printed trimmed).
 */
export function program(m: A.Module): unknown {
  const strip = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => strip(x, ""));
    if (typeof v === "string" && key === "doc") return v.replace(/[ \t\r]+$/gm, "");
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k, x]) => x !== undefined && k !== "span" && k !== "file" && k !== "comments" && !k.endsWith("Span"))
        .map(([k, x]) => [k, strip(x, k)]),
    );
  };
  return strip(m, "");
}

export function comments(m: A.Module): string[] {
  return m.comments.map((c) => c.text.trimEnd()).sort();
}

/** Formats through prettier with the plugin, without the `format()` self-check. */
export function prettierFormat(text: string, options: Record<string, unknown> = {}): Promise<string> {
  return prettier.format(text, { parser: "medg", plugins: [plugin], ...options });
}

/** Checks guarantees 1–3: idempotent, same comments, same program. */
export async function expectGuarantees(text: string, options: Record<string, unknown> = {}): Promise<string> {
  const out = await prettierFormat(text, options);
  const again = await prettierFormat(out, options);
  expect(again, `not idempotent; first output:\n${out}`).toBe(out);
  const before = parseOk(text);
  const after = parseOk(out);
  expect(comments(after)).toEqual(comments(before));
  expect(program(after), `program changed; output:\n${out}`).toEqual(program(before));
  return out;
}
