/**
 * Lowerings where ONNX's own op, written plainly, disagrees with PyTorch or is refused by
 * onnxruntime. Each case is a tiny model exported with random weights (BN statistics included,
 * so folding matters) and run in onnxruntime against the reference interpreter, which follows
 * PyTorch; the property test draws such cases too, here each has a name.
 */
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { emitOnnx } from "../../src/backends/onnx/emit.js";
import { encodeModel } from "../../src/backends/onnx/export.js";
import type { OnnxTypes } from "../../src/backends/onnx/proto.js";
import { prepareForInference } from "../../src/passes/inference.js";
import { compileText } from "../helpers/compile.js";
import { outputShapes, runReference } from "../reference/interpreter.js";
import { maxAbsDiff, numel, randomData } from "./helpers.js";

interface Result {
  nodes: string[];
  graph: OnnxTypes.IGraphProto;
  dims: number[];
  expectedDims: number[];
  error: number;
}

/** `backbone` on an `input` of batch 2, in onnxruntime and in the reference interpreter. */
async function compare(input: string, backbone: string): Promise<Result> {
  const text = `model m {\n  task regress\n  input ${input}\n  backbone ${backbone}\n}\n`;
  const r = compileText(text);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  const compiled = r.models[0]!;
  const graph = compiled.graph;
  const values = new Map<string, Float32Array>();
  for (const p of graph.params.values()) {
    const data = randomData(numel(p.shape), 100 + values.size);
    values.set(p.name, p.name.endsWith("running_var") ? data.map((v) => 1 + v / 2) : data);
  }
  const inShape = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? 2 : (d as number)));
  const x = randomData(numel(inShape), 7);
  const expectedDims = outputShapes(graph, 2)[0]!;
  const expected = runReference(graph, values, x)[0]!;
  prepareForInference(graph, values);
  const emitted = emitOnnx(compiled, values, { sourceText: text });
  if (!emitted.model) throw new Error(emitted.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  const session = await ort.InferenceSession.create(encodeModel(emitted.model));
  try {
    const out = (await session.run({ input: new ort.Tensor("float32", x, inShape) })).output!;
    const dims = [...out.dims];
    const error = dims.join() === expectedDims.join() ? maxAbsDiff(out.data as Float32Array, expected) : Infinity;
    const g = emitted.model.graph!;
    return { nodes: g.node!.map((n) => n.opType!), graph: g, dims, expectedDims, error };
  } finally {
    await session.release();
  }
}

/** The float values of initializer `name`. */
function floatsOf(graph: OnnxTypes.IGraphProto, name: string): number[] {
  const t = graph.initializer!.find((i) => i.name === name)!;
  const raw = t.rawData!;
  return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
}

describe("conv_transpose with output_padding at or above the stride (below the dilation)", () => {
  it.each([
    ["taken from the end pads", "conv_transpose(3, 3, 1, p=1, output_padding=1, d=2)", ["ConvTranspose"]],
    ["beyond the pads: zeros padded on, then the bias", "conv_transpose(3, 2, 1, output_padding=1, d=2)", ["ConvTranspose", "Pad", "Add"]],
    ["beyond the pads, without a bias", "conv_transpose(3, 2, 1, output_padding=1, d=2, bias=false)", ["ConvTranspose", "Pad"]],
    ["beyond the pads, with a folded bn", "conv_transpose(3, 2, 1, output_padding=1, d=2, bias=false) | bn", ["ConvTranspose", "Pad", "Add"]],
    ["per axis, stride 2 and dilation 3", "conv_transpose(2, 2, [2, 1], output_padding=[1, 2], d=3)", ["ConvTranspose", "Pad", "Add"]],
  ])("%s", async (_, op, nodes) => {
    const r = await compare("image(2, 4, 3)", op);
    expect(r.nodes).toEqual(nodes);
    expect(r.dims).toEqual(r.expectedDims);
    expect(r.error).toBeLessThan(1e-5);
  });
});

describe("a zero constant pad before a pool keeps its zeros (no fusion into the pool's pads)", () => {
  it.each([
    ["maxpool", "pad([1, 1, 1, 1]) | maxpool(3, s=1)"],
    ["maxpool over pads as wide as its kernel", "pad([2, 2, 0, 0]) | maxpool(2)"],
    ["avgpool not counting padding", "pad([1, 0, 1, 0]) | avgpool(2, s=1, p=1, count_include_pad=false)"],
    ["adaptive_maxpool", "pad([1, 1, 1, 1]) | adaptive_maxpool([3, 3])"],
  ])("%s", async (_, op) => {
    const r = await compare("image(2, 4, 4)", op);
    const pad = r.graph.node!.find((n) => n.opType === "Pad")!;
    expect(pad.input).toHaveLength(3);
    expect(Object.is(floatsOf(r.graph, pad.input![2]!)[0], -0)).toBe(true);
    expect(r.error).toBeLessThan(1e-6);
  });

  it("a zero pad before a conv stays implicit (fusing it there is exact)", async () => {
    const r = await compare("image(2, 4, 4)", "pad([1, 1, 1, 1]) | c: conv(2, 3)");
    expect(r.graph.node!.find((n) => n.opType === "Pad")!.input).toHaveLength(2);
    expect(r.error).toBeLessThan(1e-5);
  });
});

/**
 * `op` on a map that a channels-last linear made and ln2d takes: onnxruntime's optimizer may then
 * move the transposes through a Resize, whose cubic mode, so placed, refuses scales below 1 and
 * copies an axis of unchanged length.
 */
const betweenTransposes = (op: string) => `permute([0, 2, 3, 1]) | l0: linear(4) | permute([0, 3, 1, 2]) | ${op} | l1: ln2d(eps=1e-3)`;

describe("resize as PyTorch's interpolate", () => {
  it.each([
    ["bilinear to an output height of 1", "image(2, 4, 6)", 'resize(size=[1, 3], mode="bilinear")'],
    ["linear by a factor to a length of 1", "image(2, 2, 2)", 'reshape([2, 4]) | resize(scale=0.25, mode="linear")'],
    ["trilinear to a depth of 1", "volume(1, 3, 2, 2)", 'resize(size=[1, 3, 2], mode="trilinear")'],
  ])("%s: half_pixel, not pytorch_half_pixel", async (_, input, op) => {
    const r = await compare(input, op);
    const resize = r.graph.node!.find((n) => n.opType === "Resize")!;
    expect(resize.attribute!.find((a) => a.name === "coordinate_transformation_mode")!.s!.toString()).toBe("half_pixel");
    expect(r.error).toBeLessThan(1e-5);
  });

  it.each([
    ["bilinear", 'resize(scale=1.25, mode="bilinear")', "Resize"],
    ["nearest", "resize(scale=1.25)", "Gather"],
    ["bicubic", 'resize(scale=1.25, mode="bicubic")', "MatMul"],
  ])("%s by a factor that leaves every length unchanged (1.25 on 2 x 3)", async (_, op, opType) => {
    const r = await compare("image(2, 2, 3)", op);
    expect(r.nodes).toContain(opType);
    expect(r.error).toBeLessThan(1e-5);
  });

  it.each([
    ["bilinear", 'resize(scale=1.25, mode="bilinear")', "Resize"],
    ["nearest", "resize(scale=1.25)", "Gather"],
    ["bicubic", 'resize(scale=1.25, mode="bicubic")', "MatMul"],
  ])("%s by a factor that keeps the width (2) and grows the height (4 → 5), between transposes", async (_, op, opType) => {
    const r = await compare("image(1, 4, 2)", betweenTransposes(op));
    expect(r.nodes).toContain(opType);
    expect(r.error).toBeLessThan(1e-5);
  });

  it("nearest from 14 to 16 rows picks PyTorch's float32 source rows (row 8 reads row 7)", async () => {
    const r = await compare("image(1, 14, 3)", "resize(size=[16, 3])");
    expect(r.nodes).toEqual(["Gather"]);
    const index = r.graph.initializer!.find((t) => t.name === r.graph.node![0]!.input![1])!;
    const raw = index.rawData!;
    const rows = Array.from(new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), Number);
    expect(rows).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13]);
    expect(r.error).toBe(0);
  });

  it.each([
    ["to a size", 'resize(size=[3, 5], mode="bicubic")'],
    ["with align_corners", 'resize(size=[3, 2], mode="bicubic", align_corners=true)'],
    ["by a factor", 'resize(scale=0.5, mode="bicubic")'],
  ])("bicubic shrinking %s, between transposes: constant interpolation matrices", async (_, op) => {
    const r = await compare("image(1, 7, 4)", betweenTransposes(op));
    expect(r.nodes.filter((n) => n === "MatMul")).toHaveLength(3);
    expect(r.nodes).not.toContain("Resize");
    expect(r.error).toBeLessThan(1e-5);
  });
});

describe("avgpool in ceil mode counting padding, where PyTorch drops a last window starting in the padding", () => {
  it.each([
    ["on every axis with a partial window: floor mode", "image(2, 2, 2)", "avgpool(3, p=1, ceil=true)", ["AveragePool", "Flatten", "Gemm"]],
    ["on one axis while the other keeps one: padding written out", "image(2, 3, 2)", "avgpool(3, p=1, ceil=true)", ["Pad", "AveragePool", "Flatten", "Gemm"]],
  ])("%s", async (_, input, op, nodes) => {
    const r = await compare(input, `${op} | flatten | l: linear(3)`);
    expect(r.nodes).toEqual(nodes);
    expect(r.error).toBeLessThan(1e-5);
  });
});

describe("constants of nodes under one scope", () => {
  it("two resizes of the backbone get scale constants of their own", async () => {
    const r = await compare("image(2, 4, 4)", 'concat(resize(scale=2, mode="bilinear"), resize(scale=2.1, mode="bilinear"))');
    const scales = r.graph.node!.filter((n) => n.opType === "Resize").map((n) => n.input![2]!);
    expect(new Set(scales).size).toBe(2);
    expect(scales.map((s) => floatsOf(r.graph, s))).toEqual([
      [1, 1, 2, 2],
      [1, 1, Math.fround(2.1), Math.fround(2.1)],
    ]);
    expect(r.error).toBeLessThan(1e-5);
  });
});
