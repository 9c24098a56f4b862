import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "vitest";
import { parse } from "../../src/syntax/parse.js";
import { medgLexer } from "../../src/syntax/tokens.js";
import { expectGuarantees } from "./helpers.js";

const root = join(import.meta.dirname, "../..");

function medgFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? medgFiles(p) : p.endsWith(".medg") ? [p] : [];
  });
}

/**
 * The file with a comment after every token: at the end of the token's line (`eol`) or on a line
 * of its own below it (`own`). Inside a stage statement a line may only break after a comma.
 */
function commentEverywhere(text: string, style: "eol" | "own"): string {
  const stages: [number, number][] = [];
  for (const item of parse(text, "x.medg").module.items)
    if (item.kind === "model") for (const s of item.statements) if (s.kind === "stage") stages.push([s.span.start.offset, s.span.end.offset]);
  let out = "";
  let pos = 0;
  let n = 0;
  for (const t of medgLexer.tokenize(text).tokens) {
    const end = (t.endOffset ?? t.startOffset) + 1;
    out += text.slice(pos, end);
    pos = end;
    if (t.image !== "," && stages.some(([s, e]) => t.startOffset >= s && end <= e)) continue;
    out += style === "eol" ? ` # c${n++}\n` : `\n# c${n++}\n`;
  }
  return out + text.slice(pos);
}

describe("a comment after every token of the stdlib and the examples", () => {
  for (const file of [...medgFiles(join(root, "stdlib")), ...medgFiles(join(root, "examples"))]) {
    const text = readFileSync(file, "utf8");
    for (const style of ["eol", "own"] as const)
      it(`${file.slice(root.length + 1)} (${style})`, async () => {
        const commented = commentEverywhere(text, style);
        await expectGuarantees(commented);
        await expectGuarantees(commented, { printWidth: 40 });
      });
  }
});
