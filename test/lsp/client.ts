/**
 * A real LSP client for the tests: the server is bundled from the sources (so the tests need no prior
 * build), started as a child process, and spoken to over stdio with vscode-jsonrpc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  type Diagnostic,
  type PublishDiagnosticsParams,
  type TextDocumentContentChangeEvent,
} from "vscode-languageserver-protocol/node.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
// Inside the repository, so the server finds its package folder (and the stdlib) as an installed one does.
const outDir = `${repo}node_modules/.cache/medg-lsp-test`;
let bundled: string | undefined;

export function serverBundle(): string {
  if (bundled) return bundled;
  mkdirSync(outDir, { recursive: true });
  // One file per test worker, rewritten on each run.
  const outfile = `${outDir}/server-${process.env.VITEST_POOL_ID ?? process.pid}.mjs`;
  buildSync({
    stdin: { contents: 'import { startStdioServer } from "./src/lsp/main.ts"; void startStdioServer();', resolveDir: repo, sourcefile: "entry.ts", loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "warning",
    // The formatter's engine is loaded from node_modules when a document is formatted.
    external: ["prettier"],
    // The protocol libraries are CommonJS and require Node built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return (bundled = outfile);
}

export class TestClient {
  readonly connection: ProtocolConnection;
  readonly process: ChildProcess;
  readonly diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  private waiters: { uri: string; test: (p: PublishDiagnosticsParams) => boolean; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  stderr = "";

  constructor() {
    this.process = spawn(process.execPath, [serverBundle()], { stdio: ["pipe", "pipe", "pipe"] });
    this.process.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    // The protocol package's own JSON-RPC copy: its parameter-structure checks compare class identities.
    this.connection = createProtocolConnection(new StreamMessageReader(this.process.stdout!), new StreamMessageWriter(this.process.stdin!));
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      const list = this.diagnostics.get(p.uri) ?? [];
      list.push(p);
      this.diagnostics.set(p.uri, list);
      this.waiters = this.waiters.filter((w) => {
        if (w.uri !== p.uri || !w.test(p)) return true;
        w.resolve(p);
        return false;
      });
    });
    this.connection.onNotification("window/logMessage", () => {});
    this.connection.listen();
  }

  async initialize(rootUri: string | null = null, initializationOptions: unknown = {}): Promise<unknown> {
    const result = await this.connection.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri, capabilities: {}, initializationOptions });
    await this.connection.sendNotification(InitializedNotification.type, {});
    return result;
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "medg", version, text } });
  }

  change(uri: string, version: number, changes: TextDocumentContentChangeEvent[]): Promise<void> {
    return this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: changes });
  }

  /** The next diagnostics published for `uri` that pass `test` (the latest one if it already did). */
  diagnosticsFor(uri: string, test: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 20_000): Promise<PublishDiagnosticsParams> {
    const latest = this.diagnostics.get(uri)?.at(-1);
    if (latest && test(latest)) return Promise.resolve(latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching diagnostics for ${uri} in ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({ uri, test, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  /** Waits for the diagnostics of one document version. */
  version(uri: string, version: number): Promise<Diagnostic[]> {
    return this.diagnosticsFor(uri, (p) => p.version === version).then((p) => p.diagnostics);
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest("shutdown"), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification("exit");
    } catch {
      // already gone
    }
    this.connection.dispose();
    if (this.alive) this.process.kill();
  }
}
