/**
 * One stdlib backbone through the whole ONNX path: export with `classes`, load in onnxruntime,
 * run a batch of 2; the output has the IR's shape and finite values, the metadata is there.
 */
import { expect } from "vitest";
import { exportText, run, withBatch } from "./helpers.js";

export async function checkBackbone(name: string, size: number, classes = 5): Promise<void> {
  const text = `model ${name}_net {\n  input image(3, ${size}, ${size})\n  backbone ${name}(classes=${classes})\n}\n`;
  const exported = exportText(text);
  const graph = exported.model!.graph!;
  expect(graph.input!.map((v) => v.name)).toEqual(["input"]);
  expect(graph.output!.map((v) => v.name)).toEqual(["logits"]);
  const keys = exported.model!.metadataProps!.map((p) => p.key);
  expect(keys).toEqual(expect.arrayContaining(["medg.version", "medg.source_sha256", "medg.model", "medg.task", "medg.classes", "medg.input", "medg.normalize"]));
  // No identity chains, and shapes are constants: at most one runtime shape read (a class token's batch).
  expect(graph.node!.filter((n) => n.opType === "Identity")).toEqual([]);
  expect(graph.node!.filter((n) => n.opType === "Shape").length).toBeLessThanOrEqual(1);
  const out = await run(exported.bytes, [2, 3, size, size]);
  expect(out.logits!.dims).toEqual(withBatch(exported.compiled.graph.outputs[0]!.type.shape, 2));
  expect(out.logits!.dims).toEqual([2, classes]);
  expect(out.logits!.data.every(Number.isFinite)).toBe(true);
}
