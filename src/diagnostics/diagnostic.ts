import type { Span } from "../syntax/span.js";
import { codes, type Code, type Severity } from "./codes.js";

/** A text edit that fixes a diagnostic: replace the text of `span` with `text`. */
export interface Fix {
  title: string;
  edits: { span: Span; text: string }[];
}

export interface Related {
  span: Span;
  message: string;
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  message: string;
  span: Span;
  related?: Related[];
  fixes?: Fix[];
}

export function diagnostic(code: Code, span: Span, message: string, extra: { related?: Related[]; fixes?: Fix[] } = {}): Diagnostic {
  const d: Diagnostic = { code, severity: codes[code].severity, message, span };
  if (extra.related?.length) d.related = extra.related;
  if (extra.fixes?.length) d.fixes = extra.fixes;
  return d;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Sort by file, then position, then code; drop exact duplicates. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of [...diagnostics].sort(
    (a, b) => a.span.file.localeCompare(b.span.file) || a.span.start.offset - b.span.start.offset || a.code.localeCompare(b.code),
  )) {
    const key = `${d.span.file}:${d.span.start.offset}:${d.span.end.offset}:${d.code}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}
