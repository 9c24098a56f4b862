/**
 * IR graph → ONNX ModelProto: each node through its op's lowering, in graph order; graph
 * outputs renamed for the task; initializers from the parameter values. Problems are
 * diagnostics at the IR node's source span.
 */
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { Param, Value } from "../../ir/graph.js";
import { isOpName } from "../../ir/ops/index.js";
import type { Shape } from "../../ir/types.js";
import { taskName } from "../../policy/plan.js";
import type { CompiledModel } from "../../semantics/model.js";
import { OnnxGraphBuilder } from "./builder.js";
import { EXPORT_CODES } from "./codes.js";
import { LoweringContext, isFailure } from "./lowering.js";
import { lowerings } from "./lowerings/index.js";
import { medgVersion, metadataProps } from "./metadata.js";
import { onnx, type OnnxTypes } from "./proto.js";

export const DEFAULT_OPSET = 17;
export const MIN_OPSET = 17;
export const MAX_OPSET = 20;
/** ONNX IR version 8 (onnx 1.10–1.12): what every runtime of the last years reads. */
export const IR_VERSION = 8;

export interface EmitOptions {
  opset?: number;
  /** A fixed batch size instead of the symbolic `N`. */
  fixedBatch?: number | null;
  /** The model file's text, hashed into the metadata. */
  sourceText: string;
}

export interface EmitResult {
  model: OnnxTypes.ModelProto | null;
  diagnostics: Diagnostic[];
}

/** Output names: `logits` for a classifier's single output, else `output` / `output_0`, `output_1`… */
export function outputNames(model: CompiledModel): string[] {
  const n = model.graph.outputs.length;
  if (n === 1) return [taskName(model.plan) === "classify" ? "logits" : "output"];
  return Array.from({ length: n }, (_, i) => `output_${i}`);
}

function valueInfo(name: string, shape: Shape, batch: number | null): OnnxTypes.IValueInfoProto {
  const dim = shape.map((d, i): OnnxTypes.TensorShapeProto.IDimension =>
    typeof d === "number" ? { dimValue: d } : i === 0 && batch !== null ? { dimValue: batch } : i === 0 ? { dimParam: d } : {},
  );
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}

export function emitOnnx(model: CompiledModel, values: ReadonlyMap<string, Float32Array>, options: EmitOptions): EmitResult {
  const diagnostics: Diagnostic[] = [];
  const opset = options.opset ?? DEFAULT_OPSET;
  const batch = options.fixedBatch ?? null;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    diagnostics.push(diagnostic(EXPORT_CODES.opset, model.span, `ONNX export supports opsets ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`));
    return { model: null, diagnostics };
  }
  const graph = model.graph;
  if (graph.inputs.length === 0 || graph.outputs.length === 0) {
    diagnostics.push(diagnostic(EXPORT_CODES.unsupported, model.span, `model ${model.name} has no complete graph to export`));
    return { model: null, diagnostics };
  }

  const builder = new OnnxGraphBuilder();
  const names = new Map<Value, string>();
  for (const v of graph.inputs) names.set(v, v.name ?? "input");
  const wanted = outputNames(model);
  const claimed = new Set<string>();
  const missing = new Set<Param>();

  for (const node of graph.nodes) {
    const inputs = node.inputs.map((v) => names.get(v));
    if (inputs.some((x) => x === undefined)) continue; // downstream of a node that failed to lower
    if (!isOpName(node.op)) {
      diagnostics.push(diagnostic(EXPORT_CODES.noLowering, node.span, `${node.op} has no ONNX lowering`));
      continue;
    }
    const before = builder.nodes.length;
    const ctx = new LoweringContext(node, inputs as string[], builder, values, opset, batch, (p) => missing.add(p));
    let result: string[] | { failure: string };
    try {
      result = lowerings[node.op](ctx);
    } catch (e) {
      result = { failure: `internal error while lowering ${node.op}: ${(e as Error).message}` };
    }
    if (isFailure(result) || result.length !== node.outputs.length) {
      const message = isFailure(result) ? result.failure : `${node.op} lowered to ${result.length} outputs, expected ${node.outputs.length}`;
      diagnostics.push(diagnostic(EXPORT_CODES.unsupported, node.span, `cannot export ${node.scope || node.op} to ONNX opset ${opset}: ${message}`));
      continue;
    }
    const created = new Set(builder.nodes.slice(before).flatMap((n) => n.output!));
    node.outputs.forEach((v, i) => {
      let name = result[i]!;
      graph.outputs.forEach((out, k) => {
        if (out !== v) return;
        const target = wanted[k]!;
        // A tensor this lowering made takes the output's name; anything else (an input passed
        // through, a tensor already named as another output) is copied by an Identity.
        if (created.has(name) && !claimed.has(name)) {
          builder.rename(name, target, builder.nodes.slice(before));
          created.delete(name);
        } else builder.node(node.scope || node.op, node.scope, "Identity", [name], {}, [target]);
        claimed.add(target);
        name = target;
      });
      names.set(v, name);
    });
  }
  if (missing.size)
    diagnostics.push(
      diagnostic(EXPORT_CODES.missingValue, model.span, `no value for ${missing.size} parameter${missing.size === 1 ? "" : "s"} (${[...missing].slice(0, 5).map((p) => p.name).join(", ")}${missing.size > 5 ? ", …" : ""}); exported as zeros`),
    );
  if (diagnostics.some((d) => d.severity === "error")) return { model: null, diagnostics };

  // Only initializers some node reads (a lowering may have replaced a parameter by a derived one).
  const read = new Set(builder.nodes.flatMap((n) => n.input!));
  const initializer = [...builder.initializers.values()].filter((t) => read.has(t.name!));

  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "medg",
    producerVersion: medgVersion(),
    ...(model.doc ? { docString: model.doc } : {}),
    graph: {
      name: model.name,
      node: builder.nodes,
      initializer,
      input: graph.inputs.map((v) => valueInfo(names.get(v)!, v.type.shape, batch)),
      output: graph.outputs.map((v, k) => valueInfo(wanted[k]!, v.type.shape, batch)),
    },
    metadataProps: metadataProps(model, options.sourceText),
  });
  return { model: proto, diagnostics };
}
