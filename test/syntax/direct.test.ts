import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CstToAst } from "../../src/syntax/cst-to-ast.js";
import { parseDirect } from "../../src/syntax/direct.js";
import { parse } from "../../src/syntax/parse.js";
import { medgParser } from "../../src/syntax/parser.js";
import { LineMap } from "../../src/syntax/span.js";
import { medgLexer } from "../../src/syntax/tokens.js";
import { programArb } from "../format/gen.js";

/**
 * The direct parser (src/syntax/direct.ts) must agree with the Chevrotain parser it stands in for:
 * it succeeds exactly on the texts Chevrotain parses without an error, and then builds the same AST.
 */

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));

function medgFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...medgFiles(p));
    else if (e.name.endsWith(".medg")) out.push(p);
  }
  return out.sort();
}

const corpus = ["stdlib", "examples", "test/fixtures"].flatMap((d) => medgFiles(join(repo, d))).map((f) => [f, readFileSync(f, "utf8")] as const);

/** Whether Chevrotain parses the text without an error, and whether the direct parser does. */
function cleanliness(text: string): { reference: boolean; direct: boolean } {
  const lexed = medgLexer.tokenize(text);
  const parser = medgParser();
  parser.input = lexed.tokens;
  parser.module();
  const reference = parser.errors.length === 0;
  const lines = new LineMap(text);
  const converter = new CstToAst("/t.medg", lines, 0);
  const direct = parseDirect(lexed.tokens, "/t.medg", lines, lexed.groups["comments"] ?? [], (t) => converter.stringLit(t)) !== undefined;
  return { reference, direct };
}

function expectSameParse(text: string, file = "/t.medg"): void {
  expect(parse(text, file), text).toEqual(parse(text, file, { direct: false }));
}

/** Token-level edits (drop, replace, insert, duplicate a token), which keep some texts valid. */
function mutations(text: string, count: number, seed: number): string[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const words = ["(", ")", "[", "]", ",", "|", ":", "=", "x", "1", ".5", '"s"', '"a{1 + 2}"', "..", ".", "-", "*", "**", "==", "if", "else", "for", "in", "not", "and", "tap", "from", "let", "def", ";", "\n", "head", "stage", "freeze", "epochs", "lr", "loss", "a:"];
  const tokens = medgLexer.tokenize(text).tokens;
  const out: string[] = [];
  for (let k = 0; k < count && tokens.length; k++) {
    const parts = tokens.map((t) => t.image);
    const gaps = tokens.map((t, i) => text.slice(t.endOffset! + 1, tokens[i + 1]?.startOffset ?? text.length));
    const i = Math.floor(rnd() * parts.length);
    const r = rnd();
    const word = words[Math.floor(rnd() * words.length)]!;
    if (r < 0.3) parts[i] = "";
    else if (r < 0.6) parts[i] = `${parts[i]} ${word}`;
    else if (r < 0.8) parts[i] = word;
    else parts[i] = `${parts[i]} ${parts[Math.floor(rnd() * parts.length)]}`;
    out.push(text.slice(0, tokens[0]!.startOffset) + parts.map((p, j) => p + gaps[j]).join(""));
  }
  return out;
}

describe("the direct parser", () => {
  it("parses every stdlib, example and fixture file as the reference parser does", () => {
    for (const [file, text] of corpus) expectSameParse(text, file);
  });

  it("succeeds exactly where the reference parser finds no error, with the same result, on edited files", () => {
    let direct = 0;
    for (const [i, [, text]] of corpus.entries()) {
      for (const m of mutations(text, 12, i + 1)) {
        const c = cleanliness(m);
        expect(c.direct, m).toBe(c.reference);
        if (c.direct) direct++;
        expectSameParse(m);
      }
    }
    expect(direct).toBeGreaterThan(20);
  });

  it("agrees on tricky corners of the grammar", () => {
    const texts = [
      "model m { input image(1, 32, 32) | gray_to_rgb\n backbone resnet18 | head: linear(10)\n stage freeze backbone\n stage stage: unfreeze all, epochs 3\n stage s: freeze backbone.layer1-3.0 5, lr 1e-3\n stage t: 5\n stage u: lr 1e-3,\n epochs 3\n metrics dice, iou\n}",
      "def f(a, b=2,) = conv(a, 3) | bn if b > 1 else relu\ndef g() = [x * 2 for x in 0..4 if x % 2 == 0]\ndef h = (conv(3),)\ndef k = ()\nlet x = -3\nlet y = - - 2 ** -1\nlet z = not a == b and c or d\nlet w = f(a)(b).c[1]",
      'let s = "a{x + 1}b{{c}}"\nlet q = let a = 1 let b = 2 a + b\ndef l(i) = "layer{i}": conv(3) | "plain": bn | in.c',
      'let bad = "a{1 +}b"',
      "model m { input image(1,8,8); backbone resnet18 | head mlp(3) ; task classify(classes=[\"a\",\"b\"]) }",
      "model m { input image(1,2,2) backbone x | stage y }",
      "model m { input image(1,2,2) backbone x | head: y | loss: z }",
      "def f(input, stage=1, lr=2) = input + stage + lr\nlet epochs = [1, 2][0]",
      "model m { stage a: freeze x, y.0, z epochs 3 }",
      "model m { stage a: freeze x 3, 4 }",
      "model m { stage a: freeze\n x }",
      "model m { stage a: freeze x,\n y }",
      "model m { stage a: freeze x.1-2.foo, lr 1 }",
      "model m { a == b == c }",
      "let a = 1 == 2 == 3",
      "let a = (1 + 2) * 3",
      "",
    ];
    for (const t of texts) {
      const c = cleanliness(t);
      expect(c.direct, t).toBe(c.reference);
      expectSameParse(t);
    }
  });

  it("agrees on random valid programs", () => {
    fc.assert(
      fc.property(programArb, (text) => {
        expect(cleanliness(text)).toEqual({ reference: true, direct: true });
        expectSameParse(text);
      }),
      { seed: 20251126, numRuns: 300 },
    );
  });
});
