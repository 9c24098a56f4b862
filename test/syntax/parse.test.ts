import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type * as A from "../../src/syntax/ast.js";
import { Lexer } from "chevrotain";
import { parse } from "../../src/syntax/parse.js";
import type { Span } from "../../src/syntax/span.js";
import { allTokens, lexerOptions } from "../../src/syntax/tokens.js";

const FILE = "t.medg";

/** Parses text that must be free of diagnostics. */
function ok(text: string): A.Module {
  const r = parse(text, FILE);
  expect(r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([]);
  return r.module;
}

function diags(text: string): string[] {
  return parse(text, FILE).diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col}`);
}

/** The expression of `let x = src`. */
function expr(src: string): A.Expr {
  const item = ok(`let x = ${src}`).items[0]!;
  if (item.kind !== "let") throw new Error(`expected a let, got ${item.kind}`);
  return item.binding.value;
}

/** The statements of `model m { body }`. */
function statements(body: string): A.ModelStmt[] {
  const item = ok(`model m {\n${body}\n}`).items[0]!;
  if (item.kind !== "model") throw new Error(`expected a model, got ${item.kind}`);
  return item.statements;
}

/** A compact, precedence-revealing rendering of an expression (S-expression style). */
function show(e: A.Expr | A.StringLit): string {
  switch (e.kind) {
    case "number":
      return e.text;
    case "string":
      return e.parts.every((p) => typeof p === "string") ? JSON.stringify(e.parts.join("")) : `(str ${e.parts.map((p) => (typeof p === "string" ? JSON.stringify(p) : show(p))).join(" ")})`;
    case "bool":
      return String(e.value);
    case "none":
      return "none";
    case "name":
      return e.name;
    case "in":
      return "in";
    case "list":
      return `[${e.items.map(show).join(" ")}]`;
    case "tuple":
      return `(tuple${e.items.map((i) => ` ${show(i)}`).join("")})`;
    case "comprehension":
      return `(for ${show(e.body)} ${e.variable} ${show(e.iterable)}${e.condition ? ` if ${show(e.condition)}` : ""})`;
    case "call":
      return `(call ${show(e.callee)}${e.args.map((a) => ` ${a.name !== undefined ? `${a.name}=` : ""}${show(a.value)}`).join("")})`;
    case "member":
      return `(. ${show(e.object)} ${e.name})`;
    case "index":
      return `(idx ${show(e.object)} ${show(e.index)})`;
    case "unary":
      return `(${e.op} ${show(e.operand)})`;
    case "binary":
      return `(${e.op} ${show(e.left)} ${show(e.right)})`;
    case "conditional":
      return `(if ${show(e.then)} ${show(e.condition)}${e.otherwise ? ` ${show(e.otherwise)}` : ""})`;
    case "pipe":
      return `(| ${e.stages.map(show).join(" ")})`;
    case "labelled":
      return `(: ${typeof e.label === "string" ? e.label : show(e.label)} ${show(e.body)})`;
    case "tap":
      return `(tap ${e.name})`;
    case "from":
      return `(from ${e.name})`;
    case "let":
      return `(let ${e.bindings.map((b) => `${b.name}=${show(b.value)}`).join(" ")} ${show(e.body)})`;
    case "missing":
      return "?";
  }
}

const s = (src: string) => show(expr(src));

/** The source text a span covers. */
function textOf(text: string, span: Span): string {
  return text.slice(span.start.offset, span.end.offset);
}

const at = (span: Span) => `${span.start.line}:${span.start.col}-${span.end.line}:${span.end.col}`;

describe("expressions: precedence and associativity", () => {
  it("arithmetic binds as in Python", () => {
    expect(s("1 + 2 * 3")).toBe("(+ 1 (* 2 3))");
    expect(s("1 - 2 - 3")).toBe("(- (- 1 2) 3)");
    expect(s("a * b // c % d / e")).toBe("(/ (% (// (* a b) c) d) e)");
    expect(s("(1 + 2) * 3")).toBe("(* (+ 1 2) 3)");
  });

  it("** is right-associative and binds tighter than unary minus on its left", () => {
    expect(s("2 ** 3 ** 2")).toBe("(** 2 (** 3 2))");
    expect(s("-2 ** 2")).toBe("(- (** 2 2))");
    expect(s("2 ** -1")).toBe("(** 2 -1)");
    expect(s("a * b ** c")).toBe("(* a (** b c))");
  });

  it("unary minus applies to a whole postfix chain; a negated literal is folded", () => {
    expect(s("-x.y")).toBe("(- (. x y))");
    expect(s("- f(1)[0]")).toBe("(- (idx (call f 1) 0))");
    const n = expr("-3");
    expect(n).toMatchObject({ kind: "number", value: -3, text: "-3" });
  });

  it("not binds looser than comparison, and/or in the usual order", () => {
    expect(s("not a == b")).toBe("(not (== a b))");
    expect(s("a and not b or c")).toBe("(or (and a (not b)) c)");
    expect(s("a or b and c")).toBe("(or a (and b c))");
    expect(s("not not a")).toBe("(not (not a))");
  });

  it("ranges bind looser than arithmetic and tighter than comparison", () => {
    expect(s("1 .. n + 1")).toBe("(.. 1 (+ n 1))");
    expect(s("0..n")).toBe("(.. 0 n)");
    expect(s("a .. b == c")).toBe("(== (.. a b) c)");
  });

  it("comparisons do not chain", () => {
    expect(s("a <= b")).toBe("(<= a b)");
    expect(diags("let x = a < b < c\nlet y = 1")).toEqual(["MEDG101 1:15"]);
    expect(parse("let x = a < b < c\nlet y = 1", FILE).module.items.map((i) => i.kind)).toEqual(["let", "let"]);
  });

  it("call, member and index chain left to right", () => {
    expect(s("f(x).y[0](z=1)")).toBe("(call (idx (. (call f x) y) 0) z=1)");
    expect(s("in.c * 2")).toBe("(* (. in c) 2)");
    expect(s("xs[-1]")).toBe("(idx xs -1)");
  });

  it("a conditional binds tighter than |: only the member it follows is conditional", () => {
    expect(s("a | b if c | d")).toBe("(| a (if b c) d)");
    expect(s("conv | bn if use_bn | relu")).toBe("(| conv (if bn use_bn) relu)");
    // The else branch is a conditional, not a pipe: `| d` belongs to the outer pipe.
    expect(s("a if c else b | d")).toBe("(| (if a c b) d)");
    expect(s("a if c else (b | d)")).toBe("(if a c (| b d))");
  });

  it("conditionals nest to the right in else; the condition is an or-expression", () => {
    expect(s("x if c else y if d else z")).toBe("(if x c (if y d z))");
    expect(s("a if b or c else d")).toBe("(if a (or b c) d)");
    expect(s("a if b")).toBe("(if a b)");
  });

  it("a label covers one pipe element, including its conditional", () => {
    expect(s("n: a if c | b")).toBe("(| (: n (if a c)) b)");
    expect(s("conv1: conv(64, 3) | bn1: bn | relu")).toBe("(| (: conv1 (call conv 64 3)) (: bn1 bn) relu)");
    expect(s("downsample: (conv(c, 1) | bn)")).toBe("(: downsample (| (call conv c 1) bn))");
  });

  it("a label cannot label a label", () => {
    expect(diags("def d = a: b: c\ndef e = relu")).toEqual(["MEDG101 1:13"]);
  });

  it("a statement word followed by ':' after | is a label, not a new statement", () => {
    expect(s("x | head: linear(10)")).toBe("(| x (: head (call linear 10)))");
    expect(s("x | backbone: y | loss: z")).toBe("(| x (: backbone y) (: loss z))");
  });

  it("soft keywords are ordinary names outside statement position", () => {
    expect(s("f(loss=ce, lr=.1, epochs=3)")).toBe("(call f loss=ce lr=.1 epochs=3)");
    const m = ok("let lr = 1e-3\ndef head(classes) = linear(classes)\ndef stage = backbone | freeze");
    expect(m.items.map((i) => (i.kind === "let" ? i.binding.name : i.kind === "def" ? i.name : i.kind))).toEqual(["lr", "head", "stage"]);
    expect(show((m.items[2] as A.DefStmt).body)).toBe("(| backbone freeze)");
  });

  it("keywords are whole words", () => {
    expect(s("model_id + inx + iffy + not_a")).toBe("(+ (+ (+ model_id inx) iffy) not_a)");
  });
});

describe("expressions: literals and brackets", () => {
  it("reads numbers in every documented form", () => {
    const values = ["3", "224", "2.5", ".3", "1e-3", "2.5E+2", "0.5e1"].map((t) => expr(t));
    expect(values.map((v) => (v.kind === "number" ? v.value : null))).toEqual([3, 224, 2.5, 0.3, 0.001, 250, 5]);
    expect(values.map((v) => (v.kind === "number" ? v.text : null))).toEqual(["3", "224", "2.5", ".3", "1e-3", "2.5E+2", "0.5e1"]);
  });

  it("after a value a dot is a member dot, never the start of a number", () => {
    expect(s("3.e5")).toBe("(. 3 e5)");
    expect(diags("let a = x.0\nlet b = 1")).toEqual(["MEDG101 1:11"]);
    expect(diags("let a = f(x).3\nlet b = 1")).toEqual(["MEDG101 1:14"]);
  });

  it("reads strings with escapes and either quote", () => {
    expect(s(String.raw`"a\"b\n\t\\"`)).toBe(JSON.stringify('a"b\n\t\\'));
    expect(s(`'it"s'`)).toBe(JSON.stringify('it"s'));
    expect(s(`""`)).toBe(`""`);
  });

  it("interpolates {expr} in strings; {{ and }} are braces; a lone { is literal", () => {
    expect(s(`"features.denseblock{b}.denselayer{i + 1}"`)).toBe(`(str "features.denseblock" b ".denselayer" (+ i 1))`);
    expect(s(`"a {{literal}} brace"`)).toBe(`"a {literal} brace"`);
    expect(s(`"x{f('y')}"`)).toBe(`(str "x" (call f "y"))`);
    expect(s(`"open { only"`)).toBe(`"open { only"`);
    expect(s(`"{a if b else c}"`)).toBe(`(str (if a b c))`);
  });

  it("reports an interpolation that is not an expression (MEDG105) at the inner text", () => {
    const r = parse(`let g = "x{1 +}y"`, FILE);
    expect(r.diagnostics.map((d) => `${d.code} ${at(d.span)}`)).toEqual(["MEDG105 1:12-1:15"]);
    expect(parse(`let e = "a{}b"`, FILE).diagnostics.map((d) => d.code)).toEqual(["MEDG105"]);
  });

  it("reads true, false, none and in", () => {
    expect(s("[true, false, none, in]")).toBe("[true false none in]");
  });

  it("parentheses group; a comma makes a tuple, as in Python", () => {
    expect(s("(x)")).toBe("x");
    expect(s("((x))")).toBe("x");
    expect(s("()")).toBe("(tuple)");
    expect(s("(a, b)")).toBe("(tuple a b)");
    expect(s("(x,)")).toBe("(tuple x)");
    expect(s("(a, b,)")).toBe("(tuple a b)");
    expect(s("(a | b, c)")).toBe("(tuple (| a b) c)");
  });

  it("lists, trailing commas, and comprehensions with and without a filter", () => {
    expect(s("[]")).toBe("[]");
    expect(s("[1, 2,]")).toBe("[1 2]");
    expect(s("[[1], [2, 3]]")).toBe("[[1] [2 3]]");
    expect(s("[x * x for x in 0..n]")).toBe("(for (* x x) x (.. 0 n))");
    expect(s("[a | b for x in xs if x > 1]")).toBe("(for (| a b) x xs if (> x 1))");
    expect(s("[block(c, 2 if i == 0 else 1) for i in 0..n]")).toBe("(for (call block c (if 2 (== i 0) 1)) i (.. 0 n))");
    expect(s("[f(i) for i in xs if i % 2 == 0 and i > 0]")).toBe("(for (call f i) i xs if (and (== (% i 2) 0) (> i 0)))");
  });

  it("calls take positional and keyword arguments, and a trailing comma", () => {
    const e = expr("conv(64, 3, s=2, bias=false,)");
    expect(show(e)).toBe("(call conv 64 3 s=2 bias=false)");
    if (e.kind !== "call") throw new Error("not a call");
    expect(e.args.map((a) => a.name)).toEqual([undefined, undefined, "s", "bias"]);
    expect(s("f()")).toBe("(call f)");
    expect(s("f(a=b | c)")).toBe("(call f a=(| b c))");
  });

  it("tap and from name the current tensor", () => {
    expect(s("conv(8, 3) | tap c3 | from c3")).toBe("(| (call conv 8 3) (tap c3) (from c3))");
    expect(s("(from early, up: upsample(2))")).toBe("(tuple (from early) (: up (call upsample 2)))");
  });

  it("a let prefix scopes over the whole expression after it", () => {
    expect(s("let w = c * 4  conv(w, 1) | bn")).toBe("(let w=(* c 4) (| (call conv w 1) bn))");
    expect(s("let a = 1 let b = a + 1 f(a, b)")).toBe("(let a=1 b=(+ a 1) (call f a b))");
  });
});

describe("labels", () => {
  it("a string label without interpolation is a plain label", () => {
    const e = expr(`"plain": h`);
    expect(e).toMatchObject({ kind: "labelled", label: "plain", body: { kind: "name", name: "h" } });
  });

  it("a string label with interpolation keeps its parts", () => {
    const e = expr(`"denselayer{i + 1}": dense_layer(32)`);
    if (e.kind !== "labelled") throw new Error("not labelled");
    expect(typeof e.label).toBe("object");
    expect(show(e)).toBe(`(: (str "denselayer" (+ i 1)) (call dense_layer 32))`);
  });

  it("the label span covers the label token", () => {
    const text = `let x = a | "layer{i}": relu | conv1: conv(8, 3)`;
    const e = (parse(text, FILE).module.items[0] as A.LetStmt).binding.value;
    if (e.kind !== "pipe") throw new Error("not a pipe");
    const [, l1, l2] = e.stages as [A.Expr, A.Labelled, A.Labelled];
    expect(textOf(text, l1.labelSpan)).toBe(`"layer{i}"`);
    expect(textOf(text, l2.labelSpan)).toBe("conv1");
    expect(textOf(text, l2.span)).toBe("conv1: conv(8, 3)");
  });
});

describe("top-level items", () => {
  it("parses imports, defs, lets and models in order", () => {
    const m = ok(`import "lib/blocks.medg"\ndef f = relu\nlet n = 3\nmodel m { backbone f }`);
    expect(m.items.map((i) => i.kind)).toEqual(["import", "def", "let", "model"]);
    expect(m.items[0]).toMatchObject({ kind: "import", path: "lib/blocks.medg" });
  });

  it("import paths are taken literally, with escapes but no interpolation", () => {
    const m = ok(String.raw`import "a{b}\"c.medg"`);
    expect((m.items[0] as A.ImportStmt).path).toBe('a{b}"c.medg');
  });

  it("a def has parameters with defaults that may use earlier ones", () => {
    const d = ok("def basic(c, s=1, w=c * 2) = conv(w, 3, s=s)").items[0] as A.DefStmt;
    expect(d.name).toBe("basic");
    expect(d.params.map((p) => [p.name, p.default ? show(p.default) : null])).toEqual([
      ["c", null],
      ["s", "1"],
      ["w", "(* c 2)"],
    ]);
    expect(show(d.body)).toBe("(call conv w 3 s=s)");
  });

  it("a def may have no parameter list, an empty one, or a trailing comma", () => {
    const m = ok("def a = relu\ndef b() = relu\ndef c(x, y,) = x");
    expect(m.items.map((i) => (i as A.DefStmt).params.map((p) => p.name))).toEqual([[], [], ["x", "y"]]);
  });

  it("a def body may span several lines", () => {
    const d = ok("def f(c) =\n  residual(\n    conv(c, 3)\n    | bn,\n    shortcut = conv(c, 1)\n  ) | relu").items[0] as A.DefStmt;
    expect(show(d.body)).toBe("(| (call residual (| (call conv c 3) bn) shortcut=(call conv c 1)) relu)");
  });

  it("## lines directly above a def or model are its documentation", () => {
    const m = ok(
      [
        "# an ordinary comment",
        "## A 3x3 convolution, batch norm and ReLU.",
        "##   Used by every stage.",
        "def cbr(c) = conv(c, 3) | bn | relu   # trailing",
        "",
        "## Not attached: a blank line follows.",
        "",
        "def plain = relu",
        "## The model.",
        "model m {",
        "  ## Inner.",
        "  def z = relu",
        "  backbone z",
        "}",
      ].join("\n"),
    );
    const [cbr, plain, model] = m.items as [A.DefStmt, A.DefStmt, A.ModelDecl];
    expect(cbr.doc).toBe("A 3x3 convolution, batch norm and ReLU.\n  Used by every stage.");
    expect(plain.doc).toBeUndefined();
    expect(model.doc).toBe("The model.");
    expect((model.statements[0] as A.DefStmt).doc).toBe("Inner.");
  });

  // Bug: a `##` comment at the end of a code line becomes the doc of the def on the next line.
  it("a ## comment after code on the line above is not documentation", () => {
    const m = ok("def x = relu ## note about x\ndef y = bn");
    expect((m.items[1] as A.DefStmt).doc).toBeUndefined();
  });

  it("keeps every comment with its text and position", () => {
    const text = "# header\ndef f = relu # after f\nmodel m {\n  backbone f ## not a doc\n}\n# end";
    const m = ok(text);
    expect(m.comments.map((c) => [c.text, at(c.span)])).toEqual([
      ["# header", "1:1-1:9"],
      ["# after f", "2:14-2:23"],
      ["## not a doc", "4:14-4:26"],
      ["# end", "6:1-6:6"],
    ]);
  });

  it("a # inside a string is not a comment", () => {
    const m = ok(`let s = "a # b" # c`);
    expect(show((m.items[0] as A.LetStmt).binding.value)).toBe(`"a # b"`);
    expect(m.comments.map((c) => c.text)).toEqual(["# c"]);
  });
});

describe("model statements", () => {
  it("input keeps its pipe of input handling", () => {
    const [input] = statements("input image(1, 224, 224) | gray_to_rgb");
    expect(input!.kind).toBe("input");
    expect(show((input as A.InputStmt).value)).toBe("(| (call image 1 224 224) gray_to_rgb)");
  });

  it("roles: backbone, neck, decoder, head, each with its expression", () => {
    const st = statements("backbone resnet50\nneck fpn(256)\ndecoder up | conv(8, 3)\nhead mlp(512, dropout=.3)");
    expect(st.map((x) => (x.kind === "role" ? `${x.role} ${show(x.value)}` : x.kind))).toEqual([
      "backbone resnet50",
      "neck (call fpn 256)",
      "decoder (| up (call conv 8 3))",
      "head (call mlp 512 dropout=.3)",
    ]);
  });

  it("policy statements; metrics take a comma list, loss a weighted sum, augment a pipe", () => {
    const st = statements(
      [
        `task classify(classes=["a", "b"])`,
        "loss 0.5*dice + 0.5*ce",
        "optimizer adamw(weight_decay=1e-4)",
        "schedule cosine",
        "augment rotate(15) | flip(h)",
        "normalize zscore(per_image)",
        `data csv("x.csv")`,
        "metrics accuracy, auroc(average=macro), f1",
        "epochs 30",
        "batch 16",
        "seed 7",
      ].join("\n"),
    );
    expect(st.map((x) => (x.kind === "policy" ? `${x.keyword}: ${x.values.map(show).join(", ")}` : x.kind))).toEqual([
      `task: (call classify classes=["a" "b"])`,
      "loss: (+ (* 0.5 dice) (* 0.5 ce))",
      "optimizer: (call adamw weight_decay=1e-4)",
      "schedule: cosine",
      "augment: (| (call rotate 15) (call flip h))",
      "normalize: (call zscore per_image)",
      `data: (call csv "x.csv")`,
      "metrics: accuracy, (call auroc average=macro), f1",
      "epochs: 30",
      "batch: 16",
      "seed: 7",
    ]);
  });

  it("let and def inside a model body", () => {
    const st = statements("let w = 64\ndef blk = conv(w, 3)\nbackbone blk");
    expect(st.map((x) => x.kind)).toEqual(["let", "def", "role"]);
  });

  it("the compact form: | before a statement word splits the line into statements", () => {
    const st = statements("input image(1, 224, 224)\nbackbone efficientnet_b0 | head mlp(512, dropout=.3) | stage freeze 5 lr 1e-3");
    expect(st.map((x) => x.kind)).toEqual(["input", "role", "role", "stage"]);
    expect(show((st[1] as A.RoleStmt).value)).toBe("efficientnet_b0");
    expect(show((st[2] as A.RoleStmt).value)).toBe("(call mlp 512 dropout=.3)");
    const stage = st[3] as A.StageStmt;
    expect(stage.clauses.map((c) => c.kind)).toEqual(["freeze", "epochs", "lr"]);
  });

  it("| followed by anything else continues the pipe", () => {
    const st = statements("input image(1, 8, 8) | gray_to_rgb | input_norm");
    expect(st).toHaveLength(1);
    expect(show((st[0] as A.InputStmt).value)).toBe("(| (call image 1 8 8) gray_to_rgb input_norm)");
  });

  it("; separates statements on one line", () => {
    const st = statements("input image(1, 8, 8); backbone relu; head linear(2);");
    expect(st.map((x) => x.kind)).toEqual(["input", "role", "role"]);
  });

  it("a role word inside an expression (not after |) is an ordinary name", () => {
    const st = statements("backbone f(head=3) | g(loss)");
    expect(show((st[0] as A.RoleStmt).value)).toBe("(| (call f head=3) (call g loss))");
  });
});

describe("stage statements", () => {
  /** Clauses rendered as text; paths as written. */
  const clauses = (st: A.StageStmt) =>
    st.clauses.map((c) =>
      "targets" in c
        ? `${c.kind} ${c.targets.map((t) => t.segments.map((g) => g.name ?? (g.to !== undefined ? `${g.index}-${g.to}` : String(g.index))).join(".")).join(",")}`.trim()
        : `${c.kind} ${show(c.value)}`,
    );

  it("a named stage with comma-separated clauses", () => {
    const [st] = statements("stage warmup:   freeze backbone, epochs 5,  lr 1e-3") as [A.StageStmt];
    expect(st.name).toBe("warmup");
    expect(clauses(st)).toEqual(["freeze backbone", "epochs 5", "lr 1e-3"]);
  });

  it("every clause kind; a bare number is the epoch count", () => {
    const [st] = statements("stage unfreeze all, 30, lr 3e-5, schedule cosine(warmup=2), optimizer sgd(lr=0.1), batch 8") as [A.StageStmt];
    expect(st.name).toBeUndefined();
    expect(clauses(st)).toEqual(["unfreeze all", "epochs 30", "lr 3e-5", "schedule (call cosine warmup=2)", "optimizer (call sgd lr=0.1)", "batch 8"]);
  });

  it("freeze N is freeze then the epochs; a path-less freeze is allowed", () => {
    const [st] = statements("stage freeze 5 lr 1e-3") as [A.StageStmt];
    expect(clauses(st)).toEqual(["freeze", "epochs 5", "lr 1e-3"]);
    const [st2] = statements("stage freeze backbone.layer4 3") as [A.StageStmt];
    expect(clauses(st2)).toEqual(["freeze backbone.layer4", "epochs 3"]);
  });

  it("lr accepts a number written with a leading dot", () => {
    const [st] = statements("stage lr .001 epochs 2") as [A.StageStmt];
    expect(clauses(st)).toEqual(["lr .001", "epochs 2"]);
  });

  it("label paths: names, indices, integer ranges, spaces around . and -", () => {
    const [st] = statements("stage freeze backbone.features.0-5, features.1-3.0, features.1.0.block, head . 2 - 4 . x") as [A.StageStmt];
    expect(clauses(st)).toEqual(["freeze backbone.features.0-5,features.1-3.0,features.1.0.block,head.2-4.x"]);
    const path = (st.clauses[0] as { targets: A.LabelPath[] }).targets[1]!;
    expect(path.segments.map((g) => ({ name: g.name, index: g.index, to: g.to }))).toEqual([
      { name: "features", index: undefined, to: undefined },
      { name: undefined, index: 1, to: 3 },
      { name: undefined, index: 0, to: undefined },
    ]);
  });

  it("a comma before a clause word ends the path list", () => {
    const [st] = statements("stage freeze a, b, lr 1e-3") as [A.StageStmt];
    expect(clauses(st)).toEqual(["freeze a,b", "lr 1e-3"]);
  });

  it("a stage ends at the end of its line, so a policy statement may follow it", () => {
    const st = statements("stage warm: freeze backbone, epochs 5\nepochs 30\nstage freeze\nbatch 4\nstage 3");
    expect(st.map((x) => (x.kind === "policy" ? x.keyword : x.kind))).toEqual(["stage", "epochs", "stage", "batch", "stage"]);
    expect(clauses(st[0] as A.StageStmt)).toEqual(["freeze backbone", "epochs 5"]);
    expect(clauses(st[2] as A.StageStmt)).toEqual(["freeze"]);
  });

  it("a trailing comma carries the stage onto the next line", () => {
    const st = statements("stage warm: freeze backbone, epochs 5,\n      lr 1e-3\nepochs 30");
    expect(st.map((x) => x.kind)).toEqual(["stage", "policy"]);
    expect(clauses(st[0] as A.StageStmt)).toEqual(["freeze backbone", "epochs 5", "lr 1e-3"]);
  });

  it("stages on one line separated by ;", () => {
    const st = statements("stage unfreeze backbone.layer4, head lr 1e-4; stage 10");
    expect(st.map((x) => clauses(x as A.StageStmt))).toEqual([["unfreeze backbone.layer4,head", "lr 1e-4"], ["epochs 10"]]);
  });
});

describe("spans", () => {
  const text = [
    "def basic(c, s=1) =",
    "  residual(",
    "    conv1: conv(c, 3, s=s) | bn,",
    "    shortcut = conv(c, 1) if s != 1",
    "  ) | relu",
    "model m {",
    "  input image(1, 8, 8)",
    "  stage warm: freeze backbone.features.0-5, epochs 5",
    "}",
  ].join("\n");
  const m = parse(text, FILE).module;
  const def = m.items[0] as A.DefStmt;
  const model = m.items[1] as A.ModelDecl;

  it("has no diagnostics", () => {
    expect(parse(text, FILE).diagnostics).toEqual([]);
  });

  it("a def: its name, parameters, body", () => {
    expect(at(def.nameSpan)).toBe("1:5-1:10");
    expect(def.params.map((p) => textOf(text, p.span))).toEqual(["c", "s=1"]);
    expect(at(def.span)).toBe("1:1-5:11");
    expect(textOf(text, def.body.span)).toBe(text.slice(text.indexOf("residual("), text.length).split("\nmodel")[0]);
  });

  it("calls, arguments, labels and conditionals cover their text", () => {
    const pipe = def.body as A.Pipe;
    const call = pipe.stages[0] as A.Call;
    expect(at(call.span)).toBe("2:3-5:4");
    const [body, shortcut] = call.args as [A.Arg, A.Arg];
    expect(textOf(text, body.value.span)).toBe("conv1: conv(c, 3, s=s) | bn");
    expect(textOf(text, shortcut.nameSpan!)).toBe("shortcut");
    expect(textOf(text, shortcut.value.span)).toBe("conv(c, 1) if s != 1");
    const cond = shortcut.value as A.Conditional;
    expect(textOf(text, cond.condition.span)).toBe("s != 1");
    expect(at(cond.condition.span)).toBe("4:30-4:36");
    const conv1 = (body.value as A.Pipe).stages[0] as A.Labelled;
    expect(at(conv1.labelSpan)).toBe("3:5-3:10");
    const inner = conv1.body as A.Call;
    expect(textOf(text, inner.args[2]!.span)).toBe("s=s");
    expect(textOf(text, inner.args[2]!.nameSpan!)).toBe("s");
  });

  it("a model, its name, statements, stage clauses and path segments", () => {
    expect(at(model.nameSpan)).toBe("6:7-6:8");
    expect(at(model.span)).toBe("6:1-9:2");
    const stage = model.statements[1] as A.StageStmt;
    expect(textOf(text, stage.span)).toBe("stage warm: freeze backbone.features.0-5, epochs 5");
    expect(at(stage.nameSpan!)).toBe("8:9-8:13");
    const freeze = stage.clauses[0] as { targets: A.LabelPath[]; span: Span };
    expect(textOf(text, freeze.span)).toBe("freeze backbone.features.0-5");
    expect(textOf(text, freeze.targets[0]!.span)).toBe("backbone.features.0-5");
    expect(freeze.targets[0]!.segments.map((g) => textOf(text, g.span))).toEqual(["backbone", "features", "0-5"]);
    expect(textOf(text, stage.clauses[1]!.span)).toBe("epochs 5");
  });

  it("interpolated expressions carry spans into the enclosing file", () => {
    const src = `let a = 1\nlet s = "dl{i + 1}x{j}"`;
    const str = (parse(src, FILE).module.items[1] as A.LetStmt).binding.value as A.StringLit;
    const parts = str.parts.filter((p): p is A.Expr => typeof p !== "string");
    expect(parts.map((p) => `${textOf(src, p.span)} ${at(p.span)}`)).toEqual(["i + 1 2:13-2:18", "j 2:21-2:22"]);
  });

  it("a binary span starts at its first token and ends at its last", () => {
    const src = "let x = a * b +\n  c";
    const v = (parse(src, FILE).module.items[0] as A.LetStmt).binding.value;
    expect(textOf(src, v.span)).toBe("a * b +\n  c");
    expect(at(v.span)).toBe("1:9-2:4");
  });

  // Bug: a binary or postfix span starts inside a parenthesised left operand.
  it("an expression whose first operand is parenthesised covers the parenthesis", () => {
    const src = "let x = (a + b) * c\nlet y = (f).g[0](1)";
    const [x, y] = parse(src, FILE).module.items as [A.LetStmt, A.LetStmt];
    expect(textOf(src, x.binding.value.span)).toBe("(a + b) * c");
    expect(textOf(src, y.binding.value.span)).toBe("(f).g[0](1)");
  });

  it("every node of every example and stdlib file lies inside its parent and the text", () => {
    const files = [...medgFiles(join(root, "examples")), ...medgFiles(join(root, "stdlib"))];
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const src = readFileSync(f, "utf8");
      const r = parse(src, f);
      expect(r.diagnostics).toEqual([]);
      const problems: string[] = [];
      const visit = (node: unknown, parent: Span | null, path: string) => {
        if (Array.isArray(node)) return node.forEach((n, i) => visit(n, parent, `${path}[${i}]`));
        if (!node || typeof node !== "object") return;
        const o = node as Record<string, unknown>;
        const span = o["span"] as Span | undefined;
        let here = parent;
        if (span && typeof span === "object" && "start" in span) {
          const { start, end } = span;
          if (!(0 <= start.offset && start.offset <= end.offset && end.offset <= src.length)) problems.push(`${path}: ${start.offset}-${end.offset}`);
          if (parent && (start.offset < parent.start.offset || end.offset > parent.end.offset)) problems.push(`${path} outside its parent`);
          here = span;
        }
        for (const [k, v] of Object.entries(o)) if (k !== "span" && !k.endsWith("Span")) visit(v, here, `${path}.${k}`);
      };
      visit(r.module.items, null, f);
      expect(problems).toEqual([]);
    }
  });
});

describe("error recovery: one mistake, one diagnostic, the rest still parsed", () => {
  const cases: [string, string, string][] = [
    ["an unclosed call", "def f = conv(64, 3 | bn\ndef g = relu", "MEDG101 2:1"],
    ["a missing comma", "def f = conv(64 3)\ndef g = relu", "MEDG101 1:17"],
    ["an unknown model statement", "model m {\n  bogus thing\n  backbone relu\n}\ndef g = relu", "MEDG101 2:3"],
    ["a let without a name", "let = 3\ndef g = relu", "MEDG101 1:5"],
    ["two expressions in a row", "def f = a b\ndef g = relu", "MEDG101 1:11"],
    ["a stray closing brace", "}\ndef g = relu", "MEDG101 1:1"],
    ["an extra closing parenthesis", "def f = conv(64, 3))\ndef g = relu", "MEDG101 1:20"],
    ["an unclosed list", "def f = [1, 2\ndef g = relu", "MEDG101 2:1"],
    ["an unrecognised character", "def f = @ relu\ndef g = relu", "MEDG102 1:9"],
    ["an unclosed call inside a model", "model m {\n  backbone resnet50(\n  head mlp(3)\n}\ndef g = relu", "MEDG101 3:8"],
    ["a default without a value", "def f(a, b = ) = a\ndef g = relu", "MEDG101 1:14"],
    ["an operator without a right operand", "let a = 1 +\ndef g = relu", "MEDG101 2:1"],
    ["a model without a name", "model { backbone relu }\ndef g = relu", "MEDG101 1:7"],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      const r = parse(text, FILE);
      expect(r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col}`)).toEqual([expected]);
      const last = r.module.items[r.module.items.length - 1];
      expect(last).toMatchObject({ kind: "def", name: "g" });
    });
  }

  it("a model missing its closing brace keeps its statements", () => {
    const r = parse("model m {\n  backbone relu\n", FILE);
    expect(r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col}`)).toEqual(["MEDG101 3:1"]);
    expect((r.module.items[0] as A.ModelDecl).statements.map((x) => x.kind)).toEqual(["role"]);
  });

  it("a mistake in one model statement leaves the following statements", () => {
    const r = parse("model m {\n  input image(1, 8, 8\n  backbone relu\n  head linear(2)\n}", FILE);
    expect(r.diagnostics).toHaveLength(1);
    const st = (r.module.items[0] as A.ModelDecl).statements;
    expect(st.map((x) => (x.kind === "role" ? x.role : x.kind))).toContain("head");
  });

  it("mistakes in separate items are each reported once", () => {
    const r = parse("def f = conv(64 3)\ndef g = [1, 2\ndef h = @ relu\ndef k = relu", FILE);
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual(["MEDG101", "MEDG101", "MEDG102"]);
    expect(r.module.items.map((i) => (i as A.DefStmt).name)).toEqual(["f", "g", "h", "k"]);
  });

  it("says what was expected and what was found", () => {
    const [d] = parse("def f = conv(64, 3 | bn\ndef g = relu", FILE).diagnostics;
    expect(d!.message).toBe("expected ')', found 'def'");
    const [e] = parse("model m {\n  backbone relu\n", FILE).diagnostics;
    expect(e!.message).toBe("expected '}', found the end of the file");
  });

  it("an unterminated string is MEDG103 spanning the rest of its line", () => {
    const r = parse(`let s = "abc\nlet t = 2`, FILE);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG103" });
    expect(at(r.diagnostics[0]!.span)).toBe("1:9-1:13");
  });

  it("an unterminated string costs one diagnostic and the next line is still its own item", () => {
    const r = parse(`let s = "abc\nlet t = 2`, FILE);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG103"]);
    expect(r.module.items.map((i) => (i as A.LetStmt).binding.name)).toEqual(["s", "t"]);
  });

  // Bug: the message names no expectation: "unexpected 'def'; expected something else".
  it("a missing operand says an expression was expected", () => {
    const [d] = parse("let a = 1 +\ndef g = relu", FILE).diagnostics;
    expect(d!.message).toContain("expression");
  });

  // Bug: a literal too large for a double silently becomes Infinity; MEDG104 is never reported.
  it("a number literal that overflows is MEDG104", () => {
    expect(parse("let a = 1e400", FILE).diagnostics.map((d) => d.code)).toEqual(["MEDG104"]);
  });

  // Bug: the recovered right operand has no location, so the binary's span ends at offset 0,
  // before it starts; diagnostics on such expressions (MEDG401 on `loss a >=`) carry that span.
  it("an operator missing its right operand still has a span that starts before it ends", () => {
    const text = "let x = a >=\ndef g = relu";
    const r = parse(text, FILE);
    const v = (r.module.items[0] as A.LetStmt).binding.value;
    expect(v.kind).toBe("binary");
    expect(v.span.start.offset).toBe(8);
    expect(v.span.end.offset).toBeGreaterThanOrEqual(v.span.start.offset);
    expect(v.span.end.offset).toBeLessThanOrEqual(text.length);
  });

  // Bug: a missing argument after a comma (`conv(3, * 2, 5)`) gives two MEDG101, the second at the
  // comma after it, because recovery closes the call early.
  it("a missing argument is one diagnostic", () => {
    const r = parse("def f = conv(3, * 2, 5)\ndef g = relu", FILE);
    expect(r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col}`)).toEqual(["MEDG101 1:17"]);
  });

  it("never leaves the parser in a bad state for the next file", () => {
    parse("model m { backbone (((( ", FILE);
    expect(show((ok("let x = a | b").items[0] as A.LetStmt).binding.value)).toBe("(| a b)");
  });
});

const root = join(new URL(".", import.meta.url).pathname, "..", "..");

function medgFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...medgFiles(p));
    else if (e.name.endsWith(".medg")) out.push(p);
  }
  return out.sort();
}

describe("the lexer", () => {
  it("has valid token definitions (validated here rather than at every start)", () => {
    const lexer = new Lexer(allTokens, { ...lexerOptions, deferDefinitionErrorsHandling: true });
    expect(lexer.lexerDefinitionErrors).toEqual([]);
  });
});
