/**
 * What the editor needs from a compile that `compileFile` does not hand back: the loaded modules
 * (their ASTs and environments, so a file is parsed once per check) and, for every graph node, the
 * block applications that made it (so hovering `resnet101` or a label can report the nodes built
 * from it, although their own spans lie in the stdlib). Recording wrappers are installed once on the
 * compiler's classes; they observe calls and return exactly what the originals return.
 */
import type { Node, Value as TensorValue } from "../ir/graph.js";
import { Graph } from "../ir/graph.js";
import * as blocks from "../semantics/blocks.js";
import { flowValues } from "../semantics/context.js";
import { Program, type LoadedModule } from "../semantics/modules.js";
import type { Flow, Scope } from "../semantics/values.js";
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
  /** The block's class (`OpBlock`, `LabelBlock`, `DeferredBlock`…). */
  kind: string;
}

export interface Capture {
  modules: Map<string, LoadedModule>;
  applications: Application[];
  /** The innermost application under way when each node was added. */
  nodeApplication: Map<Node, Application>;
}

let active: { capture: Capture; current: Application | null; nextId: number } | null = null;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const load = Program.prototype.load;
  Program.prototype.load = function (this: Program, path: string, text?: string): LoadedModule {
    const module = load.call(this, path, text);
    active?.capture.modules.set(module.path, module);
    return module;
  };
  const addNode = Graph.prototype.addNode;
  Graph.prototype.addNode = function (this: Graph, ...args: Parameters<Graph["addNode"]>): Node {
    const node = addNode.apply(this, args);
    const current = active?.current;
    if (current) {
      active!.capture.nodeApplication.set(node, current);
      if (current.kind === "OpBlock" && !current.node) current.node = node;
      for (let a: Application | null = current; a && !a.graph; a = a.parent) a.graph = this;
    }
    return node;
  };
  // Every block class of the evaluator, so a new one is observed without a change here.
  for (const [kind, value] of Object.entries(blocks)) {
    if (typeof value !== "function" || !Object.prototype.hasOwnProperty.call(value.prototype, "apply")) continue;
    const proto = value.prototype as { apply(input: Flow, scope?: Scope): Flow | null };
    const apply = proto.apply;
    proto.apply = function (this: { span: Span; label?: unknown }, input: Flow, scope?: Scope): Flow | null {
      const state = active;
      if (!state) return apply.call(this, input, scope);
      const path = scope ? [...scope.path] : [];
      if (kind === "LabelBlock" && typeof this.label === "string") path.push(this.label);
      const application: Application = {
        id: state.nextId++,
        span: this.span,
        scope: path.join("."),
        inputs: input ? flowValues(input) : [],
        outputs: null,
        parent: state.current,
        kind,
      };
      state.capture.applications.push(application);
      state.current = application;
      try {
        const out = apply.call(this, input, scope);
        application.outputs = out ? flowValues(out) : null;
        return out;
      } finally {
        state.current = application.parent;
      }
    };
  }
}

/** Runs `fn` (a compile) while recording modules and block applications. Not re-entrant, as compiles are synchronous. */
export function capturing<T>(fn: () => T): { result: T; capture: Capture } {
  install();
  const capture: Capture = { modules: new Map(), applications: [], nodeApplication: new Map() };
  const previous = active;
  active = { capture, current: null, nextId: 0 };
  try {
    return { result: fn(), capture };
  } finally {
    active = previous;
  }
}
