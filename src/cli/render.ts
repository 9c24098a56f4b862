import { join, relative } from "node:path";
import { stdlibDir } from "../semantics/modules.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { LineMap } from "../syntax/span.js";

export interface JsonDiagnostic {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  severity: string;
  code: string;
  message: string;
}

/** Paths relative to the working folder; stdlib files as `stdlib/…` wherever the package lives. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const r = relative(cwd, file);
  if (r && !r.startsWith("..")) return r;
  const lib = relative(stdlibDir, file);
  return lib && !lib.startsWith("..") ? join("stdlib", lib) : file;
}

export function toJson(d: Diagnostic, cwd?: string): JsonDiagnostic {
  return {
    file: displayPath(d.span.file, cwd),
    line: d.span.start.line,
    col: d.span.start.col,
    endLine: d.span.end.line,
    endCol: d.span.end.col,
    severity: d.severity,
    code: d.code,
    message: d.message,
  };
}

/**
 * `file:line:col: error MEDG302: message`, then the source line with the span underlined, then
 * related locations and fixes.
 */
export function renderText(d: Diagnostic, sourceOf: (file: string) => string | undefined, cwd?: string): string {
  const out = [`${displayPath(d.span.file, cwd)}:${d.span.start.line}:${d.span.start.col}: ${d.severity} ${d.code}: ${d.message}`];
  const text = sourceOf(d.span.file);
  if (text !== undefined) out.push(...excerpt(new LineMap(text), d.span.start.line, d.span.start.col, d.span.end.line === d.span.start.line ? d.span.end.col : undefined));
  for (const r of d.related ?? []) out.push(`  note: ${displayPath(r.span.file, cwd)}:${r.span.start.line}:${r.span.start.col}: ${r.message}`);
  for (const f of d.fixes ?? []) out.push(`  fix: ${f.title}`);
  return out.join("\n");
}

function excerpt(lines: LineMap, line: number, col: number, endCol: number | undefined): string[] {
  const src = lines.lineText(line);
  const gutter = String(line).length;
  const width = Math.max(1, (endCol ?? src.length + 1) - col);
  // Tabs keep their width in the underline so the carets line up.
  const pad = src.slice(0, col - 1).replace(/[^\t]/g, " ");
  return [`${" ".repeat(gutter)} |`, `${line} | ${src}`, `${" ".repeat(gutter)} | ${pad}${"^".repeat(width)}`];
}
