import type { Span } from "../syntax/span.js";
import type { InitRule } from "./init.js";
import type { TensorType } from "./types.js";

/** A tensor flowing between nodes. It knows its producer and its uses. */
export class Value {
  readonly uses = new Set<Node>();
  constructor(
    readonly id: number,
    public type: TensorType,
    public producer: Node | null,
    public name?: string,
  ) {}
}

/** A named weight or buffer, owned by the node that uses it. */
export interface Param {
  /** Dotted name, equal to the reference state_dict key: `backbone.layer1.0.conv1.weight`. */
  name: string;
  shape: readonly number[];
  init: InitRule;
  /** Buffers (BN running statistics, index tables) are stored but never trained. */
  buffer: boolean;
  /** The top-level role the parameter belongs to (`backbone`, `head`, …). */
  role: string;
  node: Node;
}

export type Attrs = Readonly<Record<string, unknown>>;

export class Node {
  readonly outputs: Value[] = [];
  readonly params: Param[] = [];
  constructor(
    readonly id: number,
    readonly op: string,
    public attrs: Attrs,
    readonly inputs: Value[],
    /** Label path of the node, e.g. `backbone.layer1.0.conv1`. */
    readonly scope: string,
    readonly span: Span,
  ) {}
}

/** A dataflow graph over Values; the only mutations are the verbs below. */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  outputs: Value[] = [];
  readonly params = new Map<string, Param>();
  private nextId = 0;

  addInput(type: TensorType, name: string): Value {
    const v = new Value(this.nextId++, type, null, name);
    this.inputs.push(v);
    return v;
  }

  addNode(op: string, attrs: Attrs, inputs: Value[], outputTypes: TensorType[], scope: string, span: Span): Node {
    const node = new Node(this.nextId++, op, attrs, inputs, scope, span);
    for (const input of inputs) input.uses.add(node);
    for (const t of outputTypes) node.outputs.push(new Value(this.nextId++, t, node));
    this.nodes.push(node);
    return node;
  }

  /** Registers a parameter; returns false (and registers nothing) when the name is taken. */
  addParam(param: Param): boolean {
    if (this.params.has(param.name)) return false;
    this.params.set(param.name, param);
    param.node.params.push(param);
    return true;
  }

  replaceAllUsesWith(oldValue: Value, newValue: Value): void {
    for (const node of oldValue.uses) {
      for (let i = 0; i < node.inputs.length; i++) if (node.inputs[i] === oldValue) node.inputs[i] = newValue;
      newValue.uses.add(node);
    }
    oldValue.uses.clear();
    this.outputs = this.outputs.map((v) => (v === oldValue ? newValue : v));
  }

  /** Removes a node whose outputs are unused. */
  removeNode(node: Node): void {
    for (const input of node.inputs) input.uses.delete(node);
    for (const p of node.params) this.params.delete(p.name);
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
  }
}
