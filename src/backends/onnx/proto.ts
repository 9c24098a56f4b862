/**
 * The ONNX protobuf messages. onnx-proto is CommonJS; Node's ESM loader does not see its named
 * export, so the namespace is taken from the default export once, here.
 */
import onnxProto from "onnx-proto";
import type { onnx as OnnxNs } from "onnx-proto";

export const onnx: typeof OnnxNs = onnxProto.onnx;
export type { OnnxNs as OnnxTypes };
