/** The lowering table covers the IR's operators, and what ONNX cannot express is a diagnostic, not a crash. */
import { describe, expect, it } from "vitest";
import { emitOnnx } from "../../src/backends/onnx/emit.js";
import { exportOnnx } from "../../src/backends/onnx/export.js";
import { lowerings } from "../../src/backends/onnx/lowerings/index.js";
import { opNames, opTable } from "../../src/ir/ops/index.js";
import { compileText } from "../helpers/compile.js";
import { exportText, run } from "./helpers.js";

describe("the ONNX lowering table", () => {
  it("opNames lists exactly the operators of opTable", () => {
    expect([...opNames].sort()).toEqual([...opTable.keys()].sort());
  });

  it("has one lowering per operator", () => {
    expect(Object.keys(lowerings).sort()).toEqual([...opNames].sort());
  });

  it("reports an op ONNX cannot express at its source span", () => {
    const text = "model m {\n  input image(3, 7, 7)\n  backbone adaptive_maxpool(3)\n}\n";
    const model = compileText(text).models[0]!;
    const r = exportOnnx(model, { sourceText: text });
    expect(r.model).toBeNull();
    expect(r.diagnostics.map((d) => [d.code, d.span.start.line, d.message])).toEqual([
      [
        "MEDG703",
        3,
        "cannot export backbone to ONNX opset 17: adaptive_maxpool from 7x7 to 3x3 has overlapping windows, which ONNX has no op for; choose an output size that divides the input",
      ],
    ]);
  });

  it("reports an opset outside 17–20 at the model", () => {
    const text = "model m {\n  input image(3, 8, 8)\n  backbone relu\n}\n";
    const model = compileText(text).models[0]!;
    const r = emitOnnx(model, new Map(), { sourceText: text, opset: 21 });
    expect(r.model).toBeNull();
    expect(r.diagnostics.map((d) => `${d.code} ${d.span.start.line} ${d.message}`)).toEqual(["MEDG701 1 ONNX export supports opsets 17 to 20, got 21"]);
  });

  it.each([17, 18, 19, 20])("a model using the opset-dependent ops runs at opset %i", async (opset) => {
    const text = `model m {
  task segment(classes=2)
  input image(2, 8, 8)
  backbone a: conv(4, 3) | gn(groups=2) | gelu | split(2) | concat | upsample(size=[12, 12], mode="bilinear")
    | permute([0, 2, 3, 1]) | flatten(1, 2) | mean_tokens(start=1)
}
`;
    const exported = exportText(text, { opset });
    const out = await run(exported.bytes, [2, 2, 8, 8]);
    expect(out.output!.dims).toEqual([2, 4]);
    expect(out.output!.data.every(Number.isFinite)).toBe(true);
  });

  it("a graph output that is the input passed through gets an Identity of its own", async () => {
    const exported = exportText("model m {\n  task regress\n  input image(1, 2, 2)\n  backbone identity\n}\n");
    expect(exported.model!.graph!.node!.map((n) => `${n.opType}(${n.input!.join(", ")}) -> ${n.output!.join(", ")}`)).toEqual(["Identity(input) -> output"]);
    const out = await run(exported.bytes, [1, 1, 2, 2], Float32Array.of(1, 2, 3, 4));
    expect(Array.from(out.output!.data)).toEqual([1, 2, 3, 4]);
  });
});
