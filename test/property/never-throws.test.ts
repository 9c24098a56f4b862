import fc from "fast-check";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { compileFile, type CompileResult } from "../../src/compile.js";
import { codes } from "../../src/diagnostics/codes.js";
import type { Span } from "../../src/syntax/span.js";
import { stdlibDir } from "../../src/semantics/modules.js";

/**
 * The compiler's promise: on any text it returns (never throws), every diagnostic's span lies inside
 * the text it names with line/col agreeing with the offset, and it does not hang. How quickly it
 * answers is measured by `npm run bench:lsp` and `npm run bench:profile`, not here: HANG_MS only
 * catches runaway (quadratic, exponential) behaviour, far above any normal compile.
 */

const HANG_MS = 5000;
const SEED = 20251125;

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const scratch = mkdtempSync(join(tmpdir(), "medg-fuzz-"));
const FUZZ_FILE = join(scratch, "fuzz.medg");

function medgFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...medgFiles(p));
    else if (e.name.endsWith(".medg")) out.push(p);
  }
  return out.sort();
}

const diskTexts = new Map<string, string | undefined>();
function diskText(file: string): string | undefined {
  if (!diskTexts.has(file)) diskTexts.set(file, existsSync(file) ? readFileSync(file, "utf8") : undefined);
  return diskTexts.get(file);
}

/** 1-based line and column of an offset, counting UTF-16 units and only \n as a line break. */
function position(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) (line++, (lineStart = i + 1));
  return { line, col: offset - lineStart + 1 };
}

function checkSpan(span: Span, textOf: (file: string) => string | undefined, what: string): void {
  const text = textOf(span.file);
  if (text === undefined) throw new Error(`${what}: span in a file that does not exist: ${span.file}`);
  const { start, end } = span;
  if (!(Number.isInteger(start.offset) && Number.isInteger(end.offset) && 0 <= start.offset && start.offset <= end.offset && end.offset <= text.length))
    throw new Error(`${what}: span ${start.offset}-${end.offset} outside ${span.file} (length ${text.length})`);
  for (const [name, p] of [["start", start], ["end", end]] as const) {
    const expected = position(text, p.offset);
    if (expected.line !== p.line || expected.col !== p.col) throw new Error(`${what}: ${name} offset ${p.offset} is ${expected.line}:${expected.col}, span says ${p.line}:${p.col}`);
  }
}

const stdlibRoot = resolve(stdlibDir);
const inStdlib = (file: string) => !relative(stdlibRoot, file).startsWith("..");

function checkResult(text: string, file: string, r: CompileResult): void {
  const textOf = (f: string) => (f === file ? text : f === "<builtin>" ? "" : diskText(f));
  for (const d of r.diagnostics) {
    const what = `${d.code} '${d.message}'`;
    if (!(d.code in codes)) throw new Error(`${what}: unknown code`);
    if (codes[d.code].severity !== d.severity) throw new Error(`${what}: severity ${d.severity}`);
    if (typeof d.message !== "string" || d.message.length === 0) throw new Error(`${d.code}: empty message`);
    checkSpan(d.span, textOf, what);
    for (const rel of d.related ?? []) checkSpan(rel.span, textOf, `${what} (related '${rel.message}')`);
    for (const fix of d.fixes ?? []) for (const edit of fix.edits) checkSpan(edit.span, textOf, `${what} (fix '${fix.title}')`);
  }
}

/** Compiles a buffer as `file`; never throws, spans valid, no runaway time. */
function check(text: string, file = FUZZ_FILE, root = scratch): void {
  const start = performance.now();
  const result = compileFile(file, { root, text });
  const ms = performance.now() - start;
  checkResult(text, file, result);
  if (ms >= HANG_MS) throw new Error(`compiling took ${ms.toFixed(1)} ms: runaway (limit ${HANG_MS} ms)`);
}

// ---------------------------------------------------------------------------------------------
// Random token streams over the language's alphabet.

const hardKeywords = ["model", "def", "let", "import", "if", "else", "for", "in", "and", "or", "not", "true", "false", "none", "tap", "from"];
const softKeywords = ["input", "stage", "backbone", "neck", "decoder", "head", "task", "loss", "optimizer", "schedule", "augment", "normalize", "data", "metrics", "epochs", "batch", "seed", "freeze", "unfreeze", "lr", "all"];
const knownNames = [
  "conv", "bn", "relu", "gap", "linear", "mlp", "resnet18", "basic", "residual", "concat", "add", "mul", "parallel", "expect_rank",
  "expect_divisible", "task_classes", "image", "volume", "classify", "flip", "rotate", "cumsum", "range", "len", "sum", "min", "max",
  "round", "int", "str", "upsample", "identity", "flatten", "maxpool", "drop", "gray_to_rgb", "make_divisible", "conv_bn_act",
  "patch_embed", "class_token", "focal", "adamw", "cosine", "x", "c", "n", "i", "features",
];
const punctuation = ["(", ")", "[", "]", "{", "}", ",", ":", ";", ".", "..", "|", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%", "**"];
const oddCharacters = ["@", "$", "?", "!", "\\", "`", "~", "^", "&", "é", "😀", "\u0000", "\u00a0", "\uD800", "\r"];

const tokenArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...hardKeywords), weight: 4 },
  { arbitrary: fc.constantFrom(...softKeywords), weight: 4 },
  { arbitrary: fc.constantFrom(...knownNames), weight: 5 },
  { arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/), weight: 2 },
  { arbitrary: fc.nat(300).map(String), weight: 3 },
  { arbitrary: fc.constantFrom("0", ".3", "1e-3", "2.5", "1e400", "99999999", "3.", "1.2.3", "0x1F", "1_000", "2.5E+2", "5-2", "0-3"), weight: 2 },
  {
    arbitrary: fc.constantFrom(`"abc"`, `"a{i}"`, `"layer{i + 1}"`, `"x{"`, `"}"`, `"{{"`, `'q'`, `"`, `'`, `"a\\"b"`, `"lib/blocks.medg"`, `"x.medg"`, `"../x.medg"`, `"{1 +}"`, `""`),
    weight: 2,
  },
  { arbitrary: fc.constantFrom(...punctuation), weight: 8 },
  { arbitrary: fc.constantFrom(...oddCharacters), weight: 1 },
  { arbitrary: fc.constantFrom("# c", "## doc", "#"), weight: 1 },
  { arbitrary: fc.constantFrom("\n", "\n\n", "\t", "\r\n"), weight: 2 },
);
const separatorArb = fc.constantFrom(" ", " ", " ", "", "\n");
const tokenStream = (maxLength: number) => fc.array(fc.tuple(tokenArb, separatorArb), { maxLength }).map((xs) => xs.map(([t, s]) => t + s).join(""));

// ---------------------------------------------------------------------------------------------
// Well-formed-ish programs from a small expression grammar, to reach evaluation.

const smallInt = fc.integer({ min: 0, max: 4 });
const channels = fc.integer({ min: 0, max: 16 }).map(String);
const leafNames = [
  "relu", "bn", "gap", "identity", "flatten(1)", "in.c", "in.h", "in.w", "in.d", "in.last", "in.rank", "in.shape", "i", "c", "s",
  "true", "false", "none", `"s{i}"`, "tap t", "from t", "from u", "task_classes()", "linear(4)", "conv(4, 3)", "conv(8, 1, s=2)",
  "maxpool(2)", "upsample(2)", "expect_rank(4)", "expect_rank(2)", "expect_divisible(2)", "drop(.1)", "x", "0..3", "[1, 2]",
  "cumsum([1, 2])", "round(2.5)", "make_divisible(in.c)", "gn(2)", "ln", "concat", "split([1, 2])", "add", "softmax", "sigmoid",
];
function grammar(extraLeaves: string[]) {
  const leaf = fc.oneof({ arbitrary: fc.constantFrom(...leafNames, ...extraLeaves), weight: 4 }, { arbitrary: channels, weight: 1 });
  const label = fc.constantFrom("a", "b", "conv1", "features", `"l{i}"`, "head", "0x");
  const op = fc.constantFrom("+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "and", "or", "..");
  const callee = fc.constantFrom("conv", "linear", "maxpool", "avgpool", "bn", "min", "max", "len", "sum", "int", "range", "blk", "conv_bn_act", "mlp");
  const argName = fc.constantFrom("", "", "s=", "k=", "p=", "c=", "bias=", "dropout=", "classes=", "shortcut=");
  return fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { arbitrary: leaf, weight: 6 },
      fc.tuple(tie("expr"), tie("expr")).map(([a, b]) => `${a} | ${b}`),
      fc.tuple(label, tie("expr")).map(([l, e]) => `${l}: (${e})`),
      fc.tuple(tie("expr"), tie("expr")).map(([a, c]) => `(${a} if ${c})`),
      fc.tuple(tie("expr"), tie("expr"), tie("expr")).map(([a, c, b]) => `(${a} if ${c} else ${b})`),
      fc.tuple(tie("expr"), smallInt, fc.option(tie("expr"))).map(([e, n, c]) => `[${e} for i in 0..${n}${c === null ? "" : ` if ${c}`}]`),
      fc.array(tie("expr"), { maxLength: 3 }).map((xs) => `[${xs.join(", ")}]`),
      fc.array(tie("expr"), { maxLength: 3 }).map((xs) => `(${xs.join(", ")}${xs.length === 1 ? "," : ""})`),
      fc.tuple(fc.constantFrom("residual", "concat", "add", "mul", "parallel"), fc.array(tie("expr"), { minLength: 1, maxLength: 2 })).map(([f, xs]) => `${f}(${xs.join(", ")})`),
      fc.tuple(tie("expr"), op, tie("expr")).map(([a, o, b]) => `(${a} ${o} ${b})`),
      fc.tuple(fc.constantFrom("-", "not "), tie("expr")).map(([o, e]) => `${o}(${e})`),
      fc.tuple(callee, fc.array(fc.tuple(argName, tie("expr")), { maxLength: 3 })).map(([f, args]) => `${f}(${args.map(([n, v]) => n + v).join(", ")})`),
      fc.tuple(tie("expr"), smallInt).map(([e, n]) => `${e}[${n - 2}]`),
      fc.tuple(tie("expr"), tie("expr")).map(([v, e]) => `(let x = ${v} ${e})`),
    ),
  })).expr;
}
// `f` may not call itself or `blk`, and `blk` may call `f`: no unbounded fan-out of recursion.
const fBody = grammar([]);
const blkBody = grammar(["f(4)", "f(c)"]);
const roleBody = grammar(["f(4)", "blk", "blk(8, s=2)", "resnet18", "basic(8)"]);
const program = fc
  .record({
    f: fBody,
    blk: blkBody,
    backbone: roleBody,
    head: roleBody,
    classes: fc.constantFrom("2", "[\"a\", \"b\", \"c\"]", "1", "none", "x"),
    input: fc.constantFrom("image(3, 16, 16)", "image(1, 8, 8) | gray_to_rgb", "volume(1, 4, 8, 8)", "image(3, 7, 9)"),
    stage: fc.constantFrom("freeze 1 lr 1e-3", "freeze backbone.0-2, head", "unfreeze all, epochs 2", "freeze backbone.a.1-0", "2", "freeze x.0-3.1"),
  })
  .map(
    (p) =>
      `let x = 3\ndef f(n) = ${p.f}\ndef blk(c=4, s=1) = ${p.blk}\nmodel m {\n  task classify(classes=${p.classes})\n  input ${p.input}\n  backbone ${p.backbone}\n  head ${p.head}\n  stage ${p.stage}\n}\n`,
  );

// ---------------------------------------------------------------------------------------------
// Mutations of real files: delete, insert, duplicate or swap token-sized slices.

const tokenPattern = /\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+|\.\.|\*\*|\/\/|[=!<>]=|[\s\S]/g;
const slices = (text: string): string[] => text.match(tokenPattern) ?? [];

type Mutation = { op: "delete" | "insert" | "duplicate" | "swap"; i: number; j: number; len: number; token: string };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("delete", "insert", "duplicate", "swap"),
  i: fc.nat(),
  j: fc.nat(),
  len: fc.integer({ min: 1, max: 4 }),
  token: tokenArb,
});

function mutate(text: string, mutations: readonly Mutation[]): string {
  let toks = slices(text);
  for (const m of mutations) {
    const n = toks.length;
    if (n === 0) {
      toks = [m.token];
      continue;
    }
    const i = m.i % n;
    const len = Math.min(m.len, n - i);
    if (m.op === "delete") toks = [...toks.slice(0, i), ...toks.slice(i + len)];
    else if (m.op === "insert") toks = [...toks.slice(0, i), m.token, ...toks.slice(i)];
    else if (m.op === "duplicate") toks = [...toks.slice(0, i + len), ...toks.slice(i, i + len), ...toks.slice(i + len)];
    else {
      const j = m.j % n;
      const [a, b] = i <= j ? [i, j] : [j, i];
      if (a + len <= b) toks = [...toks.slice(0, a), ...toks.slice(b, b + len), ...toks.slice(a + len, b), ...toks.slice(a, a + len), ...toks.slice(b + len)];
      else [toks[a], toks[b]] = [toks[b]!, toks[a]!];
    }
  }
  return toks.join("");
}

const exampleFiles = medgFiles(join(repo, "examples"));
const stdlibFiles = medgFiles(stdlibRoot);

/** A small model using each stdlib file's defs, appended so that mutations of the defs get evaluated. */
const stdlibProbes: Record<string, string> = {
  "resnet.medg": "backbone resnet(basic, [1, 1, 1, 1]) | head mlp(8)",
  "densenet.medg": "backbone densenet([1, 1, 1, 1], growth=4, init=8) | head mlp(8)",
  "efficientnet.medg": "backbone efficientnet(0.25, 0.1, 0.2, classes=3)",
  "convnext.medg": "backbone convnext([8, 16, 32, 64], [1, 1, 1, 1], 0.1, classes=3)",
  "swin.medg": "backbone swin(12, [1, 1, 1, 1], [1, 1, 1, 1], 0.1, window=1, classes=3)",
  "vit.medg": "backbone (a: vit(8, 1, 1, 16, 32, classes=3), b: deit(16, 1, 1, classes=3))",
  "conv_bn_act.medg": "backbone conv_bn_act(8) | conv_bn_act(8, s=2, act=none)",
  "squeeze_excitation.medg": "backbone conv(8, 1) | squeeze_excitation(make_divisible(4, d=2))",
  "transformer.medg": "backbone patch_embed(16, 4) | tv_mlp(32) | timm_mlp(8) | mhsa(2)",
  "mlp.medg": "backbone gap | head mlp(16, dropout2=.1)",
  "blocks.medg": "backbone small_cnn(widths=[4, 8]) | head classifier(dropout=.2)",
};
const probeFor = (file: string) => `\nmodel probe {\n  task classify(classes=3)\n  input image(3, 32, 32)\n  ${stdlibProbes[basename(file)] ?? "backbone relu"}\n}\n`;

/** Examples compile in place (their imports resolve); library files are compiled as a user file with a probe model. */
function mutatedCase(file: string, mutations: readonly Mutation[]): { text: string; file: string; root: string } {
  const original = diskText(file)!;
  if (inStdlib(file)) return { text: mutate(original, mutations) + probeFor(file), file: join(scratch, "lib", basename(file)), root: scratch };
  const isLibrary = !original.includes("model ");
  return { text: mutate(original, mutations) + (isLibrary ? probeFor(file) : ""), file, root: repo };
}

beforeAll(() => {
  // Warm the caches (stdlib prelude, JIT) so that timings measure steady state.
  for (const f of [...exampleFiles, ...stdlibFiles]) {
    const c = mutatedCase(f, []);
    compileFile(c.file, { root: c.root, text: c.text });
  }
  compileFile(FUZZ_FILE, { root: scratch, text: "x" });
});

describe("the compiler never throws, keeps spans inside the text and answers within 100 ms", () => {
  it("the unmutated examples and library probes compile cleanly", () => {
    expect(exampleFiles.length).toBeGreaterThan(5);
    expect(stdlibFiles.length).toBeGreaterThan(8);
    for (const f of [...exampleFiles, ...stdlibFiles]) {
      const c = mutatedCase(f, []);
      const r = compileFile(c.file, { root: c.root, text: c.text });
      expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => `${f}: ${d.code} ${d.message}`)).toEqual([]);
      check(c.text, c.file, c.root);
    }
  });

  it("random token streams over the language's alphabet", () => {
    fc.assert(
      fc.property(tokenStream(60), (text) => check(text)),
      { seed: SEED, numRuns: 500 },
    );
  });

  // Currently fails on the inverted span of an expression with a missing operand (see below).
  it("random token streams inside a model skeleton", () => {
    const skeleton = fc.tuple(tokenStream(15), tokenStream(15), tokenStream(8)).map(([a, b, c]) => `def f(c=8, s=1) = ${a}\nmodel m {\n  input image(3, 16, 16)\n  backbone ${b}\n  head ${c}\n}\n`);
    fc.assert(
      fc.property(skeleton, (text) => check(text)),
      { seed: SEED + 1, numRuns: 300 },
    );
  });

  // Currently fails on the residual of an empty tuple, which throws (see below).
  it("programs from a small expression grammar", () => {
    fc.assert(
      fc.property(program, (text) => check(text)),
      { seed: SEED + 2, numRuns: 400 },
    );
  });

  it("fully random unicode strings", () => {
    const anyUnit = fc.oneof(fc.constantFrom(...punctuation, ...hardKeywords, "\n", " "), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)));
    const text = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 100 }), fc.string({ unit: anyUnit, maxLength: 200 }));
    fc.assert(
      fc.property(text, (t) => check(t)),
      { seed: SEED + 3, numRuns: 300 },
    );
  });

  // Currently fails on the inverted span of an expression with a missing operand (see below).
  it("mutations of the examples", () => {
    fc.assert(
      fc.property(fc.constantFrom(...exampleFiles), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (file, mutations) => {
        const c = mutatedCase(file, mutations);
        check(c.text, c.file, c.root);
      }),
      { seed: SEED + 4, numRuns: 300 },
    );
  });

  it("mutations of the stdlib", () => {
    fc.assert(
      fc.property(fc.constantFrom(...stdlibFiles), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (file, mutations) => {
        const c = mutatedCase(file, mutations);
        check(c.text, c.file, c.root);
      }),
      { seed: SEED + 5, numRuns: 300 },
    );
  });
});

describe("inputs found to break the promise", () => {
  const nested: [string, string][] = [
    ["parentheses", `let x = ${"(".repeat(1000)}1${")".repeat(1000)}`],
    ["brackets", `let x = ${"[".repeat(1000)}${"]".repeat(1000)}`],
    ["unclosed parentheses", `def f = ${"(".repeat(1000)}`],
    ["unary minus", `let x = ${"-".repeat(5000)}1`],
    ["not", `let x = ${"not ".repeat(5000)}1`],
    ["powers", `let x = ${Array(3000).fill("2").join(" ** ")}`],
  ];
  for (const [what, text] of nested) {
    // Bug: the recursive-descent parser overflows the JavaScript stack (RangeError: Maximum call
    // stack size exceeded) on deeply nested input; 200 nested parentheses are enough.
    it(`deeply nested ${what} are a diagnostic, not a stack overflow`, () => {
      let result: CompileResult | undefined;
      expect(() => (result = compileFile(FUZZ_FILE, { root: scratch, text }))).not.toThrow();
      checkResult(text, FUZZ_FILE, result!);
    });
  }

  // Bug: residual reads the first output of its body or shortcut without checking there is one:
  // TypeError "Cannot read properties of undefined (reading 'type')" in ResidualBlock.apply.
  it("a residual whose body or shortcut gives no tensor is a diagnostic", () => {
    for (const backbone of ["residual(())", "residual(relu, shortcut = ())"]) {
      const text = `model m {\n  input image(3, 8, 8)\n  backbone ${backbone}\n}\n`;
      let result: CompileResult | undefined;
      expect(() => (result = compileFile(FUZZ_FILE, { root: scratch, text }))).not.toThrow();
      expect(result!.diagnostics.length).toBeGreaterThan(0);
    }
  });

  // Bug: an expression with a recovered (missing) operand has a span ending at offset 0.
  it("a diagnostic on an expression with a missing operand has a valid span", () => {
    const text = "model m {\n  input image(1, 8, 8)\n  backbone relu\n  loss a >=\n}\n";
    checkResult(text, FUZZ_FILE, compileFile(FUZZ_FILE, { root: scratch, text }));
  });

  it("after a failure on deep nesting, the next compile is unaffected", () => {
    try {
      compileFile(FUZZ_FILE, { root: scratch, text: `let x = ${"(".repeat(1000)}1${")".repeat(1000)}` });
    } catch {
      // the bug above
    }
    const r = compileFile(FUZZ_FILE, { root: scratch, text: "model m {\n  input image(3, 8, 8)\n  backbone conv(4, 3) | bn\n}\n" });
    expect(r.diagnostics).toEqual([]);
    expect([...r.models[0]!.graph.params.keys()]).toContain("backbone.1.running_var");
  });

  it("moderately nested input is fine", () => {
    check(`let x = ${"(".repeat(100)}1${")".repeat(100)}\nmodel m {\n  input image(3, 8, 8)\n  backbone conv(x, 1)\n}\n`);
  });
});
