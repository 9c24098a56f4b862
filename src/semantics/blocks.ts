import type { Value as TensorValue } from "../ir/graph.js";
import type { OpDef } from "../ir/op.js";
import { formatShape, type TensorType } from "../ir/types.js";
import type { Span } from "../syntax/span.js";
import { describeValue, flowValues, type EvalContext } from "./context.js";
import type { Block, Flow, Scope, Val } from "./values.js";

export function childScope(scope: Scope, label: string): Scope {
  return { path: [...scope.path, label], role: scope.role };
}

/**
 * What every block shares: `apply` reports to the context's trace, when there is one, around the
 * block's own work (`applyTo`), so that each application is seen whoever makes it.
 */
abstract class TracedBlock implements Block {
  // Blocks are made by the thousand: constants live on the prototypes, fields are plain assignments
  // (class fields would each be defined on every instance).
  get kind(): "block" {
    return "block";
  }
  abstract readonly transparent: boolean;
  abstract readonly describe: string;
  protected declare readonly ctx: EvalContext;
  declare readonly span: Span;
  constructor(ctx: EvalContext, span: Span) {
    this.ctx = ctx;
    this.span = span;
  }

  apply(input: Flow, scope: Scope): Flow | null {
    const trace = this.ctx.trace;
    if (trace === null) return this.applyTo(input, scope);
    trace.enter(this, input, scope);
    let output: Flow | null = null;
    try {
      output = this.applyTo(input, scope);
      return output;
    } finally {
      trace.exit(this, output);
    }
  }

  protected abstract applyTo(input: Flow, scope: Scope): Flow | null;
}

/** A block applying one operator with bound arguments. */
export class OpBlock extends TracedBlock {
  get transparent(): boolean {
    return false;
  }
  declare readonly op: OpDef;
  declare readonly args: Readonly<Record<string, Val>>;
  declare readonly describe: string;
  constructor(ctx: EvalContext, op: OpDef, args: Readonly<Record<string, Val>>, span: Span, describe: string) {
    super(ctx, span);
    this.op = op;
    this.args = args;
    this.describe = describe;
  }

  protected applyTo(input: Flow, scope: Scope): Flow | null {
    const ctx = this.ctx;
    if (!ctx.step(this.span)) return null;
    const inputs = flowValues(input);
    const arity = this.op.inputs;
    if ((arity === "variadic" && inputs.length < 1) || (typeof arity === "number" && inputs.length !== arity)) {
      const expected = arity === "variadic" ? "one or more inputs" : arity === 1 ? "1 input" : `${arity} inputs`;
      ctx.error("MEDG307", this.span, `${this.describe} expects ${expected}, got ${inputs.length}${inputs.length ? `: ${inputs.map(describeValue).join(", ")}` : ""}`);
      return null;
    }
    const types = inputs.map((v) => v.type);
    const opCtx = { args: this.args, inputs: types, describe: (i: number) => (inputs[i] ? describeValue(inputs[i]!) : "nothing") };
    const result = this.op.infer(opCtx);
    if ("error" in result) {
      const e = result.error;
      const message = e.hint ? `${e.message} (${e.hint})` : e.message;
      const fixes = e.insertBefore ? [{ title: e.hint ?? `insert ${e.insertBefore.trim()}`, edits: [{ span: { ...this.span, end: this.span.start }, text: e.insertBefore }] }] : [];
      ctx.error(e.code, this.span, message, { fixes });
      return null;
    }
    const outputTypes: TensorType[] = result.outputs.map((shape) => ({ dtype: "float32", shape }));
    const prefix = scope.path.join(".");
    const node = ctx.graph.addNode(this.op.name, result.attrs, [...inputs], outputTypes, prefix, this.span);
    ctx.trace?.node(node, ctx.graph);
    const view = { attrs: result.attrs, inputs: types, outputs: outputTypes };
    let collided = false;
    for (const p of this.op.params?.(view) ?? []) {
      const name = p.name ? (scope.path.length ? `${prefix}.${p.name}` : p.name) : prefix;
      const ok = ctx.graph.addParam({ name, shape: p.shape, init: p.init, buffer: p.buffer ?? false, role: scope.role, node });
      if (!ok && !collided) {
        collided = true;
        const other = ctx.graph.params.get(name)!;
        ctx.error("MEDG210", this.span, `parameter name '${name}' is already used by ${other.node.op} at line ${other.node.span.start.line}; give one of them a label (e.g. \`${this.op.name}1: ${this.describe}\`)`, {
          related: [{ span: other.node.span, message: `'${name}' first defined here` }],
        });
      }
    }
    return node.outputs.length === 1 ? node.outputs[0]! : node.outputs;
  }
}

/** `label: body` — applies the body one level deeper in the label path. */
export class LabelBlock extends TracedBlock {
  get transparent(): boolean {
    return false;
  }
  declare readonly label: string;
  declare readonly body: Block;
  constructor(ctx: EvalContext, label: string, body: Block, span: Span) {
    super(ctx, span);
    this.label = label;
    this.body = body;
  }
  get describe(): string {
    return `${this.label}: ${this.body.describe}`;
  }
  protected applyTo(input: Flow, scope: Scope): Flow | null {
    return this.body.apply(input, childScope(scope, this.label));
  }
}

/**
 * `a | b | c` and `[a, b, c]`: applied in order. With two or more members (or always, for a list),
 * an unlabelled member that is not transparent wiring is scoped by its position, like nn.Sequential.
 * Wiring members take no position.
 */
export class SequenceBlock extends TracedBlock {
  get transparent(): boolean {
    return false;
  }
  declare readonly members: readonly Block[];
  declare readonly alwaysNumbered: boolean;
  constructor(ctx: EvalContext, members: readonly Block[], span: Span, alwaysNumbered: boolean) {
    super(ctx, span);
    this.members = members;
    this.alwaysNumbered = alwaysNumbered;
  }
  get describe(): string {
    return this.alwaysNumbered ? `[${this.members.map((m) => m.describe).join(", ")}]` : this.members.map((m) => m.describe).join(" | ");
  }
  protected applyTo(input: Flow, scope: Scope): Flow | null {
    const numbered = this.alwaysNumbered || this.members.length > 1;
    let flow: Flow | null = input;
    // Wiring is forward() code, not a submodule: it takes no position, so a `tap` or a rank check
    // between two members leaves their indices as PyTorch numbers them.
    let position = 0;
    for (const m of this.members) {
      if (!flow) break;
      const inner = numbered && !(m instanceof LabelBlock) && !m.transparent ? childScope(scope, String(position)) : scope;
      if (!m.transparent) position++;
      flow = m.apply(flow, inner);
    }
    return flow;
  }
}

/** Wiring whose parts name themselves in the enclosing scope (residual, concat, add, mul, tuples, taps). */
abstract class Wiring extends TracedBlock {
  get transparent(): boolean {
    return true;
  }
}

/** Applies each branch to the same input, then combines the results with an operator. */
export class BranchBlock extends Wiring {
  declare readonly branches: readonly Block[];
  /** The combining op (concat, add, mul); null keeps the results as a multi-output tuple. */
  declare readonly combine: OpBlock | null;
  declare readonly name: string;
  constructor(ctx: EvalContext, span: Span, branches: readonly Block[], combine: OpBlock | null, name: string) {
    super(ctx, span);
    this.branches = branches;
    this.combine = combine;
    this.name = name;
  }
  get describe(): string {
    return `${this.name}(${this.branches.map((b) => b.describe).join(", ")})`;
  }
  protected applyTo(input: Flow, scope: Scope): Flow | null {
    const outs: TensorValue[] = [];
    for (const b of this.branches) {
      const out = b.apply(input, scope);
      if (!out) return null;
      outs.push(...flowValues(out));
    }
    return this.combine ? this.combine.apply(outs, scope) : outs;
  }
}

/** `residual(body, shortcut=…)`: body(x) + shortcut(x), the shortcut defaulting to x itself. */
export class ResidualBlock extends Wiring {
  declare readonly body: Block;
  declare readonly shortcut: Block | null;
  private declare readonly add: OpBlock;
  constructor(ctx: EvalContext, span: Span, body: Block, shortcut: Block | null, add: OpBlock) {
    super(ctx, span);
    this.body = body;
    this.shortcut = shortcut;
    this.add = add;
  }
  get describe(): string {
    return `residual(${this.body.describe}${this.shortcut ? `, shortcut=${this.shortcut.describe}` : ""})`;
  }
  protected applyTo(input: Flow, scope: Scope): Flow | null {
    const x = flowValues(input);
    if (x.length !== 1) {
      this.ctx.error("MEDG307", this.span, `residual expects 1 input, got ${x.length}`);
      return null;
    }
    const main = this.body.apply(input, scope);
    if (!main) return null;
    const skip = this.shortcut ? this.shortcut.apply(input, scope) : input;
    if (!skip) return null;
    for (const [what, flow] of [["body", main], ["shortcut", skip]] as const) {
      const n = flowValues(flow).length;
      if (n !== 1) {
        this.ctx.error("MEDG307", this.span, `residual's ${what} must give 1 tensor, got ${n}`);
        return null;
      }
    }
    const a = flowValues(main)[0]!;
    const b = flowValues(skip)[0]!;
    if (a.type.shape.length !== b.type.shape.length || a.type.shape.some((d, i) => d !== b.type.shape[i])) {
      this.ctx.error(
        "MEDG305",
        this.span,
        `residual adds its body's output ${describeValue(a)} to the shortcut ${this.shortcut ? describeValue(b) : `(the block's input) ${formatShape(b.type.shape)}`}; their shapes differ${this.shortcut ? "" : " (add a shortcut projection such as `shortcut = conv(c, 1, s=s) | bn`)"}`,
      );
      return null;
    }
    return this.add.apply([a, b], scope);
  }
}

/** `tap name`: passes the input on and remembers it. */
export class TapBlock extends Wiring {
  declare readonly name: string;
  constructor(ctx: EvalContext, span: Span, name: string) {
    super(ctx, span);
    this.name = name;
  }
  get describe(): string {
    return `tap ${this.name}`;
  }
  protected applyTo(input: Flow): Flow | null {
    this.ctx.taps.set(this.name, { flow: input, span: this.span });
    return input;
  }
}

/** `from name`: yields a tapped tensor, ignoring its input. */
export class FromBlock extends Wiring {
  declare readonly name: string;
  private declare readonly suggest: (name: string) => string | undefined;
  constructor(ctx: EvalContext, span: Span, name: string, suggest: (name: string) => string | undefined) {
    super(ctx, span);
    this.name = name;
    this.suggest = suggest;
  }
  get describe(): string {
    return `from ${this.name}`;
  }
  protected applyTo(): Flow | null {
    const tap = this.ctx.taps.get(this.name);
    if (tap) return tap.flow;
    const s = this.suggest(this.name);
    const known = [...this.ctx.taps.keys()];
    this.ctx.error(
      "MEDG205",
      this.span,
      `unknown tap '${this.name}'${s ? ` (did you mean '${s}'?)` : ""}; ${known.length ? `taps defined so far: ${known.join(", ")}` : "no tap has been defined before this point"}`,
      s ? { fixes: [{ title: `use '${s}'`, edits: [{ span: this.span, text: `from ${s}` }] }] } : {},
    );
    return null;
  }
}

/** A block that runs a function at apply time (def calls, whose bodies depend on `in`). */
export class DeferredBlock extends TracedBlock {
  get transparent(): boolean {
    return false;
  }
  declare readonly describe: string;
  private declare readonly run: (input: Flow, scope: Scope) => Flow | null;
  constructor(ctx: EvalContext, span: Span, describe: string, run: (input: Flow, scope: Scope) => Flow | null) {
    super(ctx, span);
    this.describe = describe;
    this.run = run;
  }
  protected applyTo(input: Flow, scope: Scope): Flow | null {
    return this.run(input, scope);
  }
}

/** Passes its input on after checking its rank; a feature map reaching a vector head gets the fix "add gap". */
export class ExpectRankBlock extends Wiring {
  declare readonly rank: number;
  declare readonly what: string;
  /** When set, a feature map arriving where a vector is expected is pooled by it instead of rejected. */
  private declare readonly pool: OpBlock | null;
  constructor(ctx: EvalContext, span: Span, rank: number, what: string, pool: OpBlock | null = null) {
    super(ctx, span);
    this.rank = rank;
    this.what = what;
    this.pool = pool;
  }
  get describe(): string {
    return `expect_rank(${this.rank})`;
  }
  protected applyTo(input: Flow, scope: Scope): Flow | null {
    const values = flowValues(input);
    if (values.length !== 1) {
      this.ctx.error("MEDG307", this.span, `${this.what} expects 1 input, got ${values.length}: ${values.map(describeValue).join(", ")}`);
      return null;
    }
    const got = values[0]!.type.shape.length;
    if (got === this.rank) return input;
    const pool = got > this.rank && this.rank === 2;
    if (pool && this.pool) return this.pool.apply(input, scope);
    this.ctx.error(
      "MEDG302",
      this.span,
      `${this.what} expects 1 input of rank ${this.rank}, got ${describeValue(values[0]!)}${pool ? " (add a pooling op such as gap)" : ""}`,
      pool ? { fixes: [{ title: "add gap", edits: [{ span: { ...this.span, end: this.span.start }, text: "gap | " }] }] } : {},
    );
    return null;
  }
}

/** Passes its input on after checking that every spatial size is a multiple of `multiple`. */
export class ExpectDivisibleBlock extends Wiring {
  declare readonly multiple: number;
  declare readonly what: string;
  constructor(ctx: EvalContext, span: Span, multiple: number, what: string) {
    super(ctx, span);
    this.multiple = multiple;
    this.what = what;
  }
  get describe(): string {
    return `expect_divisible(${this.multiple})`;
  }
  protected applyTo(input: Flow): Flow | null {
    for (const v of flowValues(input)) {
      const spatial = v.type.shape.slice(2);
      const bad = spatial.filter((d): d is number => typeof d === "number" && d % this.multiple !== 0);
      if (bad.length === 0) continue;
      const nearest = (d: number) => {
        const lo = Math.floor(d / this.multiple) * this.multiple;
        return [lo, lo + this.multiple].filter((x) => x > 0).join(" or ");
      };
      this.ctx.error(
        "MEDG304",
        this.span,
        `${this.what} needs spatial sizes divisible by ${this.multiple}, got ${describeValue(v)}; nearest valid sizes: ${[...new Set(bad)].map((d) => `${d} -> ${nearest(d)}`).join(", ")}`,
      );
      return null;
    }
    return input;
  }
}
