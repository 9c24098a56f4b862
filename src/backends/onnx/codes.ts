/** Diagnostic codes of the ONNX export (the registry's 7xx range). */
import type { Code } from "../../diagnostics/codes.js";

export const EXPORT_CODES = {
  /** An opset outside what the backend writes. */
  opset: "MEDG701",
  /** An op the table has no lowering for (a table keyed by OpName makes this unreachable). */
  noLowering: "MEDG702",
  /** Attributes ONNX cannot express (e.g. overlapping adaptive max pooling), or no complete graph. */
  unsupported: "MEDG703",
  /** A parameter without a value at export time (exported as zeros). */
  missingValue: "MEDG704",
} as const satisfies Record<string, Code>;
