import { diagnostic, type Diagnostic, type Fix, type Related } from "../diagnostics/diagnostic.js";
import type { Code } from "../diagnostics/codes.js";
import { Graph, type Node, type Value as TensorValue } from "../ir/graph.js";
import { formatShape } from "../ir/types.js";
import type { Span } from "../syntax/span.js";
import type { Block, Flow, Scope } from "./values.js";

/** Bounds that keep evaluation of any text fast and finite. */
export const limits = {
  callDepth: 150,
  nodes: 50_000,
  /** The largest stdlib model takes about 8,000 steps (efficientnet_b3); list items count one step each. */
  steps: 60_000,
};

/** A tap: a tensor remembered by name inside a model (`tap c3`, later `from c3`). */
export interface TapEntry {
  flow: Flow;
  span: Span;
}

/**
 * Observes evaluation, for tools that relate source text to the graph built from it (the language
 * server's hovers report the nodes a def call or a label produced, though their own spans lie
 * elsewhere). Calls nest: every `enter` is matched by one `exit`, and `node` belongs to the block
 * entered last.
 */
export interface EvalTrace {
  /** `block` is about to be applied to `input` in `scope`. */
  enter(block: Block, input: Flow, scope: Scope): void;
  /** The block entered last gave `output`; null when it failed (a diagnostic says why) or threw. */
  exit(block: Block, output: Flow | null): void;
  /** The block entered last added `node` to `graph`. */
  node(node: Node, graph: Graph): void;
}

/** Mutable state of evaluating one model: the graph being built, diagnostics, taps, budgets. */
export class EvalContext {
  readonly graph = new Graph();
  readonly diagnostics: Diagnostic[] = [];
  readonly taps = new Map<string, TapEntry>();
  depth = 0;
  steps = 0;
  /** Set once a limit is hit: evaluation then stops quietly. */
  exhausted = false;
  /** Class count of the model's task, when it has one. */
  classes: number | null = null;
  /** Set once the "no task, 2 classes assumed" note has been given. */
  assumedClasses = false;

  /** Call sites of the defs being applied, innermost last. */
  readonly callStack: { span: Span; describe: string }[] = [];
  /** Files whose text the user did not write (the stdlib): diagnostics move to the user's call site. */
  isLibrary: (file: string) => boolean = () => false;
  /** Told of every block application and node; null (the compiler's own use) costs one check per block. */
  trace: EvalTrace | null = null;

  /** Records diagnostics made elsewhere (argument binding), moving library spans to the call site. */
  report(diagnostics: readonly Diagnostic[]): void {
    for (const d of diagnostics) {
      const extra: { related?: Related[]; fixes?: Fix[] } = {};
      if (d.related) extra.related = d.related;
      if (d.fixes) extra.fixes = d.fixes;
      this.error(d.code, d.span, d.message, extra);
    }
  }

  error(code: Code, span: Span, message: string, extra: { related?: Related[]; fixes?: Fix[] } = {}): void {
    if (this.isLibrary(span.file)) {
      const site = [...this.callStack].reverse().find((c) => !this.isLibrary(c.span.file));
      if (site) {
        const inner = this.callStack[this.callStack.length - 1];
        const related = [...(extra.related ?? []), { span, message: `inside ${inner?.describe ?? "the library"}` }];
        // A fix written against library text applies at the call site: insertions go before it.
        const fixes = (extra.fixes ?? []).map((f) => ({ ...f, edits: f.edits.map((e) => (this.isLibrary(e.span.file) ? { span: { ...site.span, end: site.span.start }, text: e.text } : e)) }));
        this.diagnostics.push(diagnostic(code, site.span, message, { related, fixes }));
        return;
      }
    }
    // Inside a def the problem is in its body, but the call decides the values: point at both.
    const call = this.callStack[this.callStack.length - 1];
    if (call && call.span.file === span.file && (span.start.offset < call.span.start.offset || span.start.offset >= call.span.end.offset)) {
      this.diagnostics.push(diagnostic(code, span, message, { ...extra, related: [...(extra.related ?? []), { span: call.span, message: `in ${call.describe}, called here` }] }));
      return;
    }
    this.diagnostics.push(diagnostic(code, span, message, extra));
  }

  /** Counts evaluation steps (one per expression, one per list item built); false once the budget is spent. */
  step(span: Span, cost = 1): boolean {
    if (this.exhausted) return false;
    this.steps += cost;
    if (this.steps > limits.steps || this.graph.nodes.length > limits.nodes) {
      this.exhausted = true;
      this.error("MEDG212", span, `evaluation stopped: more than ${limits.steps} steps or ${limits.nodes} operators (is a def recursing without end?)`);
      return false;
    }
    return true;
  }
}

/** "[N, 2048, 7, 7] from backbone.layer4" */
export function describeValue(v: TensorValue): string {
  const where = v.producer ? v.producer.scope || v.producer.op : "the input";
  return `${formatShape(v.type.shape)} from ${where}`;
}

export function flowValues(flow: Flow): readonly TensorValue[] {
  return Array.isArray(flow) ? flow : [flow as TensorValue];
}
