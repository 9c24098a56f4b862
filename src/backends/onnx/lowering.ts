/**
 * What a lowering sees: one IR node, the ONNX names of its inputs, and verbs that add ONNX nodes
 * and initializers under the node's scope. A lowering returns the ONNX name of each IR output,
 * or a failure the emitter reports at the node's source span.
 */
import type { Node, Param } from "../../ir/graph.js";
import type { Dim, Shape } from "../../ir/types.js";
import type { Attrs, OnnxGraphBuilder } from "./builder.js";

export interface LoweringFailure {
  failure: string;
}

export type Lowering = (ctx: LoweringContext) => string[] | LoweringFailure;

export function isFailure(x: unknown): x is LoweringFailure {
  return typeof x === "object" && x !== null && "failure" in x;
}

export class LoweringContext {
  constructor(
    readonly node: Node,
    private readonly inputs: readonly string[],
    private readonly builder: OnnxGraphBuilder,
    private readonly values: ReadonlyMap<string, Float32Array>,
    readonly opset: number,
    /** The batch size when fixed (`--fixed-batch`), else null (symbolic). */
    readonly batch: number | null,
    private readonly missing: (param: Param) => void,
  ) {}

  /** The ONNX tensor of IR input `i`. */
  input(i = 0): string {
    return this.inputs[i]!;
  }

  get inputCount(): number {
    return this.inputs.length;
  }

  inputShape(i = 0): Shape {
    return this.node.inputs[i]!.type.shape;
  }

  outputShape(i = 0): Shape {
    return this.node.outputs[i]!.type.shape;
  }

  attr<T>(key: string): T {
    return this.node.attrs[key] as T;
  }

  /** Names ONNX nodes after the label path; input handling outside any label uses the op name. */
  private get base(): string {
    return this.node.scope || this.node.op;
  }

  /** Adds one ONNX node and returns its output. */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}): string {
    return this.builder.node(this.base, this.node.scope, opType, inputs, attrs).outputs[0]!;
  }

  /** Adds one ONNX node with `count` outputs. */
  ops(opType: string, inputs: readonly string[], attrs: Attrs, count: number): string[] {
    return this.builder.node(this.base, this.node.scope, opType, inputs, attrs, count).outputs;
  }

  private findParam(suffix: string): Param | undefined {
    const name = suffix ? `${this.node.scope}.${suffix}` : this.node.scope;
    return this.node.params.find((p) => p.name === name);
  }

  hasParam(suffix: string): boolean {
    return this.findParam(suffix) !== undefined;
  }

  /** The node's parameter `suffix` (`weight`, `norm.bias`; "" is the scope itself) as an initializer of the same name. */
  param(suffix: string): string {
    const p = this.findParam(suffix);
    if (!p) throw new Error(`${this.node.op} at ${this.node.scope} has no parameter '${suffix}'`);
    return this.builder.floats(p.name, p.shape, this.value(p));
  }

  /** The value of the node's parameter `suffix`. */
  paramValue(suffix: string): { name: string; shape: readonly number[]; data: Float32Array } {
    const p = this.findParam(suffix);
    if (!p) throw new Error(`${this.node.op} at ${this.node.scope} has no parameter '${suffix}'`);
    return { name: p.name, shape: p.shape, data: this.value(p) };
  }

  private value(p: Param): Float32Array {
    const v = this.values.get(p.name);
    if (v && v.length === p.shape.reduce((a, b) => a * b, 1)) return v;
    this.missing(p);
    return new Float32Array(p.shape.reduce((a, b) => a * b, 1));
  }

  /**
   * An initializer computed from a parameter at export time (transposed, rescaled, reshaped),
   * named `<param>:<tag>` so it is never mistaken for the parameter itself.
   */
  derived(suffix: string, tag: string, dims: readonly number[], compute: (value: Float32Array, shape: readonly number[]) => Float32Array, doc: string): string {
    const p = this.paramValue(suffix);
    const name = `${p.name}:${tag}`;
    if (this.builder.has(name)) return name;
    return this.builder.floats(name, dims, compute(p.data, p.shape), doc);
  }

  /**
   * A float constant belonging to this node: `<scope>/<what>`, suffixed `_2`, `_3`… when another
   * node of the same scope took the name first, so each node's constant is its own.
   */
  constant(what: string, dims: readonly number[], data: Float32Array, doc?: string): string {
    return this.builder.freshFloats(`${this.base}/${what}`, dims, data, doc);
  }

  /** A float constant shared by content under `key`, which must name what determines its values. */
  shared(key: string, dims: readonly number[], data: Float32Array, doc?: string): string {
    return this.builder.floats(key, dims, data, doc);
  }

  /** A small int64 vector shared by content (`shape[0,196,768]`). */
  ints(purpose: string, values: readonly number[]): string {
    return this.builder.intList(purpose, values);
  }

  /** An int64 tensor shared under an explicit name (index tables). */
  int64s(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.builder.int64s(name, dims, values);
  }

  scalar(value: number): string {
    return this.builder.scalar(value);
  }

  filled(value: number, size: number): string {
    return this.builder.filled(value, size);
  }

  /**
   * Reshape to a shape whose first dim is the batch: the batch is copied (0), the rest static.
   * One unknown dim becomes -1.
   */
  reshape(x: string, shape: readonly Dim[]): string {
    const dims = shape.map((d, i) => (i === 0 ? 0 : typeof d === "number" ? d : -1));
    return this.op("Reshape", [x, this.ints("shape", dims)]);
  }

  /** Unsqueeze with the axes as an input (opset 13 and later). */
  unsqueeze(x: string, axes: readonly number[]): string {
    return this.op("Unsqueeze", [x, this.ints("axes", axes)]);
  }

  /** ReduceMean over `axes`: an attribute before opset 18, an input from 18 on. */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    const keep = { keepdims: { type: "int", value: keepdims ? 1 : 0 } } as const;
    if (this.opset >= 18) return this.op("ReduceMean", [x, this.ints("axes", axes)], keep);
    return this.op("ReduceMean", [x], { ...keep, axes: { type: "ints", value: axes } });
  }

  fail(message: string): LoweringFailure {
    return { failure: message };
  }
}
