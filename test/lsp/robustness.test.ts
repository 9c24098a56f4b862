/**
 * A long random editing session (fixed seed): valid and broken text, inserts and deletes, with hover,
 * completion, definition and the other requests in between. Every request is answered, no handler
 * throws, and the server is alive and checking at the end.
 */
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { TextDocument } from "vscode-languageserver-textdocument";
import { TestClient } from "./client.js";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fragments = [
  "backbone resnet18\n", "head mlp(64)", " | relu", "conv(16, 3)", "(", ")", "[", "]", "{", "}", "|", ",", ":", "=", '"', "'", "#", "##", "\n",
  "tap t1 ", "from t1", "from nowhere", "def f(c) = conv(c, 3) | bn\n", "let x = 3\n", "model ", "stage freeze backbone.layer4, epochs 2, lr 1e-3\n",
  "loss focal(gamma=2)\n", "optimizer adamw(lr=1e-3)\n", "augment flip(h) | rotate(10)\n", "in.c", "1e-3", ".5", "..", "**", "if", "else", "for i in 0..3",
  '"label{i}": ', "import \"lib.medg\"\n", "µ", "\t", "\\", "expect_rank(2)", "residual(conv(8, 3), shortcut=", "gap | linear(3)", "✓",
];

const seedText = readFileSync(fileURLToPath(new URL("../../examples/chest_xray.medg", import.meta.url)), "utf8");

it("survives 300 random edits interleaved with requests", async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "medg-lsp-fuzz-")));
  writeFileSync(join(dir, "medg.json"), "{}\n");
  writeFileSync(join(dir, "lib.medg"), "def g(c) = conv(c, 1)\n");
  const uri = pathToFileURL(join(dir, "fuzz.medg")).href;
  const client = new TestClient();
  const errors: string[] = [];
  client.connection.onNotification("window/logMessage", (p: { type: number; message: string }) => {
    if (p.type === 1) errors.push(p.message);
  });
  await client.initialize(pathToFileURL(dir).href);
  let doc = TextDocument.create(uri, "medg", 1, seedText);
  await client.open(uri, doc.getText(), 1);
  const random = rng(300);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const position = () => doc.positionAt(Math.floor(random() * (doc.getText().length + 1)));
  const requests: Promise<unknown>[] = [];
  const methods = ["textDocument/hover", "textDocument/completion", "textDocument/definition", "textDocument/documentSymbol", "textDocument/foldingRange", "textDocument/codeAction"];
  for (let step = 0; step < 300; step++) {
    const text = doc.getText();
    const r = random();
    let change: { range?: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string };
    if (r < 0.05) change = { text: seedText };
    else if (r < 0.55) {
      const at = Math.floor(random() * (text.length + 1));
      change = { range: { start: doc.positionAt(at), end: doc.positionAt(at) }, text: pick(fragments) };
    } else {
      const from = Math.floor(random() * (text.length + 1));
      const to = Math.min(text.length, from + 1 + Math.floor(random() * 40));
      change = { range: { start: doc.positionAt(from), end: doc.positionAt(to) }, text: "" };
    }
    const version = doc.version + 1;
    doc = TextDocument.update(doc, [change], version);
    await client.change(uri, version, [change]);
    for (let k = Math.floor(random() * 3); k > 0; k--) {
      const method = pick(methods);
      const pos = position();
      const params =
        method === "textDocument/codeAction"
          ? { textDocument: { uri }, range: { start: pos, end: pos }, context: { diagnostics: [] } }
          : method.endsWith("Symbol") || method.endsWith("Range")
            ? { textDocument: { uri } }
            : { textDocument: { uri }, position: pos, ...(method.endsWith("completion") ? { context: { triggerKind: 1 } } : {}) };
      requests.push(client.connection.sendRequest(method, params));
    }
    // Mostly a burst, sometimes a pause long enough for a check to run in between.
    if (random() < 0.15) await new Promise((resolve) => setTimeout(resolve, 1 + Math.floor(random() * 80)));
  }
  const answers = await Promise.allSettled(requests);
  expect(answers.filter((a) => a.status === "rejected")).toEqual([]);
  expect(requests.length).toBeGreaterThan(200);
  // The last version is checked, and the server answers afterwards.
  await client.version(uri, doc.version);
  await client.connection.sendRequest("textDocument/hover", { textDocument: { uri }, position: { line: 0, character: 0 } });
  expect(client.alive).toBe(true);
  expect(errors).toEqual([]);
  await client.close();
}, 120_000);
