/**
 * Accumulates an ONNX graph: nodes with unique readable names, and initializers, small integer
 * constants shared by content. Knows nothing about the IR; the emitter and lowerings drive it.
 */
import type { OnnxTypes } from "./proto.js";
import { onnx } from "./proto.js";

type NodeProto = OnnxTypes.INodeProto;
type TensorProto = OnnxTypes.ITensorProto;
type AttributeProto = OnnxTypes.IAttributeProto;

/** A node attribute with its ONNX type made explicit (a JS number does not say int or float). */
export type Attr =
  | { type: "int"; value: number }
  | { type: "ints"; value: readonly number[] }
  | { type: "float"; value: number }
  | { type: "floats"; value: readonly number[] }
  | { type: "string"; value: string };

export const int = (value: number): Attr => ({ type: "int", value });
export const ints = (value: readonly number[]): Attr => ({ type: "ints", value });
export const float = (value: number): Attr => ({ type: "float", value });
export const floats = (value: readonly number[]): Attr => ({ type: "floats", value });
export const str = (value: string): Attr => ({ type: "string", value });

export type Attrs = Readonly<Record<string, Attr>>;

const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

function attribute(name: string, a: Attr): AttributeProto {
  switch (a.type) {
    case "int":
      return { name, type: AttributeType.INT, i: a.value };
    case "ints":
      return { name, type: AttributeType.INTS, ints: [...a.value] };
    case "float":
      return { name, type: AttributeType.FLOAT, f: a.value };
    case "floats":
      return { name, type: AttributeType.FLOATS, floats: [...a.value] };
    case "string":
      return { name, type: AttributeType.STRING, s: Buffer.from(a.value, "utf8") };
  }
}

function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  // Typed arrays use the platform's byte order; ONNX raw_data is little-endian.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const size = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += size) for (let b = 0; b < size; b++) out[i + b] = bytes[i + size - 1 - b]!;
  return out;
}

export class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers = new Map<string, TensorProto>();
  private readonly usedNames = new Set<string>();

  /**
   * Adds a node named `base/OpType` (suffixed `_2`, `_3`… when taken); its single output is named
   * like the node, several outputs `name:0`, `name:1`…, unless `outputs` names them.
   */
  node(base: string, doc: string, opType: string, inputs: readonly string[], attrs: Attrs = {}, outputs: number | readonly string[] = 1): { name: string; outputs: string[] } {
    const name = this.uniqueName(`${base}/${opType}`);
    const names =
      typeof outputs !== "number" ? [...outputs] : outputs === 1 ? [name] : Array.from({ length: outputs }, (_, i) => `${name}:${i}`);
    const node: NodeProto = {
      name,
      opType,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    };
    if (doc) node.docString = doc;
    this.nodes.push(node);
    return { name, outputs: names };
  }

  private uniqueName(wanted: string): string {
    let name = wanted;
    for (let k = 2; this.usedNames.has(name); k++) name = `${wanted}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.initializers.has(name);
  }

  /** A float32 initializer; adding the same name twice keeps the first. */
  floats(name: string, dims: readonly number[], data: Float32Array, doc?: string): string {
    if (!this.initializers.has(name)) {
      const t: TensorProto = { name, dims: [...dims], dataType: DataType.FLOAT, rawData: littleEndianBytes(data) };
      if (doc) t.docString = doc;
      this.initializers.set(name, t);
    }
    return name;
  }

  /** A float32 initializer under a name of its own: `wanted`, or `wanted_2`, `wanted_3`… when taken. */
  freshFloats(wanted: string, dims: readonly number[], data: Float32Array, doc?: string): string {
    let name = wanted;
    for (let k = 2; this.initializers.has(name); k++) name = `${wanted}_${k}`;
    return this.floats(name, dims, data, doc);
  }

  /** An int64 initializer; adding the same name twice keeps the first. */
  int64s(name: string, dims: readonly number[], values: readonly number[]): string {
    if (!this.initializers.has(name)) {
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      this.initializers.set(name, { name, dims: [...dims], dataType: DataType.INT64, rawData: littleEndianBytes(data) });
    }
    return name;
  }

  /** A small int64 vector shared by content: `shape[0,196,768]`, `axes[1]`. */
  intList(purpose: string, values: readonly number[]): string {
    return this.int64s(`${purpose}[${values.join(",")}]`, [values.length], values);
  }

  /** A float32 scalar shared by value: `scalar(0.5)`, `scalar(-0)`. */
  scalar(value: number): string {
    return this.floats(`scalar(${Object.is(value, -0) ? "-0" : value})`, [], Float32Array.of(value));
  }

  /** A float32 vector filled with one value, shared by size and value: `fill(1,[96])`. */
  filled(value: number, size: number): string {
    return this.floats(`fill(${value},[${size}])`, [size], new Float32Array(size).fill(value));
  }

  /** Renames tensor `from` to `to` wherever a node of `nodes` produces or consumes it. */
  rename(from: string, to: string, nodes: readonly NodeProto[] = this.nodes): void {
    for (const n of nodes) {
      n.output = n.output!.map((o) => (o === from ? to : o));
      n.input = n.input!.map((i) => (i === from ? to : i));
    }
  }
}
