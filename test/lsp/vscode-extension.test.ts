/**
 * The VS Code extension's client (editors/vscode/extension.js) against the real server, with a
 * stand-in for the `vscode` module that records what the extension registers and shows.
 */
import { createRequire } from "node:module";
import { mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { serverBundle } from "./client.js";

const require = createRequire(import.meta.url);
const extensionPath = fileURLToPath(new URL("../../editors/vscode/extension.js", import.meta.url));

/** Just enough of the VS Code API for the extension: values, registrations, events. */
function fakeVscode(config: Record<string, unknown>, documents: unknown[]) {
  class Position {
    constructor(
      readonly line: number,
      readonly character: number,
    ) {}
  }
  class Range {
    constructor(
      readonly start: Position,
      readonly end: Position,
    ) {}
  }
  class Uri {
    constructor(readonly value: string) {}
    static parse(value: string) {
      return new Uri(value);
    }
    toString() {
      return this.value;
    }
    get fsPath() {
      return fileURLToPath(this.value);
    }
  }
  const shown = new Map<string, unknown[]>();
  const providers: Record<string, { provider: Record<string, (...args: unknown[]) => Promise<unknown>>; extra: unknown[] }> = {};
  const register =
    (name: string) =>
    (_selector: unknown, provider: Record<string, (...args: unknown[]) => Promise<unknown>>, ...extra: unknown[]) => {
      providers[name] = { provider, extra };
      return { dispose() {} };
    };
  const event = () => () => ({ dispose() {} });
  const api = {
    Position,
    Range,
    Uri,
    Location: class {
      constructor(
        readonly uri: Uri,
        readonly range: Range,
      ) {}
    },
    Diagnostic: class {
      code?: unknown;
      source?: string;
      relatedInformation?: unknown[];
      constructor(
        readonly range: Range,
        readonly message: string,
        readonly severity: number,
      ) {}
    },
    DiagnosticRelatedInformation: class {
      constructor(
        readonly location: unknown,
        readonly message: string,
      ) {}
    },
    MarkdownString: class {
      constructor(readonly value: string) {}
    },
    Hover: class {
      constructor(
        readonly contents: unknown,
        readonly range?: Range,
      ) {}
    },
    CompletionItem: class {
      constructor(
        readonly label: string,
        readonly kind?: number,
      ) {}
    },
    DocumentSymbol: class {
      children: unknown[] = [];
      constructor(
        readonly name: string,
        readonly detail: string,
        readonly kind: number,
        readonly range: Range,
        readonly selectionRange: Range,
      ) {}
    },
    FoldingRange: class {
      constructor(
        readonly start: number,
        readonly end: number,
        readonly kind?: number,
      ) {}
    },
    CodeAction: class {
      edit?: unknown;
      diagnostics?: unknown[];
      isPreferred?: boolean;
      constructor(
        readonly title: string,
        readonly kind: string,
      ) {}
    },
    CodeActionKind: { QuickFix: "quickfix" },
    WorkspaceEdit: class {
      readonly edits: { uri: string; range: Range; text: string }[] = [];
      replace(uri: Uri, range: Range, text: string) {
        this.edits.push({ uri: uri.toString(), range, text });
      }
    },
    TextEdit: { replace: (range: Range, newText: string) => ({ range, newText }) },
    languages: {
      createDiagnosticCollection: () => ({ set: (uri: Uri, list: unknown[]) => shown.set(uri.toString(), list), delete() {}, dispose() {} }),
      registerHoverProvider: register("hover"),
      registerCompletionItemProvider: register("completion"),
      registerDefinitionProvider: register("definition"),
      registerDocumentSymbolProvider: register("symbols"),
      registerFoldingRangeProvider: register("folding"),
      registerCodeActionsProvider: register("codeActions"),
      registerDocumentFormattingEditProvider: register("formatting"),
    },
    workspace: {
      getConfiguration: () => ({ get: (key: string) => config[key] }),
      workspaceFolders: undefined,
      textDocuments: documents,
      onDidOpenTextDocument: event(),
      onDidChangeTextDocument: event(),
      onDidCloseTextDocument: event(),
      createFileSystemWatcher: () => ({ onDidCreate: event(), onDidChange: event(), onDidDelete: event(), dispose() {} }),
    },
    window: { createOutputChannel: () => ({ appendLine() {}, dispose() {} }), showErrorMessage: (m: string) => errors.push(m) },
  };
  const errors: string[] = [];
  return { api, shown, providers, errors };
}

it("starts the server, shows its diagnostics and serves hover, completion and quick fixes", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "medg-vscode-")));
  writeFileSync(join(dir, "medg.json"), "{}\n");
  const text = "model m {\n  input image(3, 64, 64)\n  backbone resnet5O\n  head classifier\n}\n";
  const uri = pathToFileURL(join(dir, "m.medg")).href;
  const lines = text.split("\n");
  const offsetAt = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((s, l) => s + l.length + 1, 0) + p.character;
  const fake = fakeVscode({ "server.command": process.execPath, "server.args": [serverBundle()] }, []);
  const document = { uri: fake.api.Uri.parse(uri), languageId: "medg", version: 1, getText: () => text, offsetAt };
  fake.api.workspace.textDocuments.push(document as never);

  const Module = require("node:module") as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = Module._load;
  Module._load = (request: string, ...rest: unknown[]) => (request === "vscode" ? fake.api : load(request, ...rest));
  let extension: { activate(context: unknown): void; deactivate(): Promise<void> };
  try {
    delete require.cache[extensionPath];
    extension = require(extensionPath);
  } finally {
    Module._load = load;
  }
  extension.activate({ subscriptions: [] });
  try {
    const deadline = Date.now() + 20_000;
    while (!fake.shown.get(uri) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const diagnostics = fake.shown.get(uri) as { code: string; message: string; severity: number; range: { start: { line: number; character: number } } }[];
    expect(diagnostics.map((d) => d.code)).toEqual(["MEDG201"]);
    expect(diagnostics[0]!.severity).toBe(0);
    expect(diagnostics[0]!.range.start).toEqual({ line: 2, character: 11 });

    const token = { onCancellationRequested() {} };
    const pos = (line: number, character: number) => new fake.api.Position(line, character);
    const hover = (await fake.providers.hover!.provider.provideHover!(document, pos(3, 8), token)) as { contents: { value: string } };
    expect(hover.contents.value).toContain("def classifier(");
    const items = (await fake.providers.completion!.provider.provideCompletionItems!(document, pos(2, 11), token, { triggerKind: 0 })) as { label: string }[];
    expect(items.map((i) => i.label)).toContain("resnet50");
    const actions = (await fake.providers.codeActions!.provider.provideCodeActions!(document, diagnostics[0]!.range, { diagnostics }, token)) as {
      title: string;
      edit: { edits: { uri: string; text: string }[] };
    }[];
    expect(actions.map((a) => a.title)).toEqual(["change to 'resnet50'"]);
    expect(actions[0]!.edit.edits).toMatchObject([{ uri, text: "resnet50" }]);
    const symbols = (await fake.providers.symbols!.provider.provideDocumentSymbols!(document, token)) as { name: string; children: { name: string }[] }[];
    expect(symbols[0]!.children.map((c) => c.name)).toEqual(["input", "backbone", "head"]);
    expect(fake.errors).toEqual([]);
  } finally {
    await extension.deactivate();
  }
});
