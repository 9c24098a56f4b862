import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { grammarDiagramsHtml } from "../../src/syntax/diagrams.js";

const committed = join(import.meta.dirname, "..", "..", "grammar", "diagrams.html");

describe("grammar/diagrams.html", () => {
  it("is the same twice", () => {
    expect(grammarDiagramsHtml()).toBe(grammarDiagramsHtml());
  });

  it("matches the parser", () => {
    let onDisk: string;
    try {
      onDisk = readFileSync(committed, "utf8");
    } catch {
      throw new Error("grammar/diagrams.html is missing: run `npm run build && npm run grammar`");
    }
    expect(grammarDiagramsHtml() === onDisk, "grammar/diagrams.html is out of date: run `npm run build && npm run grammar`").toBe(true);
  });
});
