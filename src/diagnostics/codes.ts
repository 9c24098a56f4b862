/**
 * The one registry of diagnostic codes. 1xx syntax, 2xx names, 3xx shapes and channels,
 * 4xx training policy, 5xx domain lints, 6xx weights, 7xx export. Messages are written where the problem is found;
 * this table gives each code its severity and a one-line title (used in docs and JSON).
 */
export type Severity = "error" | "warning" | "info";

export interface CodeInfo {
  severity: Severity;
  title: string;
}

export const codes = {
  MEDG101: { severity: "error", title: "unexpected token" },
  MEDG102: { severity: "error", title: "unrecognised character" },
  MEDG103: { severity: "error", title: "unterminated string" },
  MEDG104: { severity: "error", title: "invalid number" },
  MEDG105: { severity: "error", title: "invalid string interpolation" },

  MEDG201: { severity: "error", title: "unknown name" },
  MEDG202: { severity: "error", title: "unknown argument" },
  MEDG203: { severity: "error", title: "wrong argument type" },
  MEDG204: { severity: "error", title: "wrong number of arguments" },
  MEDG205: { severity: "error", title: "unknown tap" },
  MEDG206: { severity: "error", title: "import not found" },
  MEDG207: { severity: "error", title: "import cycle" },
  MEDG208: { severity: "error", title: "import outside the project root" },
  MEDG209: { severity: "error", title: "duplicate definition" },
  MEDG210: { severity: "error", title: "duplicate parameter name" },
  MEDG211: { severity: "error", title: "unknown model" },
  MEDG212: { severity: "error", title: "evaluation limit exceeded" },
  MEDG213: { severity: "error", title: "invalid value" },
  MEDG214: { severity: "error", title: "not a block" },

  MEDG301: { severity: "error", title: "channel mismatch" },
  MEDG302: { severity: "error", title: "rank mismatch" },
  MEDG303: { severity: "error", title: "spatial size too small" },
  MEDG304: { severity: "error", title: "spatial size not divisible" },
  MEDG305: { severity: "error", title: "shape mismatch" },
  MEDG306: { severity: "error", title: "invalid operator attribute" },
  MEDG307: { severity: "error", title: "wrong number of inputs" },

  MEDG401: { severity: "error", title: "unknown policy entry" },
  MEDG402: { severity: "error", title: "missing model part" },
  MEDG403: { severity: "error", title: "unknown stage target" },
  MEDG404: { severity: "error", title: "invalid stage" },
  MEDG405: { severity: "error", title: "duplicate policy statement" },
  MEDG406: { severity: "warning", title: "questionable training policy" },

  MEDG501: { severity: "error", title: "input channels do not match a pretrained backbone" },
  MEDG502: { severity: "info", title: "head without classes: 2 assumed" },

  MEDG601: { severity: "error", title: "unreadable weights file" },
  MEDG602: { severity: "error", title: "weight shape mismatch" },
  MEDG603: { severity: "warning", title: "parameters missing from the weights" },
  MEDG604: { severity: "warning", title: "unused tensors in the weights" },
  MEDG605: { severity: "info", title: "reference classifier not loaded" },
  MEDG606: { severity: "info", title: "first convolution adapted to the input channels" },

  MEDG701: { severity: "error", title: "opset not supported" },
  MEDG702: { severity: "error", title: "no lowering for an operator" },
  MEDG703: { severity: "error", title: "operator not expressible in the target" },
  MEDG704: { severity: "warning", title: "parameter without a value" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof codes;
