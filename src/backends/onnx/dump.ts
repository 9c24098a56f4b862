/**
 * A readable text form of an ONNX model for golden tests and eyes: header, metadata, inputs and
 * outputs with shapes, initializers with shapes (values for small integer ones), then one line
 * per node with its attributes and, where it adds anything, the label path it came from.
 */
import { onnx, type OnnxTypes } from "./proto.js";

const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

const TYPE_NAMES: Readonly<Record<number, string>> = { [DataType.FLOAT]: "float32", [DataType.INT64]: "int64" };

export interface DumpOptions {
  /** Metadata keys whose values are shown as `…` (they change with every release or edit). */
  volatile?: readonly string[];
}

const num = (x: number | { toNumber(): number }) => (typeof x === "number" ? x : x.toNumber());

function typeText(t: OnnxTypes.ITypeProto | null | undefined): string {
  const tensor = t?.tensorType;
  if (!tensor) return "?";
  const dims = (tensor.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? String(num(d.dimValue)) : "?"));
  return `${TYPE_NAMES[tensor.elemType ?? 0] ?? `type${tensor.elemType}`}[${dims.join(", ")}]`;
}

function tensorValues(t: OnnxTypes.ITensorProto): number[] | null {
  const raw = t.rawData;
  if (!raw) return null;
  const bytes = Uint8Array.from(raw);
  const view = new DataView(bytes.buffer);
  if (t.dataType === DataType.INT64) return Array.from({ length: bytes.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  if (t.dataType === DataType.FLOAT) return Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
  return null;
}

function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(7)));
}

function attributeText(a: OnnxTypes.IAttributeProto): string {
  switch (a.type) {
    case AttributeType.INT:
      return `${a.name}=${num(a.i ?? 0)}`;
    case AttributeType.INTS:
      return `${a.name}=[${(a.ints ?? []).map(num).join(", ")}]`;
    case AttributeType.FLOAT:
      return `${a.name}=${formatNumber(a.f ?? 0)}`;
    case AttributeType.FLOATS:
      return `${a.name}=[${(a.floats ?? []).map(formatNumber).join(", ")}]`;
    case AttributeType.STRING:
      return `${a.name}="${Buffer.from(a.s ?? []).toString("utf8")}"`;
    default:
      return `${a.name}=<type ${a.type}>`;
  }
}

export function dumpModel(model: OnnxTypes.IModelProto, options: DumpOptions = {}): string {
  const g = model.graph ?? {};
  const lines: string[] = [];
  const opsets = (model.opsetImport ?? []).map((o) => `${o.domain || "ai.onnx"} ${num(o.version ?? 0)}`).join(", ");
  lines.push(`model ${g.name ?? ""}: ir_version ${num(model.irVersion ?? 0)}, opset ${opsets}, producer ${model.producerName ?? ""}`);
  if (model.metadataProps?.length) {
    lines.push("metadata");
    for (const p of model.metadataProps) lines.push(`  ${p.key} = ${options.volatile?.includes(p.key!) ? "…" : p.value}`);
  }
  lines.push("inputs");
  for (const v of g.input ?? []) lines.push(`  ${v.name}: ${typeText(v.type)}`);
  lines.push("outputs");
  for (const v of g.output ?? []) lines.push(`  ${v.name}: ${typeText(v.type)}`);
  lines.push("initializers");
  for (const t of g.initializer ?? []) {
    const dims = (t.dims ?? []).map(num);
    // Integer constants and float scalars are shown; parameter values are not (they are data, not structure).
    const values = t.dataType === DataType.INT64 || dims.length === 0 ? tensorValues(t) : null;
    const shown = values && values.length <= 8 ? ` = ${values.length === 1 && dims.length === 0 ? formatNumber(values[0]!) : `[${values.map(formatNumber).join(", ")}]`}` : "";
    lines.push(`  ${t.name}: ${TYPE_NAMES[t.dataType ?? 0] ?? `type${t.dataType}`}[${dims.join(", ")}]${shown}`);
  }
  lines.push("nodes");
  for (const n of g.node ?? []) {
    const outputs = n.output ?? [];
    const single = outputs.length === 1 && outputs[0] === n.name;
    const attrs = (n.attribute ?? []).map(attributeText);
    const scope = n.docString && !n.name?.startsWith(`${n.docString}/`) ? `  # ${n.docString}` : "";
    lines.push(
      `  ${single ? "" : `${outputs.join(", ")} = `}${n.name}: ${n.opType}(${(n.input ?? []).join(", ")})${attrs.length ? ` {${attrs.join(", ")}}` : ""}${scope}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
