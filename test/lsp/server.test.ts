/** The language server through a real client: a child process spoken to over stdio. */
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CodeAction, CompletionItem, Diagnostic, DocumentSymbol, FoldingRange, Hover, Location, TextEdit } from "vscode-languageserver-protocol/node.js";
import { TestClient } from "./client.js";

const dir = realpathSync(mkdtempSync(join(tmpdir(), "medg-lsp-")));
writeFileSync(join(dir, "medg.json"), "{}\n");
mkdirSync(join(dir, "lib"));
const uriOf = (name: string) => pathToFileURL(join(dir, name)).href;

let client: TestClient;
let version = 1;

beforeAll(async () => {
  client = new TestClient();
  await client.initialize(pathToFileURL(dir).href);
});
afterAll(async () => {
  await client.close();
});

/** Line and character of the `nth` occurrence of `needle` in `text`, plus `delta` characters. */
function at(text: string, needle: string, delta = 0, nth = 0): { line: number; character: number } {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  if (i < 0) throw new Error(`'${needle}' not in text`);
  const before = text.slice(0, i + delta);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - before.lastIndexOf("\n") - 1 };
}

async function openDoc(name: string, text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
  const uri = uriOf(name);
  const v = version++;
  await client.open(uri, text, v);
  return { uri, diagnostics: await client.version(uri, v) };
}

const hover = (uri: string, position: { line: number; character: number }) =>
  client.connection.sendRequest("textDocument/hover", { textDocument: { uri }, position }) as Promise<Hover | null>;
const completion = (uri: string, position: { line: number; character: number }, triggerCharacter?: string) =>
  client.connection.sendRequest("textDocument/completion", {
    textDocument: { uri },
    position,
    ...(triggerCharacter ? { context: { triggerKind: 2, triggerCharacter } } : {}),
  }) as Promise<CompletionItem[]>;
const definition = (uri: string, position: { line: number; character: number }) =>
  client.connection.sendRequest("textDocument/definition", { textDocument: { uri }, position }) as Promise<Location[]>;
const hoverText = (h: Hover | null) => (h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "");

const unet = `def double_conv(c) = conv(c, 3, bias=false) | bn | relu | conv(c, 3, bias=false) | bn | relu

model lesion_seg {
  task segment(classes=["background", "lesion"])
  input image(1, 128, 128)
  backbone
    enc1: double_conv(32) | tap s1 | maxpool(2)
    | enc2: double_conv(64) | tap s2 | maxpool(2)
    | mid: double_conv(128)
  decoder
    upsample(2) | concat(identity, from s2) | dec2: double_conv(64)
    | upsample(2) | concat(identity, from s1) | dec1: double_conv(32)
    | out: conv(2, 1)
  loss 0.5*dice + 0.5*ce
  optimizer adamw(lr=1e-3)
}
`;

describe("diagnostics", () => {
  it("publishes a diagnostic with the code and range of medg check on open", async () => {
    const text = "model m {\n  input image(3, 224, 224)\n  backbone resnet5\n}\n";
    const { diagnostics } = await openDoc("unknown.medg", text);
    expect(diagnostics).toHaveLength(1);
    const [d] = diagnostics as [Diagnostic];
    expect(d.code).toBe("MEDG201");
    expect(d.severity).toBe(1);
    expect(d.source).toBe("medg");
    expect(d.message).toMatch(/unknown name 'resnet5'/);
    expect(d.range).toEqual({ start: { line: 2, character: 11 }, end: { line: 2, character: 18 } });
  });

  it("re-checks on every change and maps info to Information with related locations", async () => {
    const text = "model m {\n  input image(3, 64, 64)\n  backbone resnet18\n  head mlp(64)\n}\n";
    const { uri, diagnostics } = await openDoc("info.medg", text);
    // No task: the head assumes 2 classes (an info), reported at the call with the library location related.
    const info = diagnostics.find((d) => d.code === "MEDG502")!;
    expect(info.severity).toBe(3);
    expect(info.range.start).toEqual(at(text, "mlp"));
    expect(info.relatedInformation?.[0]?.location.uri).toMatch(/stdlib\/heads\/mlp\.medg$/);
    const v = version++;
    await client.change(uri, v, [{ range: { start: { line: 2, character: 11 }, end: { line: 2, character: 19 } }, text: "resnet1" }]);
    const after = await client.version(uri, v);
    expect(after.map((d) => d.code)).toContain("MEDG201");
  });

  it("re-checks an open importer when the imported file changes", async () => {
    const lib = "def block(c) = conv(c, 3) | bn | relu\n";
    const { uri: libUri } = await openDoc("lib/blocks.medg", lib);
    const main = 'import "lib/blocks.medg"\n\nmodel m {\n  input image(3, 32, 32)\n  backbone block(16) | gap\n}\n';
    const { uri, diagnostics } = await openDoc("importer.medg", main);
    expect(diagnostics.filter((d) => d.severity === 1)).toEqual([]);
    // The open buffer, not the (absent) file on disk, is what the importer sees.
    await client.change(libUri, version++, [{ text: "def blok(c) = conv(c, 3) | bn | relu\n" }]);
    const broken = await client.diagnosticsFor(uri, (p) => p.diagnostics.some((d) => d.code === "MEDG201"));
    expect(broken.diagnostics.find((d) => d.code === "MEDG201")!.range.start).toEqual(at(main, "block(16)"));
  });

  it("shows a problem inside an imported file on the import and in that file", async () => {
    const { uri: libUri } = await openDoc("lib/shapes.medg", "def head2 = linear(10) | conv(8, 3)\n");
    const main = 'import "lib/shapes.medg"\n\nmodel m {\n  input image(3, 32, 32)\n  backbone conv(8, 3) | gap\n  head head2\n}\n';
    const { diagnostics } = await openDoc("uses_shapes.medg", main);
    const onImport = diagnostics.find((d) => d.range.start.line === 0);
    expect(onImport?.message).toMatch(/^lib\/shapes\.medg:1:\d+: /);
    expect(onImport?.relatedInformation?.[0]?.location.uri).toBe(libUri);
    const inLib = await client.diagnosticsFor(libUri, (p) => p.diagnostics.length > 0);
    expect(inLib.diagnostics[0]!.code).toBe(onImport!.code);
  });
});

describe("hover", () => {
  let uri: string;
  beforeAll(async () => {
    const opened = await openDoc("unet.medg", unet);
    uri = opened.uri;
    expect(opened.diagnostics.filter((d) => d.severity === 1)).toEqual([]);
  });

  it("on an op gives its node's shapes, parameters and MACs", async () => {
    const h = hoverText(await hover(uri, at(unet, "out: conv", 6)));
    expect(h).toContain("conv(");
    expect(h).toContain("decoder.out");
    expect(h).toContain("[N, 32, 128, 128] → [N, 2, 128, 128]");
    expect(h).toContain("`decoder.out.weight` [2, 32, 1, 1]");
    expect(h).toMatch(/66 parameters/);
  });

  it("on an op inside a def lists each place the def was applied", async () => {
    const h = hoverText(await hover(uri, at(unet, "relu", 1)));
    expect(h).toContain("applied 5 times");
    expect(h).toContain("backbone.enc1");
  });

  it("on a def call gives the def's signature and doc and the block it built", async () => {
    const h = hoverText(await hover(uri, at(unet, "double_conv(64)", 2, 1)));
    expect(h).toContain("def double_conv(c)");
    expect(h).toContain("`decoder.dec2`  [N, 192, 64, 64] → [N, 64, 64, 64]");
    expect(h).toMatch(/6 operators · [\d,]+ parameters/);
  });

  it("on a label gives the block under it", async () => {
    const h = hoverText(await hover(uri, at(unet, "mid:", 1)));
    expect(h).toContain("label `mid`");
    expect(h).toContain("[N, 64, 32, 32] → [N, 128, 32, 32]");
  });

  it("on a role, a policy entry and a stdlib def", async () => {
    expect(hoverText(await hover(uri, at(unet, "decoder", 2)))).toMatch(/\*\*decoder\*\*[\s\S]*\[N, 128, 32, 32\] → \[N, 2, 128, 128\]/);
    const dice = hoverText(await hover(uri, at(unet, "dice", 1)));
    expect(dice).toContain("dice(smooth=0.00001, include_background=true)");
    expect(dice).toContain("loss (training policy)");
    const adamw = hoverText(await hover(uri, at(unet, "adamw", 1)));
    expect(adamw).toContain("optimizer");
    expect(adamw).toContain("Loshchilov");
    const text = "model m {\n  input image(3, 224, 224)\n  backbone resnet50\n}\n";
    const { uri: u2 } = await openDoc("hover_stdlib.medg", text);
    const h = hoverText(await hover(u2, at(text, "resnet50", 3)));
    expect(h).toContain("def resnet50(classes=none)");
    expect(h).toContain("stdlib backbone (resnet.medg)");
    expect(h).toContain("ResNet-50: 25.6M parameters");
    expect(h).toContain("[N, 3, 224, 224] → [N, 2048]");
  });

  it("on an argument name gives its spec", async () => {
    const h = hoverText(await hover(uri, at(unet, "bias=false", 1)));
    expect(h).toContain("argument `bias` of `conv`");
  });

  it("on nothing in particular answers null", async () => {
    expect(await hover(uri, { line: 1, character: 0 })).toBeNull();
  });
});

describe("completion", () => {
  const text = `model m {
  task classify(classes=["a", "b"])
  input image(1, 224, 224) | gray_to_rgb
  backbone resnet18
  neck tap feats
  head mlp(256, )
  loss 
  optimizer 
  augment flip(h) | 
  stage freeze backbone.
}
`;
  let uri: string;
  beforeAll(async () => {
    uri = (await openDoc("complete.medg", text)).uri;
  });
  const labels = (items: CompletionItem[]) => items.map((i) => i.label);

  it("offers losses after loss and optimizers after optimizer", async () => {
    const losses = labels(await completion(uri, at(text, "loss ", 5), " "));
    expect(losses).toEqual(expect.arrayContaining(["ce", "focal", "dice"]));
    expect(losses).not.toContain("adamw");
    const optimizers = labels(await completion(uri, at(text, "optimizer ", 10), " "));
    expect(optimizers).toEqual(expect.arrayContaining(["adamw", "sgd"]));
    expect(optimizers).not.toContain("focal");
    const augmentations = labels(await completion(uri, at(text, "| \n", 2)));
    expect(augmentations).toEqual(expect.arrayContaining(["rotate", "elastic"]));
  });

  it("offers argument names with their defaults inside a call", async () => {
    const items = await completion(uri, at(text, "mlp(256, ", 9));
    const dropout = items.find((i) => i.label === "dropout=");
    expect(dropout?.detail).toBe("= 0.2");
    expect(dropout?.insertText).toBe("dropout=");
    expect(labels(items)).not.toContain("hidden=");
  });

  it("offers stdlib backbones first in a backbone", async () => {
    const items = await completion(uri, at(text, "resnet18", 6));
    const sorted = [...items].sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label));
    expect(sorted[0]?.detail).toMatch(/stdlib backbone/);
    expect(labels(items)).toEqual(expect.arrayContaining(["resnet50", "conv", "relu", "mlp"]));
  });

  it("offers label paths in a stage and statement words at a statement's start", async () => {
    const paths = labels(await completion(uri, at(text, "backbone.\n", 9), "."));
    expect(paths).toEqual(expect.arrayContaining(["layer1", "layer4", "conv1"]));
    const words = labels(await completion(uri, { line: 1, character: 2 }));
    expect(words).toEqual(expect.arrayContaining(["input", "backbone", "loss", "stage"]));
  });

  it("offers a def's parameters and in's fields inside the def, and an argument's choices", async () => {
    const t = "def widen(c, factor=2) = conv(c * factor, 3) | conv(in.\nmodel m2 {\n  augment flip(axis=\n}\n";
    const { uri: u } = await openDoc("complete_def.medg", t);
    const inDef = labels(await completion(u, at(t, "conv(c *", 5)));
    expect(inDef).toEqual(expect.arrayContaining(["c", "factor", "in", "conv"]));
    expect(labels(await completion(u, at(t, "in.", 3), "."))).toEqual(["c", "d", "h", "w", "last", "rank", "shape"]);
    expect(labels(await completion(u, at(t, "axis=", 5)))).toEqual(["h", "v", "d", "both", "all"]);
    // A space elsewhere asks for nothing.
    expect(await completion(u, at(t, "conv(c *", 7), " ")).toEqual([]);
  });

  it("offers taps after from", async () => {
    const t2 = text.replace("head mlp(256, )", "head from ");
    const v = version++;
    await client.change(uri, v, [{ text: t2 }]);
    expect(labels(await completion(uri, at(t2, "from ", 5), " "))).toContain("feats");
  });
});

describe("definition", () => {
  it("goes to defs (also in the stdlib and imports), taps and imported files", async () => {
    const { uri } = await openDoc("lib/defs.medg", "## A unit.\ndef unit(c) = conv(c, 3) | relu\n");
    const text = 'import "lib/defs.medg"\n\nmodel m {\n  input image(3, 64, 64)\n  backbone unit(8) | tap a | resnet18\n  head from a | gap | linear(2)\n}\n';
    const { uri: main } = await openDoc("goto.medg", text);
    const toUnit = await definition(main, at(text, "unit(8)", 1));
    expect(toUnit).toEqual([{ uri, range: { start: { line: 1, character: 4 }, end: { line: 1, character: 8 } } }]);
    const toResnet = await definition(main, at(text, "resnet18", 2));
    expect(toResnet[0]!.uri).toMatch(/stdlib\/backbones\/resnet\.medg$/);
    const toTap = await definition(main, at(text, "from a", 5));
    expect(toTap[0]!.range.start).toEqual(at(text, "tap a"));
    const toFile = await definition(main, at(text, '"lib', 2));
    expect(toFile[0]!.uri).toBe(uri);
  });
});

describe("symbols and folding", () => {
  it("lists models with their roles, and defs; folds the model and its multi-line statements", async () => {
    const { uri } = await openDoc("symbols.medg", unet);
    const symbols = (await client.connection.sendRequest("textDocument/documentSymbol", { textDocument: { uri } })) as DocumentSymbol[];
    expect(symbols.map((s) => s.name)).toEqual(["double_conv", "lesion_seg"]);
    expect(symbols[1]!.children!.map((s) => s.name)).toEqual(["task", "input", "backbone", "decoder", "loss", "optimizer"]);
    const folds = (await client.connection.sendRequest("textDocument/foldingRange", { textDocument: { uri } })) as FoldingRange[];
    expect(folds).toContainEqual({ startLine: 2, endLine: 14 });
    expect(folds).toContainEqual({ startLine: 5, endLine: 8 });
  });
});

describe("code actions", () => {
  async function applyFirstFix(name: string, text: string, code: string): Promise<Diagnostic[]> {
    const { uri, diagnostics } = await openDoc(name, text);
    const d = diagnostics.find((x) => x.code === code);
    expect(d, `${code} in ${JSON.stringify(diagnostics)}`).toBeDefined();
    const actions = (await client.connection.sendRequest("textDocument/codeAction", { textDocument: { uri }, range: d!.range, context: { diagnostics: [d] } })) as CodeAction[];
    expect(actions.length).toBeGreaterThan(0);
    const edits = actions[0]!.edit!.changes![uri] as TextEdit[];
    const v = version++;
    await client.change(uri, v, edits.map((e) => ({ range: e.range, text: e.newText })));
    return client.version(uri, v);
  }

  it("a did-you-mean rename makes the diagnostic disappear", async () => {
    const after = await applyFirstFix("fix_name.medg", "model m {\n  input image(3, 64, 64)\n  backbone resnet5O\n  head classifier\n}\n", "MEDG201");
    expect(after.filter((d) => d.severity === 1)).toEqual([]);
  });

  it("adding gap before a head fed a feature map", async () => {
    const text = 'model m {\n  task classify(classes=["a", "b"])\n  input image(3, 64, 64)\n  backbone conv(8, 3)\n  head mlp(32)\n}\n';
    const after = await applyFirstFix("fix_gap.medg", text, "MEDG302");
    expect(after.filter((d) => d.severity === 1)).toEqual([]);
  });

  it("a misspelt argument and a misspelt stage target", async () => {
    const a = await applyFirstFix("fix_arg.medg", "model m {\n  input image(3, 64, 64)\n  backbone conv(8, 3, biass=false) | gap\n}\n", "MEDG202");
    expect(a.filter((d) => d.severity === 1)).toEqual([]);
    const b = await applyFirstFix("fix_stage.medg", "model m {\n  input image(3, 64, 64)\n  backbone resnet18\n  stage freeze backbone.layr4, epochs 2\n}\n", "MEDG403");
    expect(b.filter((d) => d.severity === 1)).toEqual([]);
  });
});

describe("formatting", () => {
  it("formats through src/format, and leaves a file with syntax errors alone", async () => {
    const { format } = await import("../../src/format/index.js");
    const text = "model m {\n  input   image(3, 64, 64)\n    backbone conv(8,3)|gap\n}\n";
    const { uri } = await openDoc("format.medg", text);
    const edits = (await client.connection.sendRequest("textDocument/formatting", { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })) as TextEdit[];
    expect(edits).toHaveLength(1);
    expect(edits[0]!.newText).toBe(await format(text));
    const { uri: broken } = await openDoc("format_broken.medg", "model m {\n  input image(3, 64, 64\n}\n");
    expect(await client.connection.sendRequest("textDocument/formatting", { textDocument: { uri: broken }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });
});

describe("robustness to malformed requests", () => {
  it("answers a request with bad parameters with an error, and keeps serving", async () => {
    await expect(client.connection.sendRequest("textDocument/hover", {})).rejects.toMatchObject({ code: -32602 });
    await expect(client.connection.sendRequest("textDocument/completion", { textDocument: { uri: 3 }, position: { line: -1 } })).rejects.toMatchObject({ code: -32602 });
    await expect(client.connection.sendRequest("medg/noSuchMethod", {})).rejects.toMatchObject({ code: -32601 });
    // A document that was never opened: an empty answer, not an error.
    expect(await hover("file:///nowhere.medg", { line: 0, character: 0 })).toBeNull();
    expect(await completion("file:///nowhere.medg", { line: 0, character: 0 })).toEqual([]);
    await client.connection.sendNotification("textDocument/didChange", { textDocument: { uri: "file:///nowhere.medg", version: 2 }, contentChanges: [{ text: "x" }] });
    await client.connection.sendNotification("textDocument/didOpen", { textDocument: null });
    const text = "model m { input image(3, 8, 8) backbone relu }\n";
    const { diagnostics } = await openDoc("still_alive.medg", text);
    expect(diagnostics).toEqual([]);
    expect(client.alive).toBe(true);
  });
});
