import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CompileResult } from "../../src/compile.js";
import { EvalContext, limits } from "../../src/semantics/context.js";
import { Evaluator } from "../../src/semantics/evaluate.js";
import { frozenAfter } from "../../src/semantics/model.js";
import { Program } from "../../src/semantics/modules.js";
import { isPoison, type Val } from "../../src/semantics/values.js";
import { compileText, describeDiagnostics, errors } from "../helpers/compile.js";

const valuesDir = mkdtempSync(join(tmpdir(), "medg-values-"));
let valuesCounter = 0;

/**
 * Evaluates every top-level `let` of a text (defs and the stdlib visible), returning the values by
 * name and "code line:col message" for each diagnostic.
 */
function values(text: string): { v: Record<string, Val>; diagnostics: string[] } {
  const program = new Program({ root: valuesDir });
  const module = program.load(join(valuesDir, `v${valuesCounter++}.medg`), text);
  const ev = new Evaluator(new EvalContext());
  const v: Record<string, Val> = {};
  for (const item of module.parsed.module.items)
    if (item.kind === "let") v[item.binding.name] = ev.value({ kind: "name", name: item.binding.name, span: item.binding.nameSpan }, module.env);
  const diagnostics = [...module.diagnostics, ...ev.ctx.diagnostics].map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col} ${d.message}`);
  return { v, diagnostics };
}

/** The value of one expression; fails the test on any diagnostic. */
function value(expr: string, defs = ""): Val {
  const r = values(`${defs}\nlet __v = ${expr}`);
  expect(r.diagnostics).toEqual([]);
  return r.v["__v"]!;
}

/** The diagnostics of evaluating one expression. */
function valueErrors(expr: string, defs = ""): string[] {
  const r = values(`${defs}\nlet __v = ${expr}`);
  expect(isPoison(r.v["__v"])).toBe(true);
  return r.diagnostics;
}

/** Compiles `model m { body }` after some top-level text. */
function model(body: string, top = ""): CompileResult {
  return compileText(`${top ? `${top}\n` : ""}model m {\n${body}\n}\n`);
}

/** "name AxB" for each parameter and buffer of the first model. */
function params(r: CompileResult): string[] {
  return [...r.models[0]!.graph.params.values()].map((p) => `${p.name} ${p.shape.join("x")}`);
}

/** Parameter names of `backbone <expr>` on a 3x8x8 image; fails on any error. */
function names(expr: string, top = "", input = "image(3, 8, 8)"): string[] {
  const r = model(`  input ${input}\n  backbone ${expr}`, top);
  expect(describeDiagnostics(r)).toEqual([]);
  return [...r.models[0]!.graph.params.keys()].filter((n) => n.endsWith(".weight") || n.endsWith("class_token")).map((n) => n.replace(/\.weight$/, ""));
}

const outputs = (r: CompileResult) => r.models[0]!.graph.outputs.map((o) => o.type.shape.join("x"));

describe("parameter names", () => {
  it("a single block directly under a role is not numbered", () => {
    expect(names("conv(4, 3)")).toEqual(["backbone"]);
  });

  it("a label adds one level; a single block under it is not numbered", () => {
    expect(names("fc: conv(4, 3)")).toEqual(["backbone.fc"]);
    expect(names("a: (b: conv(4, 3))")).toEqual(["backbone.a.b"]);
  });

  it("members of a pipe of two or more are numbered by position; labelled members keep their label and their place", () => {
    expect(names("conv(4, 3) | bn | relu | conv(4, 1)")).toEqual(["backbone.0", "backbone.1", "backbone.3"]);
    expect(names("conv(4, 3) | a: bn | conv(4, 1)")).toEqual(["backbone.0", "backbone.a", "backbone.2"]);
  });

  it("a nested pipe is one numbered member with its own numbering", () => {
    expect(names("conv(4, 3) | (x: conv(4, 1) | relu | conv(4, 1)) | fc: linear(2)")).toEqual(["backbone.0", "backbone.1.x", "backbone.1.2", "backbone.fc"]);
  });

  it("a list is always numbered, even with one member", () => {
    expect(names("[conv(4, 3)]")).toEqual(["backbone.0"]);
    expect(names("features: [conv(4, 3), relu, conv(4, 1)]")).toEqual(["backbone.features.0", "backbone.features.2"]);
  });

  it("absent members are dropped before numbering", () => {
    expect(names("[conv(4, 3), bn if false, relu, conv(4, 3)]")).toEqual(["backbone.0", "backbone.2"]);
    expect(names("conv(4, 3) | bn if false | conv(4, 1)")).toEqual(["backbone.0", "backbone.1"]);
    expect(names("[conv(4, 3), none, conv(4, 1)]")).toEqual(["backbone.0", "backbone.1"]);
    // A pipe written with two members stays numbered when one is dropped, like a one-item nn.Sequential.
    expect(names("conv(4, 3) | bn if false")).toEqual(["backbone.0"]);
  });

  it("wiring takes no position: tap, expect_rank and expect_divisible leave the indices alone", () => {
    expect(names("[conv(4, 3), tap t, expect_rank(4), conv(4, 1), expect_divisible(4)]")).toEqual(["backbone.0", "backbone.1"]);
    expect(names("features: [conv(4, 3), tap c1, conv(4, 3, s=2), tap c2, conv(4, 1)]")).toEqual(["backbone.features.0", "backbone.features.1", "backbone.features.2"]);
  });

  it("residual is transparent: its parts name themselves in the enclosing scope", () => {
    const block = "def block = residual(conv1: conv(3, 3, bias=false) | bn1: bn | relu | conv2: conv(3, 3, bias=false) | bn2: bn) | relu";
    expect(names("layer1: [block, block]", block)).toEqual([
      "backbone.layer1.0.conv1",
      "backbone.layer1.0.bn1",
      "backbone.layer1.0.conv2",
      "backbone.layer1.0.bn2",
      "backbone.layer1.1.conv1",
      "backbone.layer1.1.bn1",
      "backbone.layer1.1.conv2",
      "backbone.layer1.1.bn2",
    ]);
  });

  it("a residual shortcut names itself beside the body", () => {
    expect(names("residual(conv1: conv(8, 3, s=2), shortcut = downsample: (conv(8, 1, s=2) | bn))")).toEqual(["backbone.conv1", "backbone.downsample.0", "backbone.downsample.1"]);
  });

  it("concat, add and tuples are transparent", () => {
    expect(names("concat(a: conv(4, 1), b: conv(6, 1)) | c: conv(2, 1)")).toEqual(["backbone.a", "backbone.b", "backbone.c"]);
    expect(names("add(a: conv(4, 1), b: conv(4, 1)) | mul(c: conv(4, 1), identity)")).toEqual(["backbone.a", "backbone.b", "backbone.c"]);
    expect(names("(a: conv(4, 1), b: conv(6, 1))")).toEqual(["backbone.a", "backbone.b"]);
  });

  it("an applied def is a module: numbered as a member, its parts inside it", () => {
    const blk = "def blk(c) = conv(c, 3) | bn";
    expect(names("stem: conv(4, 3) | blk(4) | blk(8)", blk)).toEqual(["backbone.stem", "backbone.1.0", "backbone.1.1", "backbone.2.0", "backbone.2.1"]);
    expect(names("blk(4)", blk)).toEqual(["backbone.0", "backbone.1"]);
    expect(names("x: blk(4)", blk)).toEqual(["backbone.x.0", "backbone.x.1"]);
    expect(names("[blk(4) for i in 0..2]", blk)).toEqual(["backbone.0.0", "backbone.0.1", "backbone.1.0", "backbone.1.1"]);
  });

  it("a def applied without arguments is a module too", () => {
    expect(names("conv(4, 3) | stem", "def stem = a: conv(4, 1) | relu")).toEqual(["backbone.0", "backbone.1.a"]);
  });

  it("string labels interpolate", () => {
    expect(names(`["layer{i + 1}": conv(4, 1) for i in 0..2]`)).toEqual(["backbone.layer1", "backbone.layer2"]);
  });

  it("a label must be letters, digits and underscores", () => {
    const r = model(`  input image(3, 8, 8)\n  backbone conv(4, 1) | "a.b": relu`);
    expect(describeDiagnostics(r)).toEqual(["MEDG213 3:25 label 'a.b' must consist of letters, digits and underscores"]);
  });

  it("an operator may own a parameter named after its scope", () => {
    expect(names("patch_embed(8, 4) | class_token: class_token", "", "image(3, 16, 16)")).toEqual(["backbone.0.proj", "backbone.class_token"]);
  });

  it("each role names its own parameters", () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(4, 3)\n  neck conv(4, 1)\n  decoder conv(4, 1)\n  head gap | linear(2)");
    expect(params(r)).toEqual(["backbone.weight 4x3x3x3", "backbone.bias 4", "neck.weight 4x4x1x1", "neck.bias 4", "decoder.weight 4x4x1x1", "decoder.bias 4", "head.1.weight 2x4", "head.1.bias 2"]);
  });
});

describe("duplicate parameter names (MEDG210)", () => {
  it("two blocks under the same label are an error that asks for a label and points at the first", () => {
    const r = model("  input image(3, 8, 8)\n  backbone x: conv(4, 3) | x: conv(4, 3)");
    const d = r.diagnostics.filter((x) => x.code === "MEDG210");
    expect(d.length).toBeGreaterThan(0);
    expect(d[0]!.message).toContain("parameter name 'backbone.x.weight' is already used by conv at line 3");
    expect(d[0]!.message).toContain("label");
    expect(d[0]!.span.start.col).toBe(31);
    expect(d[0]!.related?.[0]?.span.start.col).toBe(15);
    // The first keeps its name.
    expect(params(r)).toContain("backbone.x.weight 4x3x3x3");
  });

  it("a residual body without labels collides with the numbered block before it", () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(3, 3) | residual(conv(3, 3) | bn)");
    expect(r.diagnostics.map((d) => d.code)).toContain("MEDG210");
  });

  it("one colliding operator is one diagnostic, however many parameters it has", () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(3, 3) | x: bn | x: bn");
    expect(describeDiagnostics(r).filter((d) => d.startsWith("MEDG210"))).toHaveLength(1);
  });
});

describe("values", () => {
  it("// and % follow Python: floor division, the remainder takes the divisor's sign", () => {
    expect(value("[-7 // 2, 7 // -2, 7 // 2, -7 % 3, 7 % -3, 7 % 3, 7.5 // 2, -7.5 % 2, 10 % 3]")).toEqual([-4, -4, 3, 2, -2, 1, 3, 0.5, 1]);
  });

  it("/ is true division; ** is right-associative", () => {
    expect(value("[7 / 2, 2 ** 3 ** 2, -2 ** 2, 2 ** -1, 1 + 2 * 3]")).toEqual([3.5, 512, -4, 0.5, 7]);
  });

  it("division by zero is an error for /, // and %", () => {
    for (const e of ["1 / 0", "3 // 0", "5 % 0"]) expect(valueErrors(e)).toEqual([expect.stringMatching(/^MEDG213 .* division by zero$/)]);
  });

  it("and / or return an operand, as in Python", () => {
    expect(value(`[0 or "x", 3 and 4, 0 and 4, none or [], "" or 0, 1 or 2, [] and 5]`)).toEqual(["x", 4, 0, [], 0, 1, []]);
  });

  it("and / or short-circuit: the other operand is not evaluated", () => {
    expect(value("1 or nope")).toBe(1);
    expect(value("0 and nope")).toBe(0);
  });

  it("not, comparisons and equality of lists", () => {
    expect(value("[not 0, not [1], 1 < 2, 2 <= 1, [1, [2]] == [1, [2]], [1] != [1, 2], none == none, 1 == true]")).toEqual([true, false, true, false, true, true, true, false]);
  });

  it("+ joins strings and lists; list * n repeats", () => {
    expect(value(`["ab" + "cd", [1, 2] + [3], [1, 2] * 3, [0] * 0]`)).toEqual(["abcd", [1, 2, 3], [1, 2, 1, 2, 1, 2], []]);
  });

  it("indexing counts from the end with negative indices; out of range is an error", () => {
    expect(value(`[[1, 2, 3][0], [1, 2, 3][-1], "abc"[1]]`)).toEqual([1, 3, "b"]);
    expect(valueErrors("[1, 2][5]")).toEqual(["MEDG213 2:18 index 5 is out of range for list of length 2"]);
  });

  it("ranges exclude the end", () => {
    expect(value("[0..3, 2..2, 3..1]")).toEqual([[0, 1, 2], [], []]);
  });

  it("comprehensions with and without a filter", () => {
    expect(value("[x * x for x in 0..6 if x % 2 == 0]")).toEqual([0, 4, 16]);
    expect(value("[[i, j] for i in xs]", "let j = 9\nlet xs = [1, 2]")).toEqual([
      [1, 9],
      [2, 9],
    ]);
    expect(value("[i for i in []]")).toEqual([]);
  });

  it("strings interpolate values", () => {
    expect(value(`"x{1 + 2}y{[1, 2]}{'s'}"`)).toBe(`x3y[1, 2]s`);
  });

  it("cumsum starts at 0 and is one longer than its input", () => {
    expect(value("[cumsum([1, 2, 3]), cumsum([]), cumsum([2.5])]")).toEqual([[0, 1, 3, 6], [0], [0, 2.5]]);
  });

  it("round is half to even, like Python", () => {
    expect(value("[round(0.5), round(1.5), round(2.5), round(3.5), round(-1.5), round(2.6), round(-2.4)]")).toEqual([0, 2, 2, 4, -2, 3, -2]);
    expect(value("round(-2.5) == -2")).toBe(true);
  });

  it("int truncates toward zero", () => {
    expect(value("[int(2.7), int(-2.7), int(3)]")).toEqual([2, -2, 3]);
  });

  it("min, max, len, sum, range, str, abs, sqrt, ceil, floor", () => {
    expect(value(`[min(3, 1), max([4, 9, 2]), min([5]), len("abc"), len([1, 2]), sum([1, 2, 3]), sum([])]`)).toEqual([1, 9, 5, 3, 2, 6, 0]);
    expect(value("[range(3), range(2, 10, 3), range(5, 0, -2)]")).toEqual([
      [0, 1, 2],
      [2, 5, 8],
      [5, 3, 1],
    ]);
    expect(value(`[str(3), str("a"), abs(-3), sqrt(16), ceil(1.2), floor(-1.2)]`)).toEqual(["3", "a", 3, 4, 2, -2]);
  });

  it("builtins reject arguments they cannot use", () => {
    expect(valueErrors("len(5)")).toEqual([expect.stringMatching(/^MEDG213 .*len/)]);
    expect(valueErrors("min([])")).toEqual([expect.stringMatching(/^MEDG213 /)]);
    expect(valueErrors("range(1, 2, 0)")).toEqual([expect.stringMatching(/^MEDG213 .*step/)]);
  });

  it("operators reject mismatched operands", () => {
    expect(valueErrors(`1 + "a"`)).toEqual([`MEDG213 2:11 cannot apply '+' to int 1 and string "a"`]);
    expect(valueErrors("-[1]")).toEqual(["MEDG213 2:11 cannot negate list [1]"]);
  });

  it("an unknown name is MEDG201 with a did-you-mean fix", () => {
    const r = values("let width = 3\nlet x = wdth + 1");
    expect(r.diagnostics).toEqual(["MEDG201 2:9 unknown name 'wdth' (did you mean 'width'?)"]);
  });

  it("a let defined in terms of itself is an error, not a hang", () => {
    const r = values("let a = b\nlet b = a + 1");
    expect(r.diagnostics).toEqual([expect.stringMatching(/^MEDG213 .*defined in terms of itself/)]);
  });

  it("a def whose body is a value is a function; defaults may use earlier parameters", () => {
    const defs = "def width(c, m) = int(c * m)\ndef f(a, b=a * 2) = a + b";
    expect(value("width(64, 0.5)", defs)).toBe(32);
    expect(value("f(3)", defs)).toBe(9);
    expect(value("f(3, 1)", defs)).toBe(4);
    expect(value("f(b=1, a=2)", defs)).toBe(3);
    expect(value("f(3) == 9 and f(1) + 1 == 4", defs)).toBe(true);
  });

  // Bug: a def call inside a list literal or a comprehension stays an unevaluated call, so
  // `[f(3)] == [3]` is false and sum/max/cumsum reject the list ("got list [f(n=1), f(n=2)]").
  it("def calls inside lists and comprehensions are values", () => {
    const defs = "def f(n) = n * 2";
    expect(value("[f(1), f(2)]", defs)).toEqual([2, 4]);
    expect(value("[f(3)] == [6]", defs)).toBe(true);
    expect(value("sum([f(i) for i in 0..3])", defs)).toBe(6);
    expect(value("max([make_divisible(c) for c in [30, 10]])")).toBe(32);
  });

  it("a def checks its arguments", () => {
    const defs = "def f(a, b=1) = a + b";
    expect(valueErrors("f()", defs)).toEqual([expect.stringMatching(/^MEDG204 .*needs argument 'a'/)]);
    expect(valueErrors("f(1, 2, 3)", defs)).toEqual([expect.stringMatching(/^MEDG204 .*takes 2 arguments/)]);
    expect(valueErrors("f(1, c=2)", defs)).toEqual([expect.stringMatching(/^MEDG202 .*no argument 'c'/)]);
    expect(valueErrors("f(1, a=2)", defs)).toEqual([expect.stringMatching(/^MEDG204 .*given twice/)]);
  });

  it("stdlib value defs are callable: make_divisible", () => {
    expect(value("make_divisible(30)")).toBe(32);
    expect(value("make_divisible(10)")).toBe(16);
    expect(value("make_divisible(32 * 1.1)")).toBe(32);
  });

  it("a let prefix binds inside its expression only", () => {
    expect(value("let w = 4 w * 2")).toBe(8);
    expect(valueErrors("(let w = 4 w) + w")).toEqual([expect.stringMatching(/^MEDG201 .*unknown name 'w'/)]);
  });
});

describe("in: the tensor entering a def", () => {
  const probes = ["c", "d", "h", "w", "last", "rank"].map((f) => `def p_${f} = linear(in.${f})`).join("\n") + "\ndef p_shape = linear(sum(in.shape) * 10 + len(in.shape))";

  it("a volume has c, d, h, w, last, rank and shape (without the batch)", () => {
    const r = model("  input volume(2, 3, 4, 5)\n  backbone (c: p_c, d: p_d, h: p_h, w: p_w, last: p_last, rank: p_rank, shape: p_shape)", probes);
    expect(describeDiagnostics(r)).toEqual([]);
    const outs = Object.fromEntries(params(r).filter((p) => p.includes(".weight")).map((p) => [p.split(".")[1], Number(p.split(" ")[1]!.split("x")[0])]));
    expect(outs).toEqual({ c: 2, d: 3, h: 4, w: 5, last: 5, rank: 5, shape: 144 });
    expect(outputs(r)).toHaveLength(7);
  });

  it("an image has no depth", () => {
    const r = model("  input image(2, 4, 5)\n  backbone p_d", probes);
    expect(describeDiagnostics(r)).toEqual(["MEDG213 2:21 `in.d` is not defined for a tensor of rank 4"]);
  });

  it("after pooling, in.c and in.last are the channels", () => {
    const r = model("  input image(6, 4, 4)\n  backbone gap | (c: p_c, last: p_last)", probes);
    expect(params(r).filter((p) => p.includes("weight"))).toEqual(["backbone.c.weight 6x6", "backbone.last.weight 6x6"]);
  });

  it("defaults may refer to in", () => {
    const r = model("  input image(6, 8, 8)\n  backbone widen", "def widen(c=in.c * 2) = conv(c, 1)");
    expect(params(r)).toEqual(["backbone.weight 12x6x1x1", "backbone.bias 12"]);
  });

  it("in outside a def applied to a tensor is an error", () => {
    const r = model("  input image(6, 8, 8)\n  backbone conv(in.c, 1)");
    expect(describeDiagnostics(r)).toEqual(["MEDG201 3:17 `in` is only available inside a def that is applied to a tensor"]);
  });

  it("an unknown field names the fields there are", () => {
    const r = model("  input image(6, 8, 8)\n  backbone f", "def f = conv(in.channels, 1)");
    expect(errors(r)[0]!.message).toContain("fields: c, d, h, w, last, rank, shape");
  });
});

describe("taps, branches and multi-output", () => {
  it("a tap in the backbone is reachable from later roles", () => {
    const r = model("  input image(3, 8, 8)\n  backbone c1: conv(4, 3) | tap early | c2: conv(8, 3, s=2)\n  head from early | c: conv(2, 1)");
    expect(describeDiagnostics(r)).toEqual([]);
    expect(params(r)).toContain("head.c.weight 2x4x1x1");
  });

  it("a tuple gives several outputs; concat joins them", () => {
    const r = model("  input image(3, 8, 8)\n  backbone c1: conv(4, 3) | tap early | c2: conv(8, 3, s=2)\n  neck (from early, up: upsample(2))\n  head concat | c3: conv(2, 1)");
    expect(describeDiagnostics(r)).toEqual([]);
    expect(r.models[0]!.roles.find((x) => x.role === "neck")!.outputs.map((o) => o.type.shape.join("x"))).toEqual(["Nx4x8x8", "Nx8x8x8"]);
    expect(params(r)).toContain("head.c3.weight 2x12x1x1");
    expect(outputs(r)).toEqual(["Nx2x8x8"]);
  });

  it("a multi-output role can be the model's output", () => {
    const r = model("  input image(1, 2, 5)\n  backbone (a: linear(3), b: linear(4))");
    expect(outputs(r)).toEqual(["Nx1x2x3", "Nx1x2x4"]);
    expect(params(r)).toEqual(["backbone.a.weight 3x5", "backbone.a.bias 3", "backbone.b.weight 4x5", "backbone.b.bias 4"]);
  });

  // Bug: a tuple that is a def's body (or a let's value) is applied as a sequence, each branch to
  // the previous branch's output, instead of each branch to the same input.
  it("a tuple as a def body is parallel branches, like a tuple written in the role", () => {
    const r = model("  input image(1, 2, 5)\n  backbone two", "def two = (a: linear(3), b: linear(4))");
    expect(outputs(r)).toEqual(["Nx1x2x3", "Nx1x2x4"]);
    expect(params(r)).toContain("backbone.b.weight 4x5");
  });

  it("an operator given a multi-output input says how many it got", () => {
    const r = model("  input image(3, 8, 8)\n  backbone (a: conv(4, 1), b: conv(8, 1)) | identity");
    expect(describeDiagnostics(r)).toEqual([expect.stringMatching(/^MEDG307 3:.* identity expects 1 input, got 2/)]);
  });

  it("an unknown tap is MEDG205 and lists the taps defined so far", () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(4, 3) | tap early | conv(8, 3)\n  head from eraly");
    expect(describeDiagnostics(r)).toEqual(["MEDG205 4:8 unknown tap 'eraly'; taps defined so far: early"]);
  });

  it("taps belong to their model", () => {
    const r = compileText("model a {\n  input image(3, 8, 8)\n  backbone conv(4, 3) | tap t\n}\nmodel b {\n  input image(3, 8, 8)\n  backbone from t | conv(4, 1)\n}\n");
    expect(describeDiagnostics(r)).toEqual(["MEDG205 7:12 unknown tap 't'; no tap has been defined before this point"]);
  });

  it("a from before any tap says so", () => {
    const r = model("  input image(3, 8, 8)\n  backbone from nowhere | conv(4, 1)");
    expect(errors(r)[0]!.message).toContain("no tap has been defined before this point");
  });
});

describe("residual", () => {
  it("adds the body to the input", () => {
    const r = model("  input image(4, 8, 8)\n  backbone residual(conv(4, 3) | bn)");
    expect(describeDiagnostics(r)).toEqual([]);
    expect(r.models[0]!.graph.nodes.map((n) => n.op)).toContain("add");
  });

  it("a shape mismatch without a shortcut suggests a projection", () => {
    const r = model("  input image(3, 8, 8)\n  backbone residual(conv(5, 1))");
    expect(describeDiagnostics(r)).toEqual([
      "MEDG305 3:12 residual adds its body's output [N, 5, 8, 8] from backbone to the shortcut (the block's input) [N, 3, 8, 8]; their shapes differ (add a shortcut projection such as `shortcut = conv(c, 1, s=s) | bn`)",
    ]);
  });

  it("a shape mismatch with a shortcut names both sides", () => {
    const r = model("  input image(3, 8, 8)\n  backbone residual(a: conv(3, 1, s=2), shortcut = b: conv(3, 1))");
    expect(describeDiagnostics(r)).toEqual(["MEDG305 3:12 residual adds its body's output [N, 3, 4, 4] from backbone.a to the shortcut [N, 3, 8, 8] from backbone.b; their shapes differ"]);
  });

  it("residual checks its arguments", () => {
    expect(errors(model("  input image(3, 8, 8)\n  backbone residual(relu, relu, relu)"))[0]!.code).toBe("MEDG204");
    expect(errors(model("  input image(3, 8, 8)\n  backbone residual(relu, shortcat = relu)"))[0]!.message).toContain("did you mean 'shortcut'");
  });
});

describe("conditionals", () => {
  it("without else, a false condition leaves the block out", () => {
    expect(names("conv(4, 3) | bn if false | relu")).toEqual(["backbone.0"]);
    expect(names("conv(4, 3) | bn if true | relu")).toEqual(["backbone.0", "backbone.1"]);
  });

  it("with else, one branch is chosen while the model is built", () => {
    const def = "def blk(use_bn) = conv(4, 3) | (bn if use_bn else gn(2))";
    const r1 = model("  input image(3, 8, 8)\n  backbone blk(true)", def);
    const r2 = model("  input image(3, 8, 8)\n  backbone blk(false)", def);
    expect(r1.models[0]!.graph.nodes.map((n) => n.op)).toContain("bn");
    expect(r2.models[0]!.graph.nodes.map((n) => n.op)).toContain("gn");
  });

  it("a role whose whole block is absent passes its input through", () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(4, 3) if false\n  head conv(2, 1)");
    expect(describeDiagnostics(r)).toEqual([]);
    expect(params(r)).toEqual(["head.weight 2x3x1x1", "head.bias 2"]);
  });

  it("the shortcut of torchvision's BasicBlock appears only when the shape changes", () => {
    const r = model("  input image(3, 32, 32)\n  backbone resnet18");
    const p = [...r.models[0]!.graph.params.keys()];
    expect(p).toContain("backbone.layer2.0.downsample.0.weight");
    expect(p.some((n) => n.startsWith("backbone.layer1.0.downsample"))).toBe(false);
  });
});

describe("task_classes()", () => {
  it("is 2 when the model has no task", () => {
    const r = model("  input image(3, 8, 8)\n  backbone gap\n  head linear(task_classes())");
    expect(params(r)).toEqual(["head.weight 2x3", "head.bias 2"]);
  });

  it("counts the classes of task classify(classes=[...])", () => {
    const r = model(`  task classify(classes=["a", "b", "c"])\n  input image(3, 8, 8)\n  backbone gap\n  head linear(task_classes())`);
    expect(params(r)).toEqual(["head.weight 3x3", "head.bias 3"]);
  });

  it("takes a class count as written", () => {
    const r = model("  task classify(classes=5)\n  input image(3, 8, 8)\n  backbone gap\n  head linear(task_classes())");
    expect(params(r)).toEqual(["head.weight 5x3", "head.bias 5"]);
  });

  it("reaches stdlib heads through their defaults", () => {
    const r = model(`  task classify(classes=["a", "b", "c", "d"])\n  input image(3, 8, 8)\n  backbone gap\n  head mlp(16)`);
    // expect_rank takes no position: drop 0, linear 1, act 2, drop 3, linear 4.
    expect(params(r)).toContain("head.4.weight 4x16");
  });
});

describe("stages", () => {
  const body = [
    "  input image(3, 8, 8)",
    "  backbone features: [conv(4, 3), relu, conv(4, 3), relu, conv(4, 1)] | gap",
    "  head fc: linear(2)",
  ].join("\n");
  const stagesOf = (r: CompileResult) => r.models[0]!.plan.stages.map((x) => ({ name: x.name, freeze: x.freeze, unfreeze: x.unfreeze, epochs: x.epochs, lr: x.lr }));
  const trainable = (r: CompileResult) => {
    const m = r.models[0]!;
    const all = [...m.graph.params.keys()].filter((n) => n.endsWith(".weight"));
    return frozenAfter(m.plan.stages, m.graph).map((frozen) => all.filter((n) => !frozen.has(n)).map((n) => n.replace(/\.weight$/, "")));
  };

  it("freeze 5 freezes the backbone for 5 epochs; stages are cumulative until unfrozen", () => {
    const r = model(
      [
        body,
        "  stage warm: freeze 5 lr 1e-3",
        "  stage mid: unfreeze backbone.features.4, epochs 2",
        "  stage late: freeze head",
        "  stage all: unfreeze, batch 8, schedule cosine",
      ].join("\n"),
    );
    expect(describeDiagnostics(r)).toEqual([]);
    expect(stagesOf(r)).toEqual([
      { name: "warm", freeze: ["backbone"], unfreeze: [], epochs: 5, lr: 0.001 },
      { name: "mid", freeze: [], unfreeze: ["backbone.features.4"], epochs: 2, lr: null },
      { name: "late", freeze: ["head"], unfreeze: [], epochs: null, lr: null },
      { name: "all", freeze: [], unfreeze: ["all"], epochs: null, lr: null },
    ]);
    expect(r.models[0]!.plan.stages[3]!.batch).toBe(8);
    expect(r.models[0]!.plan.stages[3]!.schedule?.name).toBe("cosine");
    expect(trainable(r)).toEqual([["head.fc"], ["backbone.features.4", "head.fc"], ["backbone.features.4"], ["backbone.features.0", "backbone.features.2", "backbone.features.4", "head.fc"]]);
  });

  it("unnamed stages are numbered", () => {
    const r = model(`${body}\n  stage 3\n  stage 4`);
    expect(stagesOf(r).map((x) => [x.name, x.epochs])).toEqual([
      ["stage1", 3],
      ["stage2", 4],
    ]);
  });

  it("a range target expands to each index", () => {
    const r = model("  input image(3, 8, 8)\n  backbone features: [conv(4, 3), conv(4, 3), conv(4, 1)]\n  stage freeze backbone.features.0-1");
    expect(describeDiagnostics(r)).toEqual([]);
    expect(stagesOf(r)[0]!.freeze).toEqual(["backbone.features.0", "backbone.features.1"]);
    expect(trainable(r)).toEqual([["backbone.features.2"]]);
  });

  // Bug: each index of a range without parameters (a relu between convs) is an error, so
  // torchvision-style ranges such as `features.0-5` cannot be written.
  it("a range over layers without parameters freezes the layers that have them", () => {
    const r = model(`${body}\n  stage freeze backbone.features.0-3`);
    expect(describeDiagnostics(r)).toEqual([]);
    expect(trainable(r)).toEqual([["backbone.features.4", "head.fc"]]);
  });

  // Bug: a reversed range (from > to) freezes nothing and says nothing.
  it("a reversed range is reported", () => {
    const r = model(`${body}\n  stage freeze backbone.features.4-0`);
    expect(errors(r).length).toBeGreaterThan(0);
  });

  // Bug: one MEDG403 per index of the range (10000 for `0-99999999`, 10201 for `0-100.0-100`,
  // and a nested wide range such as `0-99999999.0-99999999` exhausts the heap).
  it("a range naming no parameters is one diagnostic, without expanding it", { timeout: 5000 }, () => {
    const r = model(`${body}\n  stage freeze backbone.features.0-99999999.0-99999999`);
    expect(r.diagnostics.filter((d) => d.code === "MEDG403")).toHaveLength(1);
  });

  it("an unknown target is MEDG403 with a did-you-mean fix", () => {
    const r = model(`${body}\n  stage freeze backbone.featurs`);
    const [d] = errors(r);
    expect(d!.code).toBe("MEDG403");
    expect(d!.message).toBe("stage target 'backbone.featurs' names no parameters (did you mean 'backbone.features'?)");
    expect(d!.fixes?.[0]?.edits[0]?.text).toBe("backbone.features");
  });

  it("freeze without a target needs a backbone", () => {
    const r = model("  input image(3, 8, 8)\n  head gap | linear(2)\n  stage freeze 3");
    expect(describeDiagnostics(r)).toEqual([expect.stringMatching(/^MEDG404 4:9 `freeze` without a target freezes the backbone/)]);
    expect(stagesOf(r)[0]!.epochs).toBe(3);
  });

  it("checks epochs, batch and lr", () => {
    const r = model(`${body}\n  stage epochs 2.5\n  stage lr -1\n  stage batch 0`);
    expect(r.diagnostics.filter((d) => d.code === "MEDG203").map((d) => d.span.start.line)).toEqual([5, 6, 7]);
  });

  it("the compact form builds the same plan as the long form", () => {
    const compact = compileText("model m {\n  input image(3, 8, 8)\n  backbone conv(4, 3) | head gap | linear(2) | stage freeze 5 lr 1e-3\n}");
    expect(describeDiagnostics(compact)).toEqual([]);
    expect(stagesOf(compact)).toEqual([{ name: "stage1", freeze: ["backbone"], unfreeze: [], epochs: 5, lr: 0.001 }]);
    expect(trainable(compact)).toEqual([["head.1"]]);
  });
});

describe("one mistake, one diagnostic", () => {
  it("an unknown name inside a def used twice is reported once", () => {
    const r = model("  input image(3, 8, 8)\n  backbone blk(4) | blk(8)", "def blk(c) = conv(c, 3) | bnn");
    expect(describeDiagnostics(r)).toEqual(["MEDG201 1:27 unknown name 'bnn' (did you mean 'bn'?)"]);
  });

  it("a failed backbone does not make the head fail again", () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(8, 3) | unknwn\n  head mlp(16)");
    expect(describeDiagnostics(r)).toEqual(["MEDG201 3:25 unknown name 'unknwn'"]);
    expect(r.models[0]!.complete).toBe(false);
  });

  // Bug: a policy statement whose expression did not parse is also MEDG401 ("expected a loss such
  // as `focal(gamma=2)`, got an expression"), on top of the syntax error.
  it("a policy statement with a syntax error is not checked again", () => {
    const r = model("  input image(1, 8, 8)\n  backbone relu\n  loss a >=");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG101"]);
  });
});

describe("evaluation limits", () => {
  it("a def recursing without end is one MEDG212", () => {
    const blocks = ["def f(n) = conv(4, 1) | f(n)", "def f(n) = [f(n)]", "def f(n) = residual(f(n))", "def f(n) = a: f(n)"];
    for (const def of blocks) expect(model("  input image(3, 8, 8)\n  backbone f(1)", def).diagnostics.map((d) => d.code)).toEqual(["MEDG212"]);
    const values = ["def f(n) = f(n) + 1", `def f(n) = "{f(n)}"`, "def f(n) = len(f(n))"];
    for (const def of values) expect(model("  input image(3, 8, 8)\n  backbone conv(f(1), 1)", def).diagnostics.map((d) => d.code)).toEqual(["MEDG212"]);
  });

  // Bug: cumsum copies its accumulator for every element (quadratic): 20000 items take seconds.
  // Linear is a few milliseconds; the quadratic bug took seconds, which the timeout catches.
  it("cumsum of a long list is linear", { timeout: 3000 }, () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(len(cumsum(0..20000)), 1)");
    expect(r.diagnostics).toEqual([]);
    expect(r.models[0]!.graph.params.get("backbone.weight")?.shape[0]).toBe(20001); // ranges include their end
  });

  // Bug: the step budget counts expressions, not the size of the lists they build, so a short
  // text can allocate 10^7 list items before anything stops it.
  it("building many large lists is stopped by the budget", { timeout: 5000 }, () => {
    const r = model("  input image(3, 8, 8)\n  backbone conv(len([len(0..100000) for i in 0..100000]), 1)");
    expect(r.diagnostics.map((d) => d.code)).toContain("MEDG212");
  });

  // The budget is a step count (a few times what the largest stdlib model needs), so a def that
  // fans out exponentially stops after a bounded amount of work; timing itself is the bench's job.
  it("a def that fans out exponentially is stopped by the step budget", () => {
    const r = model("  input image(3, 8, 8)\n  backbone f(40)", "def f(n) = [f(n - 1), f(n - 1)] if n > 0 else relu");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG212"]);
    expect(limits.steps).toBeLessThanOrEqual(100_000);
    for (const name of ["efficientnet_b3", "densenet169", "resnet101"])
      expect(model(`  input image(3, 224, 224)\n  backbone ${name}(classes=1000)`).diagnostics).toEqual([]);
  });
});
