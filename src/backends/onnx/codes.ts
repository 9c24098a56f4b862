/**
 * Diagnostic codes of the ONNX export. The registry has no export range yet, so these map to
 * the closest existing codes; one place to change when it does.
 */
import type { Code } from "../../diagnostics/codes.js";

export const EXPORT_CODES = {
  /** An opset outside what the backend writes. */
  opset: "MEDG213",
  /** An op the table has no lowering for (a table keyed by OpName makes this unreachable). */
  noLowering: "MEDG306",
  /** Attributes ONNX cannot express (e.g. overlapping adaptive max pooling). */
  unsupported: "MEDG306",
  /** A parameter without a value at export time. */
  missingValue: "MEDG603",
} as const satisfies Record<string, Code>;
