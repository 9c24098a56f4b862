/** The language server on stdin/stdout: `node dist/lsp/main.js`, or `medg lsp`. */
import { createConnection, ProposedFeatures } from "vscode-languageserver/node.js";
import { MedgServer, type ServerOptions } from "./server.js";

/** Starts the server on stdio; resolves when the client disconnects (the library then ends the process). */
export function startStdioServer(options: ServerOptions = {}): Promise<number> {
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  // Whatever escapes a handler is logged; an editor's server must outlive its bugs.
  process.on("uncaughtException", (e) => connection.console.error(`uncaught: ${e.stack ?? e.message}`));
  process.on("unhandledRejection", (e) => connection.console.error(`unhandled rejection: ${String(e)}`));
  new MedgServer(connection, options).listen();
  return new Promise((resolve) => connection.onExit(() => resolve(0)));
}

const entry = process.argv[1] ?? "";
if (/[\\/]lsp[\\/]main\.js$/.test(entry)) void startStdioServer();
