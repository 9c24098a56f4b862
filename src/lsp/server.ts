/**
 * The medg language server: diagnostics as `medg check` gives them, on open and on every change, for
 * the changed document and the open documents importing it; hover, completion, definition, symbols,
 * folding and quick fixes. Every handler is guarded: an exception becomes an empty answer (and a log
 * line), a malformed request an error response; the process never goes down with a request.
 */
import { dirname, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import {
  CodeActionKind,
  ErrorCodes,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CodeAction,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeResult,
  type Position,
  type TextEdit,
} from "vscode-languageserver/node.js";
import { TextDocument } from "vscode-languageserver-textdocument";
import { projectRoot } from "../cli/main.js";
import type { Diagnostic, Fix } from "../diagnostics/diagnostic.js";
import { fileHost, type SourceHost } from "../semantics/modules.js";
import { analyze, type Analysis } from "./analysis.js";
import { complete } from "./completion.js";
import { pathToUri, rangesOverlap, toLspDiagnostic, toRange, uriToPath, type DiagnosticData } from "./convert.js";
import { formatDocument } from "./formatting.js";
import { hover } from "./hover.js";
import { IdleCollector } from "./idle-gc.js";
import { definition, documentSymbols, foldingRanges } from "./navigation.js";

export interface ServerOptions {
  /** Quiet time that ends a burst of edits before it is checked; an edit after a quiet spell is checked at once. */
  debounceMs?: number;
  /** Collect garbage after each check, before the next edit (default true; see idle-gc.ts). */
  idleGc?: boolean;
}

const INTERNAL = "medg-internal";

export class MedgServer {
  readonly documents = new TextDocuments(TextDocument);
  private readonly analyses = new Map<string, Analysis>();
  /** Pending checks, by URI: how to cancel each. */
  private readonly timers = new Map<string, () => void>();
  private readonly lastChange = new Map<string, number>();
  /** Documents whose last check predates a change to a file they import. */
  private readonly stale = new Set<string>();
  /** Diagnostics located in the document itself, by URI. */
  private readonly own = new Map<string, LspDiagnostic[]>();
  /** Diagnostics that checking an importer found in another file: importer URI -> file -> diagnostics. */
  private readonly foreign = new Map<string, Map<string, LspDiagnostic[]>>();
  private readonly uriByPath = new Map<string, string>();
  private readonly roots = new Map<string, string>();
  private debounceMs: number;
  private readonly collector: IdleCollector | undefined;
  readonly host: SourceHost = { read: (path) => this.openText(path) ?? fileHost.read(path) };

  constructor(
    private readonly connection: Connection,
    options: ServerOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 60;
    if (options.idleGc !== false) this.collector = new IdleCollector();
  }

  listen(): void {
    const c = this.connection;
    c.onInitialize((params): InitializeResult => {
      const debounce = (params.initializationOptions as { debounceMs?: unknown } | undefined)?.debounceMs;
      if (typeof debounce === "number" && debounce >= 0) this.debounceMs = debounce;
      return {
        capabilities: {
          textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
          hoverProvider: true,
          completionProvider: { triggerCharacters: [".", "(", ",", " ", "|"] },
          definitionProvider: true,
          documentSymbolProvider: true,
          foldingRangeProvider: true,
          codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
          documentFormattingProvider: true,
        },
        serverInfo: { name: "medg" },
      };
    });
    this.documents.onDidOpen((e) => this.guard("open", () => this.uriByPath.set(uriToPath(e.document.uri), e.document.uri)));
    this.documents.onDidChangeContent((e) => this.guard("change", () => this.changed(e.document.uri)));
    this.documents.onDidClose((e) => this.guard("close", () => this.closed(e.document.uri)));
    c.onDidChangeWatchedFiles((e) =>
      this.guard("watched files", () => {
        for (const change of e.changes ?? []) for (const uri of this.importersOf(uriToPath(change.uri))) this.invalidate(uri);
      }),
    );
    c.onHover(
      this.request("hover", null, (p: { textDocument: { uri: string }; position: Position }) => {
        const doc = this.documents.get(p.textDocument.uri);
        if (!doc) return null;
        const analysis = this.fresh(p.textDocument.uri)!;
        const h = hover(analysis, doc.offsetAt(p.position), { open: (f) => this.openText(f), root: this.rootOf(analysis.path) });
        if (!h) return null;
        return { contents: { kind: "markdown" as const, value: h.markdown }, ...(h.span.file === analysis.path ? { range: toRange(h.span) } : {}) };
      }),
    );
    c.onCompletion(
      this.request("completion", [], (p: { textDocument: { uri: string }; position: Position; context?: { triggerCharacter?: string } }) => {
        const doc = this.documents.get(p.textDocument.uri);
        if (!doc) return [];
        const analysis = this.analyses.get(p.textDocument.uri) ?? this.fresh(p.textDocument.uri);
        const path = uriToPath(doc.uri);
        return complete({
          text: doc.getText(),
          offset: doc.offsetAt(p.position),
          analysis,
          ...(p.context?.triggerCharacter ? { triggerCharacter: p.context.triggerCharacter } : {}),
          open: (f) => this.openText(f),
          toRange: (start, end) => ({ start: doc.positionAt(start), end: doc.positionAt(end) }),
          root: this.rootOf(path),
        });
      }),
    );
    c.onDefinition(
      this.request("definition", [], (p: { textDocument: { uri: string }; position: Position }) => {
        const doc = this.documents.get(p.textDocument.uri);
        if (!doc) return [];
        const analysis = this.fresh(p.textDocument.uri)!;
        return definition(analysis, doc.offsetAt(p.position)).map((s) => ({ uri: this.uriOf(s.file), range: toRange(s) }));
      }),
    );
    c.onDocumentSymbol(this.request("documentSymbol", [], (p: { textDocument: { uri: string } }) => (this.documents.get(p.textDocument.uri) ? documentSymbols(this.fresh(p.textDocument.uri)!) : [])));
    c.onFoldingRanges(this.request("foldingRange", [], (p: { textDocument: { uri: string } }) => (this.documents.get(p.textDocument.uri) ? foldingRanges(this.fresh(p.textDocument.uri)!) : [])));
    c.onCodeAction(this.request("codeAction", [], (p: { textDocument: { uri: string }; range: { start: Position; end: Position }; context: { diagnostics: LspDiagnostic[] } }) => this.codeActions(p)));
    c.onDocumentFormatting(
      this.request("formatting", [], async (p: { textDocument: { uri: string }; options?: { tabSize?: number } }): Promise<TextEdit[]> => {
        const doc = this.documents.get(p.textDocument.uri);
        if (!doc) return [];
        const text = doc.getText();
        // A file with syntax errors is left as it is; its diagnostics say why.
        const analysis = this.fresh(doc.uri)!;
        if (analysis.syntaxErrors.length) return [];
        const formatted = await formatDocument(text, uriToPath(doc.uri), p.options?.tabSize);
        if (formatted === text) return [];
        return [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(text.length) }, newText: formatted }];
      }),
    );
    this.documents.listen(c);
    c.listen();
  }

  /** A request handler that answers `fallback` on an exception and an error response to malformed parameters. */
  private request<P, R, F>(name: string, fallback: F, fn: (params: P) => R): (params: P) => R | F | ResponseError<void> | Promise<Awaited<R> | F> {
    const failed = (e: unknown) => {
      this.log(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return fallback;
    };
    return (params: P) => {
      const problem = badParams(params);
      if (problem) return new ResponseError(ErrorCodes.InvalidParams, `${name}: ${problem}`);
      try {
        const result = fn(params);
        return result instanceof Promise ? result.catch(failed) : result;
      } catch (e) {
        return failed(e);
      }
    };
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`${what} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }

  private log(message: string): void {
    try {
      this.connection.console.error(message);
    } catch {
      // The client may be gone; there is nowhere else to say it.
    }
  }

  private openText(path: string): string | undefined {
    const uri = this.uriByPath.get(path);
    return uri ? this.documents.get(uri)?.getText() : undefined;
  }

  uriOf(path: string): string {
    return this.uriByPath.get(path) ?? pathToUri(path);
  }

  private rootOf(path: string): string {
    const dir = dirname(path);
    let root = this.roots.get(dir);
    if (root === undefined) {
      root = projectRoot(path);
      this.roots.set(dir, root);
    }
    return root;
  }

  private changed(uri: string): void {
    const now = performance.now();
    const last = this.lastChange.get(uri) ?? -Infinity;
    this.lastChange.set(uri, now);
    // An edit after a quiet spell is checked at once; one inside a burst waits for the burst to settle.
    this.schedule(uri, !this.timers.has(uri) && now - last >= this.debounceMs ? 0 : this.debounceMs);
    for (const importer of this.importersOf(uriToPath(uri))) if (importer !== uri) this.invalidate(importer);
  }

  /** A file the document imports changed: check it again once the edits settle. */
  private invalidate(uri: string): void {
    this.stale.add(uri);
    this.schedule(uri, this.debounceMs);
  }

  private closed(uri: string): void {
    this.cancel(uri);
    const path = uriToPath(uri);
    this.uriByPath.delete(path);
    this.analyses.delete(uri);
    this.own.delete(uri);
    const touched = [...(this.foreign.get(uri)?.keys() ?? [])];
    this.foreign.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    for (const file of touched) this.publishPath(file);
    this.stale.delete(uri);
    // Importers now read the file from disk.
    for (const importer of this.importersOf(path)) this.invalidate(importer);
  }

  private importersOf(path: string): string[] {
    return [...this.analyses.entries()].filter(([, a]) => a.imports.has(path)).map(([uri]) => uri);
  }

  private cancel(uri: string): void {
    this.timers.get(uri)?.();
    this.timers.delete(uri);
  }

  /** Checks the document after `delay` ms, superseding a check already pending; 0 is as soon as the messages in hand are read. */
  private schedule(uri: string, delay: number): void {
    this.cancel(uri);
    const run = () => {
      this.timers.delete(uri);
      this.guard("check", () => {
        const doc = this.documents.get(uri);
        if (doc && (this.stale.has(uri) || this.analyses.get(uri)?.version !== doc.version)) this.check(uri);
      });
    };
    if (delay === 0) {
      const immediate = setImmediate(run);
      this.timers.set(uri, () => clearImmediate(immediate));
    } else {
      const timer = setTimeout(run, delay);
      this.timers.set(uri, () => clearTimeout(timer));
    }
  }

  /** The check of the document's current version, made now if the scheduled one has not run yet. */
  fresh(uri: string): Analysis | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const current = this.analyses.get(uri);
    if (current && current.version === doc.version && !this.stale.has(uri)) return current;
    this.cancel(uri);
    return this.check(uri);
  }

  private check(uri: string): Analysis | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const path = uriToPath(uri);
    const analysis = analyze(path, doc.getText(), doc.version, this.rootOf(path), this.host);
    this.analyses.set(uri, analysis);
    this.stale.delete(uri);
    const uriOf = (p: string) => this.uriOf(p);
    const own: LspDiagnostic[] = [];
    const elsewhere = new Map<string, LspDiagnostic[]>();
    for (const d of analysis.result.diagnostics) {
      if (d.span.file === path) {
        own.push(toLspDiagnostic(d, uriOf));
        continue;
      }
      const list = elsewhere.get(d.span.file) ?? [];
      list.push(toLspDiagnostic(d, uriOf));
      elsewhere.set(d.span.file, list);
      own.push(this.atImport(analysis, d));
    }
    if (analysis.failure !== undefined)
      own.push({ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: 1, code: INTERNAL, source: "medg", message: `internal error while checking this file (please report it): ${analysis.failure}` });
    this.own.set(uri, own);
    const touched = new Set([...(this.foreign.get(uri)?.keys() ?? []), ...elsewhere.keys()]);
    this.foreign.set(uri, elsewhere);
    this.publish(uri);
    for (const file of touched) this.publishPath(file);
    this.collector?.request();
    return analysis;
  }

  /** A problem found in an imported file, shown on the import that brings the file in. */
  private atImport(analysis: Analysis, d: Diagnostic): LspDiagnostic {
    const via = (analysis.ast.items ?? []).find((item) => item.kind === "import" && reaches(analysis, resolve(dirname(analysis.path), item.path), d.span.file));
    const where = `${relative(dirname(analysis.path), d.span.file) || d.span.file}:${d.span.start.line}:${d.span.start.col}`;
    const lsp = toLspDiagnostic(d, (p) => this.uriOf(p), via ? toRange(via.span) : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, `${where}: ${d.message}`);
    lsp.relatedInformation = [{ location: { uri: this.uriOf(d.span.file), range: toRange(d.span) }, message: d.message }, ...(lsp.relatedInformation ?? [])];
    return lsp;
  }

  private publishPath(path: string): void {
    const uri = this.uriByPath.get(path);
    if (uri && this.documents.get(uri)) this.publish(uri);
  }

  private publish(uri: string): void {
    const path = uriToPath(uri);
    const list = [...(this.own.get(uri) ?? [])];
    const seen = new Set(list.map(key));
    for (const [importer, byFile] of this.foreign) {
      if (importer === uri) continue;
      for (const d of byFile.get(path) ?? []) {
        const k = key(d);
        if (seen.has(k)) continue;
        seen.add(k);
        list.push(d);
      }
    }
    const doc = this.documents.get(uri);
    void this.connection.sendDiagnostics({ uri, ...(doc ? { version: doc.version } : {}), diagnostics: list });
  }

  private codeActions(p: { textDocument: { uri: string }; range: { start: Position; end: Position }; context: { diagnostics: LspDiagnostic[] } }): CodeAction[] {
    const uri = p.textDocument.uri;
    if (!this.documents.get(uri)) return [];
    const wanted = p.context?.diagnostics ?? [];
    // Diagnostics carry their fixes; a client that drops `data` gets them from the latest check.
    const pairs: { d: LspDiagnostic; fixes: Fix[] }[] = [];
    for (const d of wanted) {
      let fixes = (d.data as DiagnosticData | undefined)?.fixes;
      if (!fixes) fixes = (this.own.get(uri) ?? []).find((o) => o.code === d.code && o.message === d.message && rangesOverlap(o.range, d.range))?.data?.fixes as Fix[] | undefined;
      if (fixes?.length) pairs.push({ d, fixes });
    }
    if (wanted.length === 0) {
      this.fresh(uri);
      for (const d of this.own.get(uri) ?? []) {
        const fixes = (d.data as DiagnosticData | undefined)?.fixes;
        if (fixes?.length && rangesOverlap(d.range, p.range)) pairs.push({ d, fixes });
      }
    }
    return pairs.flatMap(({ d, fixes }) =>
      fixes.map((f): CodeAction => {
        const changes: Record<string, TextEdit[]> = {};
        for (const e of f.edits) (changes[this.uriOf(e.span.file)] ??= []).push({ range: toRange(e.span), newText: e.text });
        return { title: f.title, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: fixes.length === 1, edit: { changes } };
      }),
    );
  }
}

function reaches(analysis: Analysis, from: string, target: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const file = stack.pop()!;
    if (file === target) return true;
    if (seen.has(file)) continue;
    seen.add(file);
    const module = analysis.capture.modules.get(file);
    for (const item of module?.parsed.module.items ?? []) if (item.kind === "import") stack.push(resolve(dirname(file), item.path));
  }
  return false;
}

const key = (d: LspDiagnostic) => `${d.range.start.line}:${d.range.start.character}:${d.range.end.line}:${d.range.end.character}:${String(d.code)}:${d.message}`;

/** What is wrong with a request's parameters, if anything (positions and document identifiers). */
function badParams(params: unknown): string | undefined {
  if (typeof params !== "object" || params === null) return "parameters must be an object";
  const p = params as { textDocument?: { uri?: unknown }; position?: { line?: unknown; character?: unknown }; range?: unknown };
  if (typeof p.textDocument !== "object" || p.textDocument === null || typeof p.textDocument.uri !== "string") return "textDocument.uri must be a string";
  if ("position" in p) {
    const pos = p.position;
    if (typeof pos !== "object" || pos === null || !Number.isInteger(pos.line) || !Number.isInteger(pos.character) || (pos.line as number) < 0 || (pos.character as number) < 0)
      return "position must have non-negative integer line and character";
  }
  return undefined;
}
