/** Every model in examples/ exports to ONNX and runs in onnxruntime at its declared input size. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import { exportModel, run, withBatch } from "./helpers.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const examples = readdirSync(join(repoRoot, "examples"))
  .filter((f) => f.endsWith(".medg"))
  .sort();

describe("ONNX export of the examples", () => {
  it("has examples", () => expect(examples.length).toBeGreaterThanOrEqual(5));

  it.each(examples)("%s", async (name) => {
    const file = join(repoRoot, "examples", name);
    const text = readFileSync(file, "utf8");
    const r = compileFile(file, { root: repoRoot });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    for (const model of r.models) {
      const exported = exportModel(model, text);
      const input = withBatch(model.graph.inputs[0]!.type.shape, 1);
      const outputs = await run(exported.bytes, input);
      const names = exported.model!.graph!.output!.map((v) => v.name!);
      expect(Object.keys(outputs).sort()).toEqual([...names].sort());
      model.graph.outputs.forEach((v, i) => {
        const out = outputs[names[i]!]!;
        expect(out.dims).toEqual(withBatch(v.type.shape, 1));
        expect(out.data.every(Number.isFinite)).toBe(true);
      });
      const meta = Object.fromEntries(exported.model!.metadataProps!.map((p) => [p.key, p.value]));
      expect(meta["medg.model"]).toBe(model.name);
      expect(JSON.parse(meta["medg.input"]!)).toMatchObject({ kind: model.plan.input!.kind, shape: model.plan.input!.shape });
      const classes = model.plan.task?.args["classes"];
      expect(JSON.parse(meta["medg.classes"]!)).toEqual(Array.isArray(classes) ? classes : null);
    }
  });
});
