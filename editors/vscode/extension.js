// The medg extension: starts `medg lsp` and connects VS Code's language features to it.
// A small LSP client of its own (JSON-RPC over stdio, the requests medg's server answers), so the
// package has no runtime dependencies and builds offline.
"use strict";
const vscode = require("vscode");
const { spawn } = require("child_process");

const selector = [{ language: "medg" }];

/** JSON-RPC 2.0 with LSP's Content-Length framing. */
class Connection {
  constructor(child, log) {
    this.child = child;
    this.log = log;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.buffer = Buffer.alloc(0);
    child.stdout.on("data", (chunk) => this.receive(chunk));
    child.on("exit", (code) => {
      for (const { reject } of this.pending.values()) reject(new Error(`medg lsp exited (${code})`));
      this.pending.clear();
    });
  }

  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const match = /Content-Length: *(\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString("ascii"));
      if (!match) {
        this.buffer = this.buffer.subarray(headerEnd + 4);
        continue;
      }
      const length = Number(match[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8");
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      try {
        this.dispatch(JSON.parse(body));
      } catch (e) {
        this.log(`medg: bad message from the server: ${e}`);
      }
    }
  }

  dispatch(message) {
    if (message.id !== undefined && message.method === undefined) {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error.message));
      else waiting.resolve(message.result);
      return;
    }
    const handler = this.handlers.get(message.method);
    if (message.id !== undefined) {
      // Requests from the server (progress, configuration): answered so the server never waits.
      const result = handler ? handler(message.params) : null;
      this.write({ jsonrpc: "2.0", id: message.id, result: result === undefined ? null : result });
      return;
    }
    if (handler) handler(message.params);
    else if (message.method === "window/logMessage") this.log(message.params.message);
  }

  write(message) {
    const body = Buffer.from(JSON.stringify(message), "utf8");
    this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin.write(body);
  }

  request(method, params, token) {
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.write({ jsonrpc: "2.0", id, method, params });
    if (token) token.onCancellationRequested(() => this.notify("$/cancelRequest", { id }));
    return promise;
  }

  notify(method, params) {
    this.write({ jsonrpc: "2.0", method, params });
  }

  on(method, handler) {
    this.handlers.set(method, handler);
  }
}

// LSP <-> VS Code values. LSP's enumerations start at 1 where VS Code's start at 0.
const position = (p) => new vscode.Position(p.line, p.character);
const range = (r) => new vscode.Range(position(r.start), position(r.end));
const lspPosition = (p) => ({ line: p.line, character: p.character });
const lspRange = (r) => ({ start: lspPosition(r.start), end: lspPosition(r.end) });
const docId = (document) => ({ uri: document.uri.toString() });
const markup = (m) => (m && typeof m === "object" ? (m.kind === "markdown" ? new vscode.MarkdownString(m.value) : m.value) : m);

function toDiagnostic(d) {
  const out = new vscode.Diagnostic(range(d.range), d.message, (d.severity || 1) - 1);
  if (d.code !== undefined) out.code = d.code;
  out.source = d.source || "medg";
  if (d.relatedInformation) out.relatedInformation = d.relatedInformation.map((r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(vscode.Uri.parse(r.location.uri), range(r.location.range)), r.message));
  return out;
}

function toWorkspaceEdit(edit) {
  const out = new vscode.WorkspaceEdit();
  for (const [uri, edits] of Object.entries(edit.changes || {})) for (const e of edits) out.replace(vscode.Uri.parse(uri), range(e.range), e.newText);
  return out;
}

function toCompletion(item) {
  const out = new vscode.CompletionItem(item.label, item.kind ? item.kind - 1 : undefined);
  if (item.detail) out.detail = item.detail;
  if (item.documentation) out.documentation = markup(item.documentation);
  if (item.sortText) out.sortText = item.sortText;
  if (item.filterText) out.filterText = item.filterText;
  if (item.textEdit) {
    out.range = range(item.textEdit.range);
    out.insertText = item.textEdit.newText;
  } else if (item.insertText) out.insertText = item.insertText;
  return out;
}

function toSymbol(s) {
  const out = new vscode.DocumentSymbol(s.name, s.detail || "", s.kind - 1, range(s.range), range(s.selectionRange));
  out.children = (s.children || []).map(toSymbol);
  return out;
}

const foldingKinds = { comment: 1, imports: 2, region: 3 };

let connection;
let child;

function activate(context) {
  const output = vscode.window.createOutputChannel("medg");
  const log = (text) => output.appendLine(text);
  const config = vscode.workspace.getConfiguration("medg");
  const command = config.get("server.command") || "medg";
  const args = config.get("server.args") || ["lsp"];
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  try {
    child = spawn(command, args, { cwd: folder ? folder.uri.fsPath : undefined, shell: process.platform === "win32" });
  } catch (e) {
    vscode.window.showErrorMessage(`medg: cannot start \`${command} ${args.join(" ")}\`: ${e.message}`);
    return;
  }
  child.on("error", (e) => vscode.window.showErrorMessage(`medg: cannot start \`${command} ${args.join(" ")}\` (set medg.server.command): ${e.message}`));
  child.stderr.on("data", (d) => log(d.toString()));
  connection = new Connection(child, log);
  const diagnostics = vscode.languages.createDiagnosticCollection("medg");
  // The LSP form of each shown diagnostic, which code actions send back (it carries the fixes).
  const original = new WeakMap();
  connection.on("textDocument/publishDiagnostics", (p) => {
    diagnostics.set(
      vscode.Uri.parse(p.uri),
      p.diagnostics.map((d) => {
        const out = toDiagnostic(d);
        original.set(out, d);
        return out;
      }),
    );
  });
  context.subscriptions.push(diagnostics, output);

  const ready = connection
    .request("initialize", {
      processId: process.pid,
      rootUri: folder ? folder.uri.toString() : null,
      capabilities: {
        textDocument: {
          hover: { contentFormat: ["markdown", "plaintext"] },
          publishDiagnostics: { relatedInformation: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ["quickfix"] } } },
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
        },
      },
    })
    .then((result) => {
      connection.notify("initialized", {});
      return result.capabilities || {};
    });
  ready.catch((e) => log(`medg: initialize failed: ${e.message}`));

  const open = (document) => {
    if (document.languageId !== "medg") return;
    connection.notify("textDocument/didOpen", { textDocument: { uri: document.uri.toString(), languageId: "medg", version: document.version, text: document.getText() } });
  };
  ready.then(() => vscode.workspace.textDocuments.forEach(open));
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((d) => ready.then(() => open(d))),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.languageId !== "medg" || e.contentChanges.length === 0) return;
      connection.notify("textDocument/didChange", {
        textDocument: { uri: e.document.uri.toString(), version: e.document.version },
        contentChanges: e.contentChanges.map((c) => ({ range: lspRange(c.range), rangeLength: c.rangeLength, text: c.text })),
      });
    }),
    vscode.workspace.onDidCloseTextDocument((d) => {
      if (d.languageId !== "medg") return;
      connection.notify("textDocument/didClose", { textDocument: docId(d) });
      diagnostics.delete(d.uri);
    }),
  );
  const watcher = vscode.workspace.createFileSystemWatcher("**/*.medg");
  const changed = (type) => (uri) => connection.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uri.toString(), type }] });
  context.subscriptions.push(watcher, watcher.onDidCreate(changed(1)), watcher.onDidChange(changed(2)), watcher.onDidDelete(changed(3)));

  const at = (document, p) => ({ textDocument: docId(document), position: lspPosition(p) });
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(selector, {
      provideHover: async (document, p, token) => {
        const h = await connection.request("textDocument/hover", at(document, p), token);
        return h ? new vscode.Hover(markup(h.contents), h.range ? range(h.range) : undefined) : undefined;
      },
    }),
    vscode.languages.registerCompletionItemProvider(
      selector,
      {
        provideCompletionItems: async (document, p, token, context) => {
          const items = await connection.request("textDocument/completion", { ...at(document, p), context: { triggerKind: context.triggerKind + 1, triggerCharacter: context.triggerCharacter } }, token);
          return (Array.isArray(items) ? items : (items && items.items) || []).map(toCompletion);
        },
      },
      ".",
      "(",
      ",",
      " ",
      "|",
    ),
    vscode.languages.registerDefinitionProvider(selector, {
      provideDefinition: async (document, p, token) => {
        const locations = (await connection.request("textDocument/definition", at(document, p), token)) || [];
        return locations.map((l) => new vscode.Location(vscode.Uri.parse(l.uri), range(l.range)));
      },
    }),
    vscode.languages.registerDocumentSymbolProvider(selector, {
      provideDocumentSymbols: async (document, token) => ((await connection.request("textDocument/documentSymbol", { textDocument: docId(document) }, token)) || []).map(toSymbol),
    }),
    vscode.languages.registerFoldingRangeProvider(selector, {
      provideFoldingRanges: async (document, _context, token) =>
        ((await connection.request("textDocument/foldingRange", { textDocument: docId(document) }, token)) || []).map((r) => new vscode.FoldingRange(r.startLine, r.endLine, foldingKinds[r.kind])),
    }),
    vscode.languages.registerCodeActionsProvider(
      selector,
      {
        provideCodeActions: async (document, r, context, token) => {
          const shown = context.diagnostics.filter((d) => original.has(d));
          const actions = await connection.request("textDocument/codeAction", { textDocument: docId(document), range: lspRange(r), context: { diagnostics: shown.map((d) => original.get(d)) } }, token);
          return (actions || []).map((a) => {
            const out = new vscode.CodeAction(a.title, vscode.CodeActionKind.QuickFix);
            if (a.edit) out.edit = toWorkspaceEdit(a.edit);
            out.diagnostics = shown.filter((d) => (a.diagnostics || []).some((x) => x.message === d.message && x.range.start.line === d.range.start.line));
            out.isPreferred = !!a.isPreferred;
            return out;
          });
        },
      },
      { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
    ),
    vscode.languages.registerDocumentFormattingEditProvider(selector, {
      provideDocumentFormattingEdits: async (document, _options, token) => {
        const capabilities = await ready;
        if (!capabilities.documentFormattingProvider) return [];
        const edits = (await connection.request("textDocument/formatting", { textDocument: docId(document), options: { tabSize: 2, insertSpaces: true } }, token)) || [];
        return edits.map((e) => vscode.TextEdit.replace(range(e.range), e.newText));
      },
    }),
  );
}

async function deactivate() {
  if (!connection || !child) return;
  try {
    await Promise.race([connection.request("shutdown"), new Promise((resolve) => setTimeout(resolve, 1000))]);
    connection.notify("exit");
  } catch {
    // the server is already gone
  }
  setTimeout(() => child.kill(), 500).unref();
}

module.exports = { activate, deactivate };
