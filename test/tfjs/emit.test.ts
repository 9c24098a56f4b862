/** The emitted program: readable model.js, train.js, plan.json; how it imports the runtime; choosing tfjs. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runtimeSpecifier } from "../../src/backends/tfjs/build.js";
import { emitTfjsProgram } from "../../src/backends/tfjs/emit.js";
import { formatJs } from "../../src/backends/tfjs/format.js";
import { frozenAfter } from "../../src/semantics/model.js";
import { frozenPerStage } from "../../src/runtime/program.js";
import { loadFailure, loadTf } from "../../src/runtime/tf.js";
import { compileText } from "../helpers/compile.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { buildProgram, runtimeUrl, tf, tfjs } from "./program.js";

const source = `model xray {
  task classify(classes=["normal", "pneumonia", "covid"])
  input image(1, 32, 32) | gray_to_rgb
  normalize zscore(per_image)
  backbone resnet18
  head mlp(64, dropout=.3)
  data imagefolder("data/xray")
  stage warmup: freeze backbone, epochs 2, lr 1e-3
  stage finetune: unfreeze backbone.layer4, epochs 3, lr 3e-5, schedule cosine
}
`;

describe("emitTfjsProgram", () => {
  const r = compileText(source);
  const model = r.models[0]!;

  it("writes the graph as straight-line code with label paths, sources and IR parameter names", async () => {
    const program = await emitTfjsProgram(model, { runtime: "medg/runtime", sourceName: "xray.medg" });
    const js = program.files["model.js"]!;
    expect(js).toContain('import { kernels as k } from "medg/runtime";');
    expect(js).toContain("export function forward(p, x, ctx) {");
    expect(js).toMatch(/\/\/ input: gray_to_rgb → \[N, 3, 32, 32\]/);
    expect(js).toMatch(/\/\/ backbone\.layer1\.0\.conv1: conv\(c, 3, s=s, bias=false\) → \[N, 64, 8, 8\]/);
    expect(js).toContain('weight: p["backbone.layer1.0.conv1.weight"]');
    expect(js).toContain('running_var: p["backbone.bn1.running_var"]');
    // One const per node, and every parameter referenced by name.
    expect(js.match(/const v\d+ = k\./g)).toHaveLength(model.graph.nodes.length);
    for (const name of model.graph.params.keys()) expect(js).toContain(`p["${name}"]`);
    expect(await formatJs(js)).toBe(js);
    expect(program.files["train.js"]).toContain('import { trainMain } from "medg/runtime";');
    expect(JSON.parse(program.files["package.json"]!).type).toBe("module");
  });

  it("writes the recipe to plan.json with the data path made absolute", async () => {
    const program = await emitTfjsProgram(model, { runtime: "medg/runtime" });
    const plan = JSON.parse(program.files["plan.json"]!);
    expect(plan).toMatchObject({ model: "xray", input: { kind: "image", shape: [1, 32, 32] }, classes: ["normal", "pneumonia", "covid"], outputs: [["N", 3]] });
    expect(plan.data.args.path).toBe(join(model.span.file, "..", "data", "xray"));
    expect(plan.stages.map((s: { name: string; lr: number }) => [s.name, s.lr])).toEqual([
      ["warmup", 1e-3],
      ["finetune", 3e-5],
    ]);
    expect(plan.stages[1].schedule.name).toBe("cosine");
    expect(plan.parameters).toHaveLength(model.graph.params.size);
    expect(plan.parameters.find((p: { name: string }) => p.name === "backbone.bn1.running_mean")).toMatchObject({ buffer: true, role: "backbone" });
  });

  it("freezes per stage exactly as the compiler does", () => {
    const names = [...model.graph.params.keys()];
    const ours = frozenPerStage(model.plan.stages, names).map((s) => [...s].sort());
    expect(ours).toEqual(frozenAfter(model.plan.stages, model.graph).map((s) => [...s].sort()));
    expect(ours[1]!.some((n) => n.startsWith("backbone.layer4"))).toBe(false);
    expect(ours[1]!.some((n) => n.startsWith("backbone.layer3"))).toBe(true);
  });
});

describe("runtimeSpecifier", () => {
  it("uses medg/runtime where it resolves and the package's file URL elsewhere", () => {
    const project = mkdtempSync(join(tmpdir(), "medg-spec-"));
    mkdirSync(join(project, "node_modules", "medg"), { recursive: true });
    writeFileSync(join(project, "node_modules", "medg", "package.json"), JSON.stringify({ name: "medg", exports: { "./runtime": "./runtime.js" } }));
    writeFileSync(join(project, "node_modules", "medg", "runtime.js"), "export {};\n");
    mkdirSync(join(project, "out"));
    expect(runtimeSpecifier(join(project, "out"))).toBe("medg/runtime");
    const bare = mkdtempSync(join(tmpdir(), "medg-spec-bare-"));
    expect(runtimeSpecifier(bare)).toMatch(/^file:\/\/.*\/dist\/runtime\/index\.js$/);
  });
});

describe("the built program", () => {
  it("writes init.safetensors with every parameter and a forward pass that runs", async () => {
    const p = await buildProgram(`model small {
  task classify(classes=3)
  input image(1, 16, 12) | gray_to_rgb
  backbone [conv(8, 3, s=2), bn, relu] | gap
  head mlp(8)
}
`);
    expect([...p.initial.keys()].sort()).toEqual(p.plan.parameters.map((x) => x.name).sort());
    expect(readFileSync(join(p.dir, "model.js"), "utf8")).toContain(JSON.stringify(runtimeUrl));
    const params = Object.fromEntries(p.plan.parameters.map((x) => [x.name, tf.tensor(p.initial.get(x.name)!, x.shape)]));
    const y = p.model.forward(params as never, tf.ones([2, 1, 16, 12]) as never, createForwardContext(tfjs)) as unknown as tf.Tensor;
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
  });
});

describe("loadTf", () => {
  it("loads pure tfjs and says so", async () => {
    const loaded = await loadTf({ prefer: "tfjs" });
    expect(loaded.name).toBe("tfjs");
    expect(loaded.description).toMatch(/^runtime: @tensorflow\/tfjs 4\.\d+\.\d+ \(pure JavaScript, cpu backend/);
    expect(loaded.tf.tensor([1, 2]).shape).toEqual([2]);
  });

  it("falls through to the next runtime when the preferred ones are missing", async () => {
    const reports: string[] = [];
    const loaded = await loadTf({ report: (l) => reports.push(l) });
    // tfjs-node(-gpu) are not installed here: skipped without a report (a failure to load would be
    // reported); the WebAssembly backend is.
    expect(loaded.name).toBe("wasm");
    expect(reports).toEqual([]);
    await loaded.tf.setBackend("cpu");
  });

  it("refuses a runtime asked for by name that is not installed", async () => {
    await expect(loadTf({ prefer: "tfjs-node-gpu" })).rejects.toThrow(/@tensorflow\/tfjs-node-gpu is not installed/);
  });

  // An installed package whose native binding fails to load, as tfjs-node-gpu does on a machine
  // without CUDA 11.2: a real package folder, resolved and imported by loadTf like the real one.
  it("reports an installed GPU build that cannot load CUDA in one line and goes on to the next runtime", async () => {
    const dir = mkdtempSync(join(tmpdir(), "medg-broken-gpu-"));
    const pkg = join(dir, "node_modules", "@tensorflow", "tfjs-node-gpu");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "@tensorflow/tfjs-node-gpu", version: "4.22.0", main: "index.js" }));
    writeFileSync(join(pkg, "index.js"), 'throw new Error("libcudart.so.11.0: cannot open shared object file: No such file or directory");\n');
    const reports: string[] = [];
    const loaded = await loadTf({ searchDirs: [dir], report: (l) => reports.push(l) });
    expect(reports).toEqual([
      "@tensorflow/tfjs-node-gpu cannot load its CUDA libraries (libcudart.so.11.0: cannot open shared object file: No such file or directory); trying @tensorflow/tfjs-node",
    ]);
    expect(loaded.name).toBe("wasm");
    await loaded.tf.setBackend("cpu");
  });

  it("reports a GPU build without its CUDA libraries in one line", () => {
    const error = new Error("libcudart.so.11.0: cannot open shared object file: No such file or directory\n    at Module._extensions..node");
    expect(loadFailure("tfjs-node-gpu", error)).toBe(
      "@tensorflow/tfjs-node-gpu cannot load its CUDA libraries (libcudart.so.11.0: cannot open shared object file: No such file or directory)",
    );
    expect(loadFailure("tfjs-node", new Error("The module was compiled against a different Node.js version"))).toBe(
      "@tensorflow/tfjs-node failed to load (The module was compiled against a different Node.js version)",
    );
  });
});
