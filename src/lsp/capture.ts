/**
 * What the editor needs from a compile that `compileFile` does not hand back: the loaded modules
 * (their ASTs and environments, so a file is parsed once per check) and, for every graph node, the
 * block applications that made it (so hovering `resnet101` or a label can report the nodes built
 * from it, although their own spans lie in the stdlib). Recorded through the compiler's trace.
 */
import type { CompileTrace } from "../compile.js";
import type { Graph, Node, Value as TensorValue } from "../ir/graph.js";
import { LabelBlock, OpBlock } from "../semantics/blocks.js";
import { flowValues } from "../semantics/context.js";
import type { LoadedModule } from "../semantics/modules.js";
import type { Block, Flow, Scope } from "../semantics/values.js";
import type { Span } from "../syntax/span.js";

/** One application of a block (an op, a def call, a pipe, a label…) to its input. */
export interface Application {
  id: number;
  span: Span;
  /** Label path of what the block builds: its scope, and for a label the label under it. */
  scope: string;
  inputs: readonly TensorValue[];
  /** Null when the block failed (a diagnostic says why). */
  outputs: readonly TensorValue[] | null;
  /** The application this one ran inside, if any. */
  parent: Application | null;
  /** Set for an operator's own application: the node it added. */
  node?: Node;
  /** The model's graph, known once a node has been added under this application. */
  graph?: Graph;
  block: Block;
}

/** Records one compile: pass it as `trace` to `compileFile`, then read what it holds. */
export class Capture implements CompileTrace {
  readonly modules = new Map<string, LoadedModule>();
  readonly applications: Application[] = [];
  /** The innermost application under way when each node was added. */
  readonly nodeApplication = new Map<Node, Application>();
  private current: Application | null = null;

  module(module: LoadedModule): void {
    this.modules.set(module.path, module);
  }

  enter(block: Block, input: Flow, scope: Scope): void {
    const path = block instanceof LabelBlock ? [...scope.path, block.label] : scope.path;
    const application: Application = {
      id: this.applications.length,
      span: block.span,
      scope: path.join("."),
      inputs: input ? flowValues(input) : [],
      outputs: null,
      parent: this.current,
      block,
    };
    this.applications.push(application);
    this.current = application;
  }

  exit(_block: Block, output: Flow | null): void {
    const application = this.current;
    if (!application) return;
    application.outputs = output ? flowValues(output) : null;
    this.current = application.parent;
  }

  node(node: Node, graph: Graph): void {
    const current = this.current;
    if (!current) return;
    this.nodeApplication.set(node, current);
    if (current.block instanceof OpBlock && !current.node) current.node = node;
    for (let a: Application | null = current; a && !a.graph; a = a.parent) a.graph = graph;
  }
}
