/**
 * One segmentation model of the stdlib through the ONNX path: export, load in onnxruntime, run a
 * batch of 2; logits at the input resolution, finite, every shape a constant (no runtime shape
 * reads, no Identity chains).
 */
import { expect } from "vitest";
import { exportText, run, withBatch } from "./helpers.js";

export async function checkSegmenter(call: string, size: number, classes: number): Promise<void> {
  const text = `model seg_net {\n  task segment(classes=${classes})\n  input image(3, ${size}, ${size})\n  backbone ${call}\n}\n`;
  const exported = exportText(text);
  const graph = exported.model!.graph!;
  expect(graph.input!.map((v) => v.name)).toEqual(["input"]);
  expect(graph.node!.filter((n) => n.opType === "Identity" || n.opType === "Shape")).toEqual([]);
  const out = Object.values(await run(exported.bytes, [2, 3, size, size]))[0]!;
  expect(out.dims).toEqual(withBatch(exported.compiled.graph.outputs[0]!.type.shape, 2));
  expect(out.dims).toEqual([2, classes, size, size]);
  expect(out.data.every(Number.isFinite)).toBe(true);
}
