import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { adaptInputChannels, loadWeights, weightSources } from "../../src/weights/match.js";
import { readManifest } from "../helpers/compile.js";

const dir = mkdtempSync(join(tmpdir(), "medg-weights-"));
const manifest = readManifest("resnet18");

/** A torchvision-named resnet18 state_dict (plus num_batches_tracked, as torch saves it). */
function writeResnet18(file: string, change: (name: string, shape: number[]) => number[] | null = (_, s) => s): string {
  const path = join(dir, file);
  const tensors = [];
  for (const [name, shape] of manifest.entries) {
    const s = change(name, shape);
    if (!s) continue;
    const data = new Float32Array(s.reduce((a, b) => a * b, 1));
    // conv1 gets recognisable values: 1 + input channel index, so adaptation sums are checkable.
    if (name === "conv1.weight") for (let i = 0; i < data.length; i++) data[i] = 1 + (Math.floor(i / 49) % s[1]!);
    tensors.push({ name, shape: s, data });
  }
  tensors.push({ name: "bn1.num_batches_tracked", shape: [], data: new Float32Array([7]) });
  const r = writeSafetensorsSync(path, tensors);
  if (!r.ok) throw new Error(r.error.message);
  return path;
}

function compile(source: string, weights: { role?: string; file: string }[] = []) {
  const file = join(dir, `m${Math.random().toString(36).slice(2)}.medg`);
  writeFileSync(file, source);
  return compileFile(file, { root: dir, weights });
}
const codes = (r: ReturnType<typeof compile>) => r.diagnostics.map((d) => d.code);

describe("pretrained weights", () => {
  const full = writeResnet18("resnet18.safetensors");

  it("load by name under the role, BN statistics included, num_batches_tracked ignored", () => {
    const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(weights="resnet18.safetensors", classes=1000)\n}\n`);
    expect(r.diagnostics).toEqual([]);
    const w = r.models[0]!.weights[0]!;
    expect(w.matched).toBe(manifest.entries.length);
    expect([w.missing, w.unused]).toEqual([[], []]);
  });

  it("without classes skip the reference classifier with an info line, not a warning", () => {
    const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(weights="resnet18.safetensors")\n}\n`);
    expect(codes(r)).toEqual(["MEDG605"]);
    expect(r.diagnostics[0]!.severity).toBe("info");
    expect(r.diagnostics[0]!.message).toMatch(/reference classifier \((fc\.weight, fc\.bias|fc\.bias, fc\.weight)\)/);
  });

  it("from the command line are relative to ROLE=", () => {
    const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(classes=1000)\n}\n`, [{ role: "backbone", file: full }]);
    expect(r.diagnostics).toEqual([]);
    expect(r.models[0]!.weights[0]!.matched).toBe(manifest.entries.length);
  });

  it("report a shape mismatch naming the tensor and both shapes", () => {
    writeResnet18("wide.safetensors", (name, s) => (name === "layer1.0.conv1.weight" ? [64, 64, 5, 5] : s));
    const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(weights="wide.safetensors", classes=1000)\n}\n`);
    expect(codes(r)).toEqual(["MEDG602"]);
    expect(r.diagnostics[0]!.message).toContain("'backbone.layer1.0.conv1.weight' has shape [64, 64, 5, 5]");
    expect(r.diagnostics[0]!.message).toContain("the model's is [64, 64, 3, 3]");
    // The diagnostic points at the path the user wrote.
    expect(r.diagnostics[0]!.span.start.line).toBe(3);
  });

  it("report missing and unused tensors", () => {
    // layer4.1 is a BasicBlock: conv1, bn1 (4 tensors), conv2, bn2 (4 tensors).
    writeResnet18("partial.safetensors", (name, s) => (name.startsWith("layer4.1.") ? null : s));
    const extra = join(dir, "extra.safetensors");
    writeSafetensorsSync(extra, [{ name: "projector.weight", shape: [2], data: new Float32Array(2) }]);
    const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(weights="partial.safetensors", classes=1000)\n}\n`, [{ role: "backbone", file: extra }]);
    const missing = r.diagnostics.filter((d) => d.code === "MEDG603");
    expect(missing.length).toBe(1);
    expect(missing[0]!.message).toMatch(/^10 parameters not in the weights given for 'backbone': backbone\.layer4\.1\.conv1\.weight/);
    expect(r.diagnostics.find((d) => d.code === "MEDG604")!.message).toContain("projector.weight");
  });

  it("meeting a 1-channel input offer gray_to_rgb or in_channels", () => {
    const text = `model m {\n  input image(1, 224, 224)\n  backbone resnet18(weights="resnet18.safetensors")\n}\n`;
    const r = compile(text);
    const d = r.diagnostics.find((x) => x.code === "MEDG501")!;
    expect(d.severity).toBe("error");
    expect(d.fixes!.map((f) => f.edits[0]!.text)).toEqual([" | gray_to_rgb", ", in_channels=1"]);
    // Applying each fix gives a file that checks clean (the classifier info aside).
    for (const fix of d.fixes!) {
      const e = fix.edits[0]!;
      const fixed = text.slice(0, e.span.start.offset) + e.text + text.slice(e.span.end.offset);
      expect(codes(compile(fixed)).filter((c) => c !== "MEDG605" && c !== "MEDG606")).toEqual([]);
    }
  });

  it("adapt the first conv to one channel by summing over RGB", () => {
    const r = compile(`model m {\n  input image(1, 224, 224)\n  backbone resnet18(weights="resnet18.safetensors", in_channels=1)\n}\n`);
    expect(codes(r).sort()).toEqual(["MEDG605", "MEDG606"]);
    const model = r.models[0]!;
    const { values, diagnostics } = loadWeights(model, weightSources(model, []));
    expect(diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    const conv1 = values.get("backbone.conv1.weight")!;
    expect(conv1.length).toBe(64 * 49);
    expect([conv1[0], conv1[64 * 49 - 1]]).toEqual([6, 6]); // 1 + 2 + 3
    expect(values.get("backbone.bn1.running_var")!.length).toBe(64);
  });

  it("adapt to N channels by repeating and scaling by 3/N", () => {
    const w = new Float32Array([1, 2, 3]); // [out=1, in=3, 1x1]
    expect([...adaptInputChannels(w, [1, 3, 1, 1], 4)]).toEqual([0.75, 1.5, 2.25, 0.75]);
    expect([...adaptInputChannels(w, [1, 3, 1, 1], 1)]).toEqual([6]);
  });

  it("in_channels must match what the backbone receives", () => {
    const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(in_channels=1)\n}\n`);
    expect(codes(r)).toEqual(["MEDG301"]);
  });

  it("a missing or malformed file is a diagnostic at the path", () => {
    writeFileSync(join(dir, "bad.safetensors"), "not a safetensors file");
    for (const f of ["nope.safetensors", "bad.safetensors"]) {
      const r = compile(`model m {\n  input image(3, 224, 224)\n  backbone resnet18(weights="${f}")\n}\n`);
      expect(codes(r)).toEqual(["MEDG601"]);
      expect(r.diagnostics[0]!.message).toContain(f);
    }
  });
});
