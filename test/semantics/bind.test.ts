import { describe, expect, it } from "vitest";
import { bindArgs, type ArgInput } from "../../src/semantics/bind.js";
import type { Signature } from "../../src/semantics/signature.js";
import { POISON, isPoison, type Block, type Callable, type Val } from "../../src/semantics/values.js";
import { LineMap, type Span } from "../../src/syntax/span.js";

/** Spans into one line of text: the n-th occurrence of `needle`. */
function source(text: string) {
  const map = new LineMap(text);
  const at = (needle: string, nth = 0): Span => {
    let i = -1;
    for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`no '${needle}' in ${text}`);
    return map.span("t.medg", i, i + needle.length);
  };
  const whole = map.span("t.medg", 0, text.length);
  return { at, whole };
}

const pos = (s: ReturnType<typeof source>, text: string, value: Val | undefined, symbol?: string): ArgInput =>
  symbol === undefined ? { span: s.at(text), value } : { span: s.at(text), value, symbol };
const kw = (s: ReturnType<typeof source>, name: string, text: string, value: Val | undefined, symbol?: string): ArgInput => {
  const a: ArgInput = { name, nameSpan: s.at(`${name}=`), span: s.at(text), value };
  // nameSpan covers only the name, not the '='
  a.nameSpan = { ...a.nameSpan!, end: { ...a.nameSpan!.end, offset: a.nameSpan!.end.offset - 1, col: a.nameSpan!.end.col - 1 } };
  if (symbol !== undefined) a.symbol = symbol;
  return a;
};

const conv: Signature = {
  name: "conv",
  doc: "convolution",
  args: [
    { name: "c", type: "int", min: 1 },
    { name: "k", type: "ints", default: 3, min: 1 },
    { name: "s", type: "ints", default: 1, min: 1 },
    { name: "bias", type: "bool", default: true, keywordOnly: true },
    { name: "dropout", type: "float", default: 0, min: 0, max: 1, keywordOnly: true },
  ],
};

const zscore: Signature = {
  name: "zscore",
  doc: "z-score",
  args: [
    { name: "mode", type: "enum", choices: ["per_image", "dataset"], default: "dataset" },
    { name: "std", type: "floats", default: null },
  ],
};

const fakeSpan = source("x").whole;
const block: Block = { kind: "block", span: fakeSpan, describe: "relu", transparent: false, apply: () => null };
const callable: Callable = { kind: "callable", name: "relu", span: fakeSpan, target: null };

describe("bindArgs: arity and names", () => {
  it("fills positionals in order and defaults for the rest", () => {
    const s = source("conv(64, 7)");
    const r = bindArgs(conv, [pos(s, "64", 64), pos(s, "7", 7)], s.whole);
    expect(r.ok).toBe(true);
    expect(r.diagnostics).toEqual([]);
    expect(r.values).toEqual({ c: 64, k: 7, s: 1, bias: true, dropout: 0 });
    expect(r.spans.c).toEqual(s.at("64"));
  });

  it("binds keywords by name, including keyword-only ones", () => {
    const s = source("conv(64, bias=false, s=2)");
    const r = bindArgs(conv, [pos(s, "64", 64), kw(s, "bias", "false", false), kw(s, "s", "2", 2)], s.whole);
    expect(r.ok).toBe(true);
    expect(r.values).toMatchObject({ c: 64, k: 3, s: 2, bias: false });
  });

  it("skips keyword-only args when filling positionals", () => {
    const s = source("conv(64, 3, 2, true)");
    const r = bindArgs(conv, [pos(s, "64", 64), pos(s, "3", 3), pos(s, "2", 2), pos(s, "true", true)], s.whole);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG204", span: s.at("true") });
    expect(r.diagnostics[0]!.message).toBe("conv takes at most 3 positional arguments, got 4");
  });

  it("reports an unknown keyword with a did-you-mean fix on the name", () => {
    const s = source("conv(64, biass=false)");
    const r = bindArgs(conv, [pos(s, "64", 64), kw(s, "biass", "false", false)], s.whole);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect(d.code).toBe("MEDG202");
    expect(d.message).toBe("conv has no argument 'biass' (did you mean 'bias'?)");
    expect(d.span).toEqual(s.at("biass"));
    expect(d.fixes).toEqual([{ title: "replace with 'bias'", edits: [{ span: s.at("biass"), text: "bias" }] }]);
  });

  it("reports an unknown keyword without a suggestion by listing the arguments", () => {
    const s = source("conv(64, zzzzzz=1)");
    const r = bindArgs(conv, [pos(s, "64", 64), kw(s, "zzzzzz", "1", 1)], s.whole);
    expect(r.diagnostics[0]!.code).toBe("MEDG202");
    expect(r.diagnostics[0]!.message).toContain("'c', 'k', 's', 'bias', 'dropout'");
    expect(r.diagnostics[0]!.fixes).toBeUndefined();
  });

  it("reports too many positionals naming expected and got counts", () => {
    const sig: Signature = { name: "image", doc: "d", args: [{ name: "c", type: "int" }, { name: "h", type: "int" }] };
    const s = source("image(1, 2, 3, 4)");
    const r = bindArgs(sig, [pos(s, "1", 1), pos(s, "2", 2), pos(s, "3", 3), pos(s, "4", 4)], s.whole);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.message).toBe("image takes 2 positional arguments, got 4");
    // the span covers every surplus argument
    expect(r.diagnostics[0]!.span.start).toEqual(s.at("3").start);
    expect(r.diagnostics[0]!.span.end).toEqual(s.at("4").end);
  });

  it("says 'no positional arguments' when there are none", () => {
    const sig: Signature = { name: "imagenet", doc: "d", args: [] };
    const s = source("imagenet(1)");
    const r = bindArgs(sig, [pos(s, "1", 1)], s.whole);
    expect(r.diagnostics[0]!.message).toBe("imagenet takes no positional arguments, got 1");
  });

  it("reports an argument given twice, pointing at the first", () => {
    const s = source("conv(64, 3, k=5)");
    const r = bindArgs(conv, [pos(s, "64", 64), pos(s, "3", 3), kw(s, "k", "5", 5)], s.whole);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG204", span: s.at("k"), message: "conv got argument 'k' more than once" });
    expect(r.diagnostics[0]!.related?.[0]?.span).toEqual(s.at("3"));
    expect(r.values.k).toBe(3);
  });

  it("reports a repeated keyword", () => {
    const s = source("conv(c=1, c=2)");
    const r = bindArgs(conv, [kw(s, "c", "1", 1), { ...kw(s, "c", "2", 2), nameSpan: s.at("c", 2) }], s.whole);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG204"]);
  });

  it("reports missing required arguments on the call span, all in one message", () => {
    const sig: Signature = { name: "volume", doc: "d", args: ["c", "d", "h", "w"].map((n) => ({ name: n, type: "int" as const })) };
    const s = source("volume(1, 2)");
    const r = bindArgs(sig, [pos(s, "1", 1), pos(s, "2", 2)], s.whole);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG204", span: s.whole, message: "volume is missing required arguments 'h', 'w'" });
    expect(isPoison(r.values.h)).toBe(true);
  });

  it("names a single missing argument in the singular", () => {
    const s = source("conv()");
    const r = bindArgs(conv, [], s.whole);
    expect(r.diagnostics[0]!.message).toBe("conv is missing required argument 'c'");
  });

  it("does not also report as missing the argument a misspelt keyword meant", () => {
    const s = source("conv(cc=64)");
    const r = bindArgs(conv, [kw(s, "cc", "64", 64)], s.whole);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG202"]);
    expect(r.ok).toBe(false);
  });
});

describe("bindArgs: types", () => {
  const one = (type: Signature["args"][number]["type"], value: Val, extra: object = {}) => {
    const sig: Signature = { name: "f", doc: "d", args: [{ name: "a", type, ...extra }] };
    const s = source("f(VALUE)");
    return { r: bindArgs(sig, [{ span: s.at("VALUE"), value }], s.whole), span: s.at("VALUE") };
  };

  it("int accepts integers only", () => {
    expect(one("int", 3).r.ok).toBe(true);
    const { r, span } = one("int", 2.5);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG203", span, message: "f argument 'a' expects an int, got float 2.5" });
    expect(one("int", "3").r.diagnostics[0]!.message).toBe('f argument \'a\' expects an int, got string "3"');
  });

  it("float accepts any number", () => {
    expect(one("float", 3).r.ok).toBe(true);
    expect(one("float", 0.25).r.values.a).toBe(0.25);
    expect(one("float", true).r.diagnostics[0]!.message).toBe("f argument 'a' expects a number, got bool true");
  });

  it("bool and string", () => {
    expect(one("bool", false).r.ok).toBe(true);
    expect(one("bool", 1).r.diagnostics[0]!.code).toBe("MEDG203");
    expect(one("string", "x").r.ok).toBe(true);
    expect(one("string", 1).r.diagnostics[0]!.code).toBe("MEDG203");
  });

  it("ints accepts an int or a list of ints, unchanged", () => {
    expect(one("ints", 3).r.values.a).toBe(3);
    expect(one("ints", [3, 5]).r.values.a).toEqual([3, 5]);
    expect(one("ints", [3, 5.5]).r.diagnostics[0]!.message).toBe("f argument 'a' expects an int or a list of ints, got list [3, 5.5]");
  });

  it("floats accepts a number or a list of numbers", () => {
    expect(one("floats", 0.5).r.ok).toBe(true);
    expect(one("floats", [0.9, 0.999]).r.ok).toBe(true);
    expect(one("floats", ["a"]).r.diagnostics[0]!.code).toBe("MEDG203");
  });

  it("strings normalises a single string to a list", () => {
    expect(one("strings", "label").r.values.a).toEqual(["label"]);
    expect(one("strings", ["a", "b"]).r.values.a).toEqual(["a", "b"]);
    expect(one("strings", ["a", 1]).r.diagnostics[0]!.code).toBe("MEDG203");
  });

  it("block accepts blocks and callables", () => {
    expect(one("block", block).r.ok).toBe(true);
    expect(one("block", callable).r.ok).toBe(true);
    expect(one("block", 3).r.diagnostics[0]!.message).toBe("f argument 'a' expects a block, got int 3");
  });

  it("list and any", () => {
    expect(one("list", []).r.ok).toBe(true);
    expect(one("list", 1).r.diagnostics[0]!.code).toBe("MEDG203");
    expect(one("any", "x").r.ok).toBe(true);
    expect(one("any", null).r.ok).toBe(true);
  });

  it("null is accepted only where the default is null", () => {
    expect(one("floats", null, { default: null }).r.ok).toBe(true);
    expect(one("floats", null, { default: null }).r.values.a).toBeNull();
    expect(one("float", null, { default: 1 }).r.diagnostics[0]!.message).toBe("f argument 'a' expects a number, got none none");
  });

  it("min/max bounds give MEDG213", () => {
    const { r, span } = one("float", 1.5, { min: 0, max: 1 });
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG213", span, message: "f argument 'a' must be between 0 and 1, got 1.5" });
    expect(one("int", -1, { min: 0 }).r.diagnostics[0]!.message).toBe("f argument 'a' must be at least 0, got -1");
    expect(one("int", 9, { max: 8 }).r.diagnostics[0]!.message).toBe("f argument 'a' must be at most 8, got 9");
    expect(one("ints", [3, 0], { min: 1 }).r.diagnostics[0]!.message).toBe("f argument 'a' must be at least 1, got 0 in [3, 0]");
    expect(one("float", 0, { min: 0, max: 1 }).r.ok).toBe(true);
    expect(one("float", 1, { min: 0, max: 1 }).r.ok).toBe(true);
  });

  it("rejects non-finite numbers", () => {
    expect(one("float", Infinity).r.diagnostics[0]).toMatchObject({ code: "MEDG213", message: "f argument 'a' must be a finite number, got Infinity" });
  });
});

describe("bindArgs: enums and bare identifiers", () => {
  it("accepts a bare identifier naming a choice although it is undefined", () => {
    const s = source("zscore(per_image)");
    const r = bindArgs(zscore, [pos(s, "per_image", undefined, "per_image")], s.whole);
    expect(r.ok).toBe(true);
    expect(r.values).toEqual({ mode: "per_image", std: null });
  });

  it("accepts a bare identifier naming a choice although it is bound to something else", () => {
    const flip: Signature = { name: "flip", doc: "d", args: [{ name: "axis", type: "enum", choices: ["h", "v"], default: "h" }] };
    const s = source("flip(v)");
    const r = bindArgs(flip, [pos(s, "v", callable, "v")], s.whole);
    expect(r.ok).toBe(true);
    expect(r.values.axis).toBe("v");
  });

  it("accepts a string naming a choice", () => {
    const s = source('zscore(mode="dataset")');
    expect(bindArgs(zscore, [kw(s, "mode", '"dataset"', "dataset")], s.whole).values.mode).toBe("dataset");
  });

  it("reports an undefined identifier that is not a choice as an unknown name, with a fix", () => {
    const s = source("zscore(per_imag)");
    const r = bindArgs(zscore, [pos(s, "per_imag", undefined, "per_imag")], s.whole);
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0]!;
    expect(d).toMatchObject({ code: "MEDG201", span: s.at("per_imag"), message: "unknown name 'per_imag' (did you mean 'per_image'?)" });
    expect(d.fixes?.[0]?.edits).toEqual([{ span: s.at("per_imag"), text: "per_image" }]);
    expect(isPoison(r.values.mode)).toBe(true);
  });

  it("lists the choices when an unknown name is nothing like them", () => {
    const s = source("zscore(qqqqqq)");
    const r = bindArgs(zscore, [pos(s, "qqqqqq", undefined, "qqqqqq")], s.whole);
    expect(r.diagnostics[0]!.message).toBe("unknown name 'qqqqqq' (zscore argument 'mode' expects one of per_image, dataset)");
  });

  it("reports an unknown string choice as MEDG203 with the choices and a quoted fix", () => {
    const s = source('zscore("datasett")');
    const r = bindArgs(zscore, [pos(s, '"datasett"', "datasett")], s.whole);
    const d = r.diagnostics[0]!;
    expect(d.code).toBe("MEDG203");
    expect(d.message).toBe('zscore argument \'mode\' expects one of per_image, dataset, got "datasett" (did you mean \'dataset\'?)');
    expect(d.fixes?.[0]?.edits[0]?.text).toBe('"dataset"');
  });

  it("reports a defined identifier that is not a choice as MEDG203", () => {
    const s = source("zscore(relu)");
    const r = bindArgs(zscore, [pos(s, "relu", callable, "relu")], s.whole);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG203", message: "zscore argument 'mode' expects one of per_image, dataset, got callable relu" });
  });

  it("reports an undefined identifier for a non-enum argument as an unknown name", () => {
    const s = source("conv(width)");
    const r = bindArgs(conv, [pos(s, "width", undefined, "width")], s.whole);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "MEDG201", message: "unknown name 'width'" });
  });

  it("a string argument with choices accepts a bare choice too", () => {
    const sig: Signature = { name: "f", doc: "d", args: [{ name: "m", type: "string", choices: ["min", "max"], default: "min" }] };
    const s = source("f(max)");
    expect(bindArgs(sig, [pos(s, "max", undefined, "max")], s.whole).values.m).toBe("max");
  });
});

describe("bindArgs: poison", () => {
  it("accepts a poisoned value silently but is not ok", () => {
    const s = source("conv(BAD, 3)");
    const r = bindArgs(conv, [pos(s, "BAD", POISON), pos(s, "3", 3)], s.whole);
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(false);
    expect(isPoison(r.values.c)).toBe(true);
  });

  it("a poisoned value for an enum is silent too", () => {
    const s = source("zscore(BAD)");
    const r = bindArgs(zscore, [pos(s, "BAD", POISON)], s.whole);
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(false);
  });

  it("a value that failed a check is poisoned in the result", () => {
    const s = source("conv(0)");
    const r = bindArgs(conv, [pos(s, "0", 0)], s.whole);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MEDG213"]);
    expect(isPoison(r.values.c)).toBe(true);
  });
});

describe("bindArgs: defaults", () => {
  it("normalises a string default of a strings argument to a list", () => {
    const sig: Signature = { name: "csv", doc: "d", args: [{ name: "label_col", type: "strings", default: "label" }] };
    expect(bindArgs(sig, [], source("csv").whole).values.label_col).toEqual(["label"]);
  });
});
