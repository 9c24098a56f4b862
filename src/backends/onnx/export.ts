/**
 * The ONNX backend's pipeline for one compiled model: parameter values (weights files, then the
 * init rules for whatever they leave), inference rewrites (no-ops out, BatchNorm folded), then
 * emission. Mutates the model's graph.
 */
import type { Diagnostic } from "../../diagnostics/diagnostic.js";
import { prepareForInference, type InferenceReport } from "../../passes/inference.js";
import type { CompiledModel } from "../../semantics/model.js";
import { initialValues } from "../../weights/init.js";
import { loadWeights, weightSources } from "../../weights/match.js";
import { emitOnnx, type EmitOptions } from "./emit.js";
import { onnx, type OnnxTypes } from "./proto.js";

export interface ExportOptions extends EmitOptions {
  /** `--weights [ROLE=]FILE` sources, after those named on the model's roles. */
  weights?: readonly { role?: string; file: string }[];
  /** Seed of the init rules for parameters no weights file gives. Default 0. */
  seed?: number;
  /** Keep BatchNorm nodes instead of folding them into the layer before. */
  keepBn?: boolean;
}

export interface ExportResult {
  model: OnnxTypes.ModelProto | null;
  diagnostics: Diagnostic[];
  inference: InferenceReport;
  /** Parameters that came from weights files. */
  loaded: number;
}

export function exportOnnx(model: CompiledModel, options: ExportOptions): ExportResult {
  const sources = weightSources(model, options.weights ?? []);
  const loaded = sources.length ? loadWeights(model, sources) : { values: new Map<string, Float32Array>(), diagnostics: [] };
  // Name and shape mismatches were reported when the model was checked; only a read failing now is new.
  const diagnostics = loaded.diagnostics.filter((d) => d.severity === "error");
  const values = initialValues(model.graph, { seed: options.seed ?? 0, skip: loaded.values });
  for (const [name, value] of loaded.values) values.set(name, value);
  const inference = prepareForInference(model.graph, values, { keepBn: options.keepBn ?? false });
  if (diagnostics.length) return { model: null, diagnostics, inference, loaded: loaded.values.size };
  const emitted = emitOnnx(model, values, options);
  return { model: emitted.model, diagnostics: [...diagnostics, ...emitted.diagnostics], inference, loaded: loaded.values.size };
}

export function encodeModel(model: OnnxTypes.ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
