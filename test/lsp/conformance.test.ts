/**
 * The editor shows what `medg check` prints: for every example and golden case, the server's
 * diagnostics equal `compileFile`'s, code for code and span for span (0-based in LSP).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/cli/main.js";
import { compileFile } from "../../src/compile.js";
import { TestClient } from "./client.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const files = [
  ...readdirSync(join(repo, "examples")).filter((f) => f.endsWith(".medg")).map((f) => join(repo, "examples", f)),
  ...readdirSync(join(repo, "test/golden/cases")).filter((f) => f.endsWith(".medg")).map((f) => join(repo, "test/golden/cases", f)),
];

let client: TestClient;
beforeAll(async () => {
  client = new TestClient();
  await client.initialize(pathToFileURL(repo).href);
});
afterAll(() => client.close());

const severity = { error: 1, warning: 2, info: 3 } as const;

describe("diagnostics equal medg check's", () => {
  it.each(files.map((f) => [f.slice(repo.length), f]))("%s", async (_name, file) => {
    const expected = compileFile(file, { root: projectRoot(file) }).diagnostics;
    const uri = pathToFileURL(file).href;
    await client.open(uri, readFileSync(file, "utf8"), 1);
    const got = await client.version(uri, 1);
    const here = expected.filter((d) => d.span.file === file);
    const own = got.filter((d) => !/^[^\s:]+\.medg:\d+:\d+: /.test(d.message) || here.some((h) => h.message === d.message));
    expect(own.map((d) => ({ code: d.code, severity: d.severity, message: d.message, range: d.range }))).toEqual(
      here.map((d) => ({
        code: d.code,
        severity: severity[d.severity],
        message: d.message,
        range: { start: { line: d.span.start.line - 1, character: d.span.start.col - 1 }, end: { line: d.span.end.line - 1, character: d.span.end.col - 1 } },
      })),
    );
    // Problems located in imported files are shown too, on the import that brings each file in.
    expect(got.length - own.length).toBe(expected.length - here.length);
  });
});
