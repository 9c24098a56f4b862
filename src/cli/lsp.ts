/** `medg lsp`: the language server on stdio, until the client disconnects. */
export async function lspCommand(): Promise<number> {
  // Loaded on demand: the protocol libraries are of no use to `check` and `summary`.
  const { startStdioServer } = await import("../lsp/main.js");
  return startStdioServer();
}
