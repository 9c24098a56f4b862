/**
 * The TextMate grammar (grammar/medg.tmLanguage.json), run by the same engine as VS Code
 * (vscode-textmate with the Oniguruma WASM): every example and stdlib file tokenizes, chosen tokens
 * get the scopes themes color, and the grammar's op and stdlib name lists match the compiler's.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import * as oniguruma from "vscode-oniguruma";
import * as textmate from "vscode-textmate";
import { opTable } from "../../src/ir/ops/index.js";
import { builtinTable } from "../../src/semantics/builtins.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const grammarPath = join(repo, "grammar/medg.tmLanguage.json");
const grammarJson = JSON.parse(readFileSync(grammarPath, "utf8")) as {
  scopeName: string;
  repository: Record<string, { match?: string; patterns?: unknown[] }>;
};

let grammar: textmate.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(join(repo, "node_modules/vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer);
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope) => (scope === "source.medg" ? textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath) : null),
  });
  grammar = (await registry.loadGrammar("source.medg"))!;
});

interface Token {
  line: number;
  text: string;
  scopes: string[];
}

function tokenize(text: string): Token[] {
  let stack = textmate.INITIAL;
  const out: Token[] = [];
  text.split("\n").forEach((line, i) => {
    const r = grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) out.push({ line: i, text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    stack = r.ruleStack;
  });
  return out;
}

/** The innermost scope of the `nth` token whose text is `text` (leading/trailing spaces ignored). */
function scopeOf(tokens: Token[], text: string, nth = 0): string {
  const found = tokens.filter((t) => t.text.trim() === text);
  const t = found[nth];
  if (!t) throw new Error(`no token '${text}' (#${nth}) in ${JSON.stringify(tokens.map((x) => x.text))}`);
  return t.scopes[t.scopes.length - 1]!;
}

const examples = readdirSync(join(repo, "examples"), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith(".medg"))
  .map((e) => join(e.parentPath, e.name));
const stdlibFiles = readdirSync(join(repo, "stdlib"), { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith(".medg"))
  .map((e) => join(e.parentPath, e.name));

/** Names a pattern of the repository alternates over: `\\b(a|b|c)\\b…`. */
function alternatives(rule: string): string[] {
  const m = /\\b\(([A-Za-z0-9_|]+)\)\\b/.exec(grammarJson.repository[rule]!.match!);
  return m ? m[1]!.split("|") : [];
}

const wiring = ["residual", "parallel", "expect_rank", "expect_divisible", "drop", "task_classes"];
const stdlibDefs = () => stdlibFiles.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/^def\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]!)).sort();

// `MEDG_ACCEPT=1 npx vitest run test/textmate` rewrites the grammar's name lists from the compiler's tables.
if (process.env.MEDG_ACCEPT === "1") {
  const lists: Record<string, string[]> = { ops: [...opTable.keys()], builtins: [...builtinTable.keys(), ...wiring], stdlib: stdlibDefs() };
  for (const [rule, names] of Object.entries(lists)) grammarJson.repository[rule]!.match = grammarJson.repository[rule]!.match!.replace(/\\b\(([A-Za-z0-9_|]+)\)\\b/, `\\b(${names.join("|")})\\b`);
  writeFileSync(grammarPath, `${JSON.stringify(grammarJson, null, 2)}\n`);
}

describe("medg.tmLanguage.json", () => {
  it("is source.medg", () => {
    expect(grammarJson.scopeName).toBe("source.medg");
  });

  it("covers every op of opTable, every builtin and every stdlib def", () => {
    expect(new Set(alternatives("ops")), "run MEDG_ACCEPT=1 npx vitest run test/textmate").toEqual(new Set(opTable.keys()));
    expect(new Set(alternatives("builtins"))).toEqual(new Set([...builtinTable.keys(), ...wiring]));
    expect(new Set(alternatives("stdlib")), "run MEDG_ACCEPT=1 npx vitest run test/textmate").toEqual(new Set(stdlibDefs()));
  });

  it.each([...examples, ...stdlibFiles].map((f) => [f.slice(repo.length), f]))("tokenizes %s into lines of scoped tokens", (_name, file) => {
    const text = readFileSync(file, "utf8");
    const tokens = tokenize(text);
    // Every character belongs to a token, and nothing is left to the bare source scope except names and spaces.
    const lines = text.split("\n");
    lines.forEach((line, i) => expect(tokens.filter((t) => t.line === i).map((t) => t.text).join("")).toBe(line));
    for (const t of tokens) if (t.scopes.length === 1) expect(t.text, `line ${t.line + 1}`).toMatch(/^[\sA-Za-z0-9_]*$/);
  });

  it("scopes the tokens of chest_xray.medg", () => {
    const tokens = tokenize(readFileSync(join(repo, "examples/chest_xray.medg"), "utf8"));
    expect(tokens[0]!.scopes).toContain("comment.line.number-sign.medg");
    expect(scopeOf(tokens, "model")).toBe("storage.type.model.medg");
    expect(scopeOf(tokens, "chest_xray")).toBe("entity.name.type.model.medg");
    expect(scopeOf(tokens, "task")).toBe("keyword.other.policy.medg");
    expect(scopeOf(tokens, "classes")).toBe("variable.parameter.medg");
    expect(scopeOf(tokens, "normal")).toBe("string.quoted.double.medg");
    expect(scopeOf(tokens, "input")).toBe("keyword.other.input.medg");
    expect(scopeOf(tokens, "224")).toBe("constant.numeric.medg");
    expect(scopeOf(tokens, "gray_to_rgb")).toBe("support.function.op.medg");
    expect(scopeOf(tokens, "|")).toBe("keyword.operator.pipe.medg");
    expect(scopeOf(tokens, "backbone")).toBe("keyword.other.role.medg");
    expect(scopeOf(tokens, "efficientnet_b0")).toBe("support.class.stdlib.medg");
    expect(scopeOf(tokens, "head")).toBe("keyword.other.role.medg");
    expect(scopeOf(tokens, "mlp")).toBe("support.class.stdlib.medg");
    expect(scopeOf(tokens, ".3")).toBe("constant.numeric.medg");
    expect(scopeOf(tokens, "1e-4")).toBe("constant.numeric.medg");
    expect(scopeOf(tokens, "stage")).toBe("keyword.other.stage.medg");
    expect(scopeOf(tokens, "warmup")).toBe("entity.name.tag.label.medg");
    expect(scopeOf(tokens, "freeze")).toBe("keyword.other.stage-clause.medg");
    expect(scopeOf(tokens, "epochs")).toBe("keyword.other.stage-clause.medg");
    expect(scopeOf(tokens, "lr")).toBe("keyword.other.stage-clause.medg");
    expect(scopeOf(tokens, "schedule")).toBe("keyword.other.stage-clause.medg");
  });

  it("scopes the compact form, imports and defs", () => {
    const compact = tokenize(readFileSync(join(repo, "examples/chest_xray_compact.medg"), "utf8"));
    expect(scopeOf(compact, "head")).toBe("keyword.other.role.medg");
    expect(scopeOf(compact, "stage")).toBe("keyword.other.stage.medg");
    expect(scopeOf(compact, "freeze")).toBe("keyword.other.stage-clause.medg");
    const ultrasound = tokenize(readFileSync(join(repo, "examples/ultrasound.medg"), "utf8"));
    expect(scopeOf(ultrasound, "import")).toBe("keyword.control.import.medg");
    expect(scopeOf(ultrasound, "lib/blocks.medg")).toBe("string.quoted.double.medg");
    const blocks = tokenize(readFileSync(join(repo, "examples/lib/blocks.medg"), "utf8"));
    expect(blocks.find((t) => t.text.startsWith(" conv -> bn"))!.scopes).toContain("comment.line.double-number-sign.documentation.medg");
    expect(scopeOf(blocks, "##")).toBe("punctuation.definition.comment.medg");
    expect(scopeOf(blocks, "def")).toBe("storage.type.function.medg");
    expect(scopeOf(blocks, "conv_bn_relu")).toBe("entity.name.function.medg");
    expect(scopeOf(blocks, "pool")).toBe("variable.parameter.medg");
    expect(scopeOf(blocks, "true")).toBe("constant.language.medg");
    expect(scopeOf(blocks, "if")).toBe("keyword.control.medg");
    expect(scopeOf(blocks, "for")).toBe("keyword.control.medg");
    expect(scopeOf(blocks, "features")).toBe("entity.name.tag.label.medg");
    expect(scopeOf(blocks, "gap")).toBe("support.function.op.medg");
  });

  it("scopes interpolation, in, taps, and statement words used as names", () => {
    const text = [
      'def f(c, head=2) = "layer{i + 1}": conv(c, 3) | tap t1 | from t1 | conv(in.c, 1)',
      "model m {",
      "  backbone f(8) | head: linear(10)",
      "  loss 0.5*dice + 0.5*ce",
      "}",
    ].join("\n");
    const tokens = tokenize(text);
    expect(scopeOf(tokens, "head")).toBe("variable.parameter.medg");
    expect(scopeOf(tokens, "{")).toBe("punctuation.section.interpolation.begin.medg");
    expect(tokens.find((t) => t.text.trim() === "i")?.scopes, JSON.stringify(tokens.filter((t) => t.line === 0))).toContain("meta.interpolation.medg");
    expect(scopeOf(tokens, "tap")).toBe("keyword.other.tap.medg");
    expect(scopeOf(tokens, "t1")).toBe("variable.other.tap.medg");
    expect(scopeOf(tokens, "in")).toBe("variable.language.in.medg");
    expect(scopeOf(tokens, "head", 1)).toBe("entity.name.tag.label.medg");
    expect(scopeOf(tokens, "loss")).toBe("keyword.other.policy.medg");
    expect(scopeOf(tokens, "+")).toBe("keyword.operator.arithmetic.medg");
  });
});
