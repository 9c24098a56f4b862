/** Between the compiler's spans (1-based line/col) and LSP's positions (0-based line, UTF-16 character). */
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { Diagnostic as LspDiagnostic, Position, Range } from "vscode-languageserver/node.js";
import { DiagnosticSeverity } from "vscode-languageserver/node.js";
import type { Diagnostic, Fix } from "../diagnostics/diagnostic.js";
import type { Span } from "../syntax/span.js";

export function toRange(span: Span): Range {
  return {
    start: { line: Math.max(0, span.start.line - 1), character: Math.max(0, span.start.col - 1) },
    end: { line: Math.max(0, span.end.line - 1), character: Math.max(0, span.end.col - 1) },
  };
}

export function rangeContains(range: Range, position: Position): boolean {
  const before = (a: Position, b: Position) => a.line < b.line || (a.line === b.line && a.character <= b.character);
  return before(range.start, position) && before(position, range.end);
}

export function rangesOverlap(a: Range, b: Range): boolean {
  const lt = (x: Position, y: Position) => x.line < y.line || (x.line === y.line && x.character < y.character);
  return !lt(a.end, b.start) && !lt(b.end, a.start);
}

/** Non-file documents (untitled buffers) get a stable path of their own in the working folder. */
export function uriToPath(uri: string): string {
  if (uri.startsWith("file:")) {
    try {
      return fileURLToPath(uri);
    } catch {
      // fall through: a malformed file URI is treated like any other scheme
    }
  }
  return resolve(process.cwd(), `${encodeURIComponent(uri)}.medg`);
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

const severities = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, info: DiagnosticSeverity.Information } as const;

/** What a published diagnostic carries back to the server in a code-action request. */
export interface DiagnosticData {
  fixes?: Fix[];
}

export function toLspDiagnostic(d: Diagnostic, uriOf: (path: string) => string, range = toRange(d.span), message = d.message): LspDiagnostic {
  const out: LspDiagnostic = { range, severity: severities[d.severity], code: d.code, source: "medg", message };
  if (d.related?.length) out.relatedInformation = d.related.map((r) => ({ location: { uri: uriOf(r.span.file), range: toRange(r.span) }, message: r.message }));
  if (d.fixes?.length) out.data = { fixes: d.fixes } satisfies DiagnosticData;
  return out;
}
