import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { format, MedgSyntaxError, plugin } from "../../src/format/index.js";
import { comments, expectGuarantees, parseOk, prettierFormat, program } from "./helpers.js";

const root = join(import.meta.dirname, "../..");

function medgFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? medgFiles(p) : p.endsWith(".medg") ? [p] : [];
  });
}

const shipped = [...medgFiles(join(root, "stdlib")), ...medgFiles(join(root, "examples"))];

/** `text` formats to `expected` (and `expected` is stable). */
async function formatsTo(text: string, expected: string, options: { printWidth?: number } = {}): Promise<void> {
  const out = await format(text, options);
  expect(out).toBe(expected);
  expect(await format(out, options)).toBe(out);
}

describe("the stdlib and the examples", () => {
  it("finds the files", () => {
    expect(shipped.length).toBeGreaterThan(15);
  });

  for (const file of shipped) {
    const name = file.slice(root.length + 1);
    it(`${name} is formatted`, async () => {
      const text = readFileSync(file, "utf8");
      expect(await format(text, { filepath: file })).toBe(text);
    });
    it(`${name} keeps its program, comments and layout at other widths`, async () => {
      const text = readFileSync(file, "utf8");
      for (const printWidth of [40, 60, 80, 120]) await expectGuarantees(text, { printWidth });
    });
  }
});

describe("layout", () => {
  it("keeps a short def on one line and breaks a long body after `=`", async () => {
    await formatsTo("def f = a | b | c", "def f = a | b | c\n");
    await formatsTo(
      "def f = conv1: conv(64, 7, s=2, bias=false) | bn1: bn | relu | maxpool: maxpool(3, s=2, p=1) | layer1: res_layer(block, 64, layers[0], 1)",
      `def f =
  conv1: conv(64, 7, s=2, bias=false)
  | bn1: bn
  | relu
  | maxpool: maxpool(3, s=2, p=1)
  | layer1: res_layer(block, 64, layers[0], 1)
`,
    );
  });

  it("hangs a pipe that follows a statement word", async () => {
    await formatsTo(
      "model m {\n  augment rotate(180) | flip(both) | brightness(.1) | contrast(.1) | random_resized_crop(224, scale=[.7, 1])\n}",
      `model m {
  augment rotate(180)
    | flip(both)
    | brightness(.1)
    | contrast(.1)
    | random_resized_crop(224, scale=[.7, 1])
}
`,
    );
  });

  it("breaks long argument lists one per line with a trailing comma", async () => {
    await formatsTo(
      'let x = classify(classes=["epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural"], multilabel=true)',
      `let x = classify(
  classes=["epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural"],
  multilabel=true,
)
`,
    );
  });

  it("breaks lists and comprehensions inside their brackets", async () => {
    await formatsTo(
      "let table = [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 2, 40, 2], [6, 3, 2, 80, 3], [6, 5, 1, 112, 3]]",
      `let table = [
  [1, 3, 1, 16, 1],
  [6, 3, 2, 24, 2],
  [6, 5, 2, 40, 2],
  [6, 3, 2, 80, 3],
  [6, 5, 1, 112, 3],
]
`,
    );
    await formatsTo(
      "def f(n) = [mbconv(c, row[0], row[1], row[2] if j == 0 else 1, sd * (first + j) / total, something_else) for j in 0..n if j % 2 == 0]",
      `def f(n) =
  [
    mbconv(c, row[0], row[1], row[2] if j == 0 else 1, sd * (first + j) / total, something_else)
    for j in 0..n
    if j % 2 == 0
  ]
`,
    );
  });

  it("puts each `let` prefix on its own line before the body", async () => {
    await formatsTo("def f(c) = let w = c * 4  let v = w + 1 conv(w, 1) | bn", "def f(c) =\n  let w = c * 4\n  let v = w + 1\n  conv(w, 1) | bn\n");
  });

  it("lays out `else` chains and binary operators breaking before the operator", async () => {
    await formatsTo(
      "def f(x) = very_long_function_name(x, 1) if x == 0 else other_long_function_name(x, 2) if x == 1 else third_function(x)",
      `def f(x) =
  very_long_function_name(x, 1) if x == 0
    else other_long_function_name(x, 2) if x == 1
    else third_function(x)
`,
    );
    await formatsTo("let x = aaaa + bbbb * cccc - dddd", "let x =\n  aaaa\n    + bbbb * cccc\n    - dddd\n", { printWidth: 20 });
  });

  it("keeps a compact model line that fits and splits one that does not, statement by statement", async () => {
    await formatsTo(
      "model m { input image(1, 2, 3)\n backbone a | head b | stage freeze 5 lr 1e-3 }",
      "model m {\n  input image(1, 2, 3)\n  backbone a | head b | stage freeze 5, lr 1e-3\n}\n",
    );
    const long = "model m {\n  backbone efficientnet_b0(classes=1000, pretrained=true) | head mlp(512, dropout=.3, act=gelu) | stage freeze 5 lr 1e-3\n}";
    const out = await format(long);
    expect(out).toBe(
      "model m {\n  backbone efficientnet_b0(classes=1000, pretrained=true)\n  head mlp(512, dropout=.3, act=gelu)\n  stage freeze 5, lr 1e-3\n}\n",
    );
    expect(program(parseOk(out))).toEqual(program(parseOk(long)));
  });

  it("drops `;` between statements", async () => {
    await formatsTo("model m { input x; backbone y; }", "model m {\n  input x\n  backbone y\n}\n");
  });

  it("separates stage clauses with commas and lines up consecutive named stages", async () => {
    await formatsTo(
      "model m {\n  stage warmup: freeze backbone epochs 5 lr 1e-3\n  stage finetune:   unfreeze all, epochs 30, lr 3e-5, schedule cosine\n  stage 10\n\n  stage x: lr 1\n}",
      `model m {
  stage warmup:   freeze backbone, epochs 5, lr 1e-3
  stage finetune: unfreeze all, epochs 30, lr 3e-5, schedule cosine
  stage 10

  stage x: lr 1
}
`,
    );
  });

  it("keeps a freeze clause's paths and epoch count on its line", async () => {
    await formatsTo(
      "model m {\n  stage top: unfreeze backbone.encoder.layers.encoder_layer_11, backbone.features.0 - 5, epochs 5, lr 1e-4 freeze head 3\n}",
      `model m {
  stage top:
    unfreeze backbone.encoder.layers.encoder_layer_11, backbone.features.0-5,
    epochs 5,
    lr 1e-4,
    freeze head 3
}
`,
    );
  });

  it("keeps numbers and strings as written", async () => {
    await formatsTo(
      `let x = [.3, 1e-3, 2.5E+2, 0.5e1, -3, - 3, 'single', "esc\\"q", "a{i + 1}{{x}}", "a{ i+1 }"]`,
      `let x = [.3, 1e-3, 2.5E+2, 0.5e1, -3, -3, 'single', "esc\\"q", "a{i + 1}{{x}}", "a{ i+1 }"]\n`,
    );
  });

  it("prints labels as `name: expr`, string labels as written", async () => {
    await formatsTo(`def f = "layer{i}" :conv(3) | 'x':relu | head :  linear(10)`, `def f = "layer{i}": conv(3) | 'x': relu | head: linear(10)\n`);
  });

  it("keeps the author's parentheses and adds only the needed ones", async () => {
    await formatsTo("let x = (a + b) * c + (d) - -(e) + (-3) ** 2", "let x = (a + b) * c + (d) - -(e) + (-3) ** 2\n");
    const bare = "let x = (a + b) * c - (d - e) + (-3) ** 2 + (not a) == b\nlet y = x | (head) | (a | b) | (n: a) if c\nlet z = (a,)\n";
    const out = await prettierFormat(bare, { medgKeepParentheses: false });
    expect(out).toBe("let x = (a + b) * c - (d - e) + (-3) ** 2 + (not a) == b\nlet y = x | (head) | (a | b) | (n: a) if c\nlet z = (a,)\n");
  });

  it("keeps at most one empty line between items and statements", async () => {
    await formatsTo(
      "def a = 1\n\n\n\ndef b = 2\ndef c = 3\nmodel m {\n\n  input x\n\n\n  loss ce\n\n}\n",
      "def a = 1\n\ndef b = 2\ndef c = 3\nmodel m {\n  input x\n\n  loss ce\n}\n",
    );
  });

  it("formats empty files and empty things", async () => {
    await formatsTo("", "");
    await formatsTo("\n\n", "");
    await formatsTo("model m {}\nlet e = []\nlet t = ()\ndef f() = g()", "model m {}\nlet e = []\nlet t = ()\ndef f() = g()\n");
  });

  it("writes LF line endings", async () => {
    await formatsTo("# c\r\ndef f = 1\r\n", "# c\ndef f = 1\n");
  });

  it("honours printWidth", async () => {
    const text = "def f = [alpha, beta, gamma, delta]\n";
    expect(await format(text)).toBe(text);
    expect(await format(text, { printWidth: 20 })).toBe("def f =\n  [\n    alpha,\n    beta,\n    gamma,\n    delta,\n  ]\n");
  });
});

describe("comments", () => {
  it("keeps every comment, with `##` docs right above their def or model", async () => {
    const text = `# file

## doc of f
def f(a, # a
  b) = # eq
  a | # pipe
  b
# own



## doc of m
model m { # open
  input x # in


  # before loss
  loss ce
  # end
}
# tail
`;
    const out = await expectGuarantees(text);
    expect(out).toBe(`# file

## doc of f
def f(
  a, # a
  b,
) =
  # eq
  a
  # pipe
  | b
# own

## doc of m
model m {
  # open
  input x # in

  # before loss
  loss ce
  # end
}
# tail
`);
    const m = parseOk(out);
    expect(m.items.map((i) => ("doc" in i ? i.doc : undefined))).toEqual(["doc of f", "doc of m"]);
  });

  it("never lets two comments end up on one line", async () => {
    // Both comments end the same printed line unless one moves to its own line.
    const text = "let v = (a # x\n).b # y\nlet w = f(a.b # p\n, c)\n";
    const out = await expectGuarantees(text);
    expect(comments(parseOk(out))).toEqual(["# p", "# x", "# y"]);
    expect(out).toBe("let v = (a).b # x\n# y\nlet w = f(\n  a.b, # p\n  c,\n)\n");
  });

  it("keeps comments between the clauses of a stage without breaking its line rules", async () => {
    const text = "model m {\n  stage x: freeze a, # after a\n    b 5, # after count\n    lr 1e-3\n  # last\n}\n";
    const out = await expectGuarantees(text);
    expect(out).toBe("model m {\n  stage x:\n    freeze a, b 5, # after a\n    # after count\n    lr 1e-3\n  # last\n}\n");
  });

  it("splits a compact line whose middle statement has a comment, keeping the statements", async () => {
    const text = "model m {\n  backbone a # why a\n  | head b | stage freeze 5 # all\n}\n";
    const out = await expectGuarantees(text);
    expect(out).toBe("model m {\n  backbone a # why a\n  head b\n  stage freeze 5 # all\n}\n");
  });

  it("trims trailing whitespace of comments", async () => {
    await formatsTo("def f = 1 #  note   \n", "def f = 1 #  note\n");
  });

  it("keeps an undocumented def undocumented when a `##` comment moves above it", async () => {
    // `## tail` follows code, so it documents nothing; printed on its own line above the def it
    // would, and an empty line keeps it apart.
    const text = "## doc\nmodel a { ## tail\n  def b = 1\n}\nlet z = [a,\n  ## inner\n]\n## g's doc\ndef g = 1\n";
    const out = await expectGuarantees(text);
    expect(out).toBe("## doc\nmodel a {\n  ## tail\n\n  def b = 1\n}\nlet z = [\n  a,\n  ## inner\n]\n## g's doc\ndef g = 1\n");
    expect(parseOk(out).items.map((i) => ("doc" in i ? i.doc : undefined))).toEqual(["doc", undefined, "g's doc"]);
  });

  it("refuses to move a def that shares its line and its doc with another statement", async () => {
    // Both `input x` and `def f` start on the line below `## d`; the parser gives the def that
    // doc, which it would lose on a line of its own.
    const text = "model m {\n  ## d\n  input x; def f = 1\n}\n";
    expect(parseOk(text).items[0]).toMatchObject({ statements: [{ kind: "input" }, { kind: "def", doc: "d" }] });
    await expect(format(text)).rejects.toThrow(/not formatted: the result would not mean the same program/);
  });
});

describe("errors and the prettier plugin", () => {
  it("throws a prettier-style syntax error with a location", async () => {
    const err = await format("def f = (1\nlet x = ", { filepath: "bad.medg" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MedgSyntaxError);
    const e = err as MedgSyntaxError;
    expect(e.loc.start.line).toBeGreaterThan(0);
    expect(e.message).toMatch(/MEDG101/);
  });

  it("reports syntax errors through prettier with a code frame", async () => {
    const err = (await prettier.format("model m {\n  input image(1, 2\n}\n", { parser: "medg", plugins: [plugin] }).catch((e: unknown) => e)) as Error & {
      loc?: unknown;
      codeFrame?: string;
    };
    expect(err.loc).toBeDefined();
    expect(String(err.message)).toMatch(/\(3:1\)/);
  });

  it("is found by prettier for .medg files, with printWidth 100 by default", async () => {
    const info = await prettier.getFileInfo("x.medg", { plugins: [plugin] });
    expect(info.inferredParser).toBe("medg");
    const line = `def f = g(${"a, ".repeat(28)}b)\n`; // 98 characters
    expect(line.length).toBeLessThanOrEqual(101);
    expect(await prettier.format(line, { filepath: "x.medg", plugins: [plugin] })).toBe(line);
  });
});
