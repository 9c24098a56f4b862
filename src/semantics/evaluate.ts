import { didYouMean } from "../diagnostics/suggest.js";
import type { OpDef } from "../ir/op.js";
import { opTable } from "../ir/ops/index.js";
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import { bindArgs, type ArgInput } from "./bind.js";
import type { Signature } from "./signature.js";
import { BranchBlock, DeferredBlock, ExpectDivisibleBlock, ExpectRankBlock, FromBlock, LabelBlock, OpBlock, ResidualBlock, SequenceBlock, TapBlock } from "./blocks.js";
import { builtinTable, makeRange, MAX_LIST, type Builtin } from "./builtins.js";
import { flowValues, limits, type EvalContext } from "./context.js";
import { Env } from "./env.js";
import { formatVal, isBlock, isCallable, isPoison, POISON, typeName, type Block, type Callable, type Flow, type Scope, type TensorRef, type Val } from "./values.js";

export type Target =
  | { type: "def"; def: A.DefStmt; env: Env }
  | { type: "op"; op: OpDef }
  | { type: "builtin"; builtin: Builtin }
  | { type: "combinator"; name: CombinatorName }
  | { type: "task_classes" };

type CombinatorName = "residual" | "parallel" | "expect_rank" | "expect_divisible";

export function callable(name: string, span: Span, target: Target): Callable {
  return { kind: "callable", name, span, target };
}

const combinatorOps = new Set(["concat", "add", "mul"]);

/** The checking combinators' arguments, as they are bound (also shown by the editor's hover). */
export const checkSignatures: Record<"expect_rank" | "expect_divisible", Signature> = {
  expect_rank: {
    name: "expect_rank",
    doc: "Checks the incoming tensor's rank (a head that needs a vector says so before a feature map reaches it).",
    args: [
      { name: "rank", type: "int", min: 1 },
      { name: "what", type: "string", default: "this block" },
      { name: "pool", type: "bool", default: false, doc: "global-average-pool a feature map instead of rejecting it" },
    ],
  },
  expect_divisible: {
    name: "expect_divisible",
    doc: "Checks that every spatial size is a multiple (encoder-decoders with skips need it).",
    args: [
      { name: "multiple", type: "int", min: 1 },
      { name: "what", type: "string", default: "this block" },
    ],
  },
};

/** The outermost environment: operators, builtins and wiring, visible from every module. */
export function builtinEnv(span: Span): Env {
  const env = new Env();
  for (const [name, op] of opTable) env.define(name, { kind: "value", value: callable(name, span, { type: "op", op }) });
  for (const [name, builtin] of builtinTable) env.define(name, { kind: "value", value: callable(name, span, { type: "builtin", builtin }) });
  env.define("residual", { kind: "value", value: callable("residual", span, { type: "combinator", name: "residual" }) });
  env.define("parallel", { kind: "value", value: callable("parallel", span, { type: "combinator", name: "parallel" }) });
  for (const name of ["expect_rank", "expect_divisible"] as const) env.define(name, { kind: "value", value: callable(name, span, { type: "combinator", name }) });
  // Defs often have a parameter named `dropout` (heads); `drop` keeps the operator reachable there.
  env.define("drop", { kind: "value", value: callable("drop", span, { type: "op", op: opTable.get("dropout")! }) });
  env.define("task_classes", { kind: "value", value: callable("task_classes", span, { type: "task_classes" }) });
  return env;
}

/** A def applied to arguments. As a block its body sees `in`; in a value context it is forced. */
export class DefCall extends DeferredBlock {
  declare readonly force: () => Val;
  declare readonly def: A.DefStmt;
  constructor(ctx: EvalContext, span: Span, describe: string, run: (input: Flow, scope: Scope) => Flow | null, force: () => Val, def: A.DefStmt) {
    super(ctx, span, describe, run);
    this.force = force;
    this.def = def;
  }
}

const mentionsInCache = new WeakMap<A.Expr, boolean>();
const blockDefs = new WeakSet<A.DefStmt>();

/** Numbers, strings, booleans, none, and lists of those: values, never blocks. */
function isPlainData(v: Val): boolean {
  return v === null || typeof v !== "object" || (Array.isArray(v) && v.every(isPlainData));
}

/** Whether an expression reads `in` anywhere (then it can only be evaluated when applied to a tensor). */
function mentionsIn(e: A.Expr): boolean {
  const cached = mentionsInCache.get(e);
  if (cached !== undefined) return cached;
  let found = false;
  const visit = (x: unknown): void => {
    if (found || typeof x !== "object" || x === null) return;
    if ((x as { kind?: string }).kind === "in") {
      found = true;
      return;
    }
    for (const [k, v] of Object.entries(x)) if (k !== "span" && !k.endsWith("Span")) Array.isArray(v) ? v.forEach(visit) : visit(v);
  };
  visit(e);
  mentionsInCache.set(e, found);
  return found;
}

const truthy = (v: Val): boolean => !(v === null || v === false || v === 0 || v === "" || (Array.isArray(v) && v.length === 0));

/**
 * Evaluates expressions. Blocks are built eagerly but applied later; a def's body is evaluated when
 * the def is applied to a tensor (so `in` is known) or forced for its value.
 */
export class Evaluator {
  constructor(readonly ctx: EvalContext) {}

  /** Evaluates to a value, forcing def calls (for arithmetic, conditions, indices, arguments). */
  value(e: A.Expr, env: Env): Val {
    return this.force(this.evaluate(e, env), e.span);
  }

  force(v: Val, span: Span): Val {
    let guard = 0;
    while (v instanceof DefCall) {
      if (++guard > limits.callDepth) {
        this.ctx.error("MEDG212", span, "too many nested def calls");
        return POISON;
      }
      v = v.force();
    }
    return v;
  }

  /**
   * A list item that is a call of a value def (`[f(i) for i in xs]` with `def f(n) = n * 2`) becomes
   * its value; a call of a block def stays a block, applied (and numbered) later as a module.
   */
  settle(v: Val, span: Span): Val {
    if (!(v instanceof DefCall) || mentionsIn(v.def.body) || blockDefs.has(v.def)) return v;
    const forced = this.force(v, span);
    if (isPoison(forced) || !isPlainData(forced)) {
      // Once a def has given a block it is a block def: later calls skip the trial evaluation.
      if (!isPoison(forced)) blockDefs.add(v.def);
      return v;
    }
    return forced;
  }

  /** Forces def calls inside lists too, where values are needed (`sum([f(i) for i in xs])`). */
  deepForce(v: Val, span: Span): Val {
    v = this.force(v, span);
    if (!Array.isArray(v) || !v.some((x) => x instanceof DefCall || Array.isArray(x))) return v;
    const out = v.map((x) => this.deepForce(x, span));
    return isTuple(v) ? markTuple(out) : out;
  }

  evaluate(e: A.Expr, env: Env): Val {
    if (!this.ctx.step(e.span)) return POISON;
    switch (e.kind) {
      case "number":
        return e.value;
      case "bool":
        return e.value;
      case "none":
        return null;
      case "missing":
        return POISON;
      case "string":
        return this.string(e, env);
      case "name":
        return this.name(e, env);
      case "in": {
        const b = env.lookup("in");
        if (b?.kind === "value") return b.value;
        this.ctx.error("MEDG201", e.span, "`in` is only available inside a def that is applied to a tensor");
        return POISON;
      }
      case "list": {
        const out: Val[] = [];
        for (const item of e.items) out.push(this.settle(this.evaluate(item, env), item.span));
        return out;
      }
      case "tuple":
        return markTuple(e.items.map((item) => this.evaluate(item, env)));
      case "comprehension":
        return this.comprehension(e, env);
      case "call":
        return this.call(e, env);
      case "member":
        return this.member(e, env);
      case "index":
        return this.index(e, env);
      case "unary": {
        const v = this.value(e.operand, env);
        if (isPoison(v)) return v;
        if (e.op === "not") return !truthy(v);
        if (typeof v === "number") return -v;
        return this.invalid(e.span, `cannot negate ${typeName(v)} ${formatVal(v)}`);
      }
      case "binary":
        return this.binary(e, env);
      case "conditional": {
        const c = this.value(e.condition, env);
        if (isPoison(c)) return c;
        if (truthy(c)) return this.evaluate(e.then, env);
        return e.otherwise ? this.evaluate(e.otherwise, env) : null;
      }
      case "pipe": {
        const members: Block[] = [];
        for (const stage of e.stages) {
          const b = this.blockOf(stage, env);
          if (b === false) return POISON;
          if (b) members.push(b);
        }
        if (members.length === 0) return null;
        return new SequenceBlock(this.ctx, members, e.span, e.stages.length > 1);
      }
      case "labelled": {
        const label = typeof e.label === "string" ? e.label : this.string(e.label, env);
        if (typeof label !== "string") return POISON;
        if (!/^[A-Za-z0-9_]+$/.test(label)) return this.invalid(e.labelSpan, `label '${label}' must consist of letters, digits and underscores`);
        const body = this.blockOf(e.body, env);
        if (body === false) return POISON;
        return body ? new LabelBlock(this.ctx, label, body, e.span) : null;
      }
      case "tap":
        return new TapBlock(this.ctx, e.span, e.name);
      case "from":
        return new FromBlock(this.ctx, e.span, e.name, (n) => didYouMean(n, this.ctx.taps.keys()));
      case "let": {
        const inner = new Env(env);
        for (const b of e.bindings) inner.define(b.name, { kind: "value", value: this.evaluate(b.value, inner), span: b.nameSpan });
        return this.evaluate(e.body, inner);
      }
    }
  }

  /**
   * Evaluates an expression in block position: a block, null for "nothing here" (a conditional that
   * chose none), or false after an error. A syntactic tuple is parallel branches (multi-output).
   */
  blockOf(e: A.Expr, env: Env): Block | null | false {
    if (e.kind === "tuple") {
      const branches: Block[] = [];
      for (const item of e.items) {
        const b = this.blockOf(item, env);
        if (b === false) return false;
        if (b) branches.push(b);
      }
      return new BranchBlock(this.ctx, e.span, branches, null, "parallel");
    }
    return this.asBlock(this.evaluate(e, env), e.span);
  }

  asBlock(v: Val, span: Span): Block | null | false {
    if (v === null) return null;
    if (isPoison(v)) return false;
    if (isBlock(v)) return v;
    if (isCallable(v)) {
      const r = this.applyCallable(v, [], span, span, new Env());
      return this.asBlock(r, span);
    }
    if (Array.isArray(v)) {
      const members: Block[] = [];
      for (const item of v) {
        const b = this.asBlock(item, span);
        if (b === false) return false;
        if (b) members.push(b);
      }
      // A tuple (even one passed through a def or a let) is parallel branches; a list is a sequence.
      return isTuple(v) ? new BranchBlock(this.ctx, span, members, null, "parallel") : new SequenceBlock(this.ctx, members, span, true);
    }
    this.ctx.error("MEDG214", span, `expected a block (an operator, a def or a pipe), got ${typeName(v)} ${formatVal(v)}`);
    return false;
  }

  private invalid(span: Span, message: string): Val {
    this.ctx.error("MEDG213", span, message);
    return POISON;
  }

  private string(e: A.StringLit, env: Env): Val {
    let s = "";
    for (const p of e.parts) {
      if (typeof p === "string") s += p;
      else {
        const v = this.value(p, env);
        if (isPoison(v)) return v;
        s += typeof v === "string" ? v : formatVal(v);
      }
    }
    return s;
  }

  private name(e: A.Name, env: Env): Val {
    const b = env.lookup(e.name);
    if (!b) {
      const s = didYouMean(e.name, env.names());
      this.ctx.error("MEDG201", e.span, `unknown name '${e.name}'${s ? ` (did you mean '${s}'?)` : ""}`, s ? { fixes: [{ title: `change to '${s}'`, edits: [{ span: e.span, text: s }] }] } : {});
      return POISON;
    }
    if (b.kind === "value") return b.value;
    if (b.state === "done") return b.value!;
    if (b.state === "evaluating") {
      this.ctx.error("MEDG213", e.span, `'${e.name}' is defined in terms of itself`);
      return POISON;
    }
    b.state = "evaluating";
    b.value = this.evaluate(b.expr, b.env);
    b.state = "done";
    return b.value;
  }

  private comprehension(e: A.Comprehension, env: Env): Val {
    const items = this.value(e.iterable, env);
    if (isPoison(items)) return items;
    if (!Array.isArray(items)) return this.invalid(e.iterable.span, `a comprehension iterates over a list or a range, got ${typeName(items)} ${formatVal(items)}`);
    const out: Val[] = [];
    for (const item of items) {
      const inner = new Env(env);
      inner.define(e.variable, { kind: "value", value: item, span: e.variableSpan });
      if (e.condition) {
        const c = this.value(e.condition, inner);
        if (isPoison(c)) return c;
        if (!truthy(c)) continue;
      }
      out.push(this.settle(this.evaluate(e.body, inner), e.body.span));
      if (this.ctx.exhausted) return POISON;
    }
    return out;
  }

  private member(e: A.Member, env: Env): Val {
    const obj = this.value(e.object, env);
    if (isPoison(obj)) return obj;
    if (typeof obj === "object" && obj !== null && !Array.isArray(obj) && (obj as TensorRef).kind === "tensor") return this.shapeField(obj as TensorRef, e);
    return this.invalid(e.nameSpan, `${typeName(obj)} ${formatVal(obj)} has no field '${e.name}'`);
  }

  /** `in.c`, `in.h`, `in.w`, `in.d` (channels-first), `in.last`, `in.rank`, `in.shape`. */
  private shapeField(t: TensorRef, e: A.Member): Val {
    const values = flowValues(t.flow);
    if (values.length !== 1) return this.invalid(e.span, `\`in\` is ${values.length} tensors here; its shape is ambiguous`);
    const shape = values[0]!.type.shape;
    const rank = shape.length;
    const spatial = rank - 2;
    const dims: Record<string, number | undefined> = {
      c: rank >= 2 ? 1 : undefined,
      d: spatial === 3 ? 2 : undefined,
      h: spatial >= 2 ? rank - 2 : undefined,
      w: spatial >= 1 ? rank - 1 : undefined,
      last: rank - 1,
    };
    if (e.name === "rank") return rank;
    if (e.name === "shape") return shape.slice(1).map((d) => (typeof d === "number" ? d : -1));
    if (!(e.name in dims)) return this.invalid(e.nameSpan, `\`in\` has no field '${e.name}' (fields: c, d, h, w, last, rank, shape)`);
    const i = dims[e.name];
    if (i === undefined) return this.invalid(e.nameSpan, `\`in.${e.name}\` is not defined for a tensor of rank ${rank}`);
    const d = shape[i];
    return typeof d === "number" ? d : this.invalid(e.nameSpan, `\`in.${e.name}\` is symbolic (${d})`);
  }

  private index(e: A.Index, env: Env): Val {
    const obj = this.value(e.object, env);
    const i = this.value(e.index, env);
    if (isPoison(obj) || isPoison(i)) return POISON;
    if (!(Array.isArray(obj) || typeof obj === "string")) return this.invalid(e.object.span, `cannot index ${typeName(obj)} ${formatVal(obj)}`);
    if (typeof i !== "number" || !Number.isInteger(i)) return this.invalid(e.index.span, `an index must be an int, got ${typeName(i)} ${formatVal(i)}`);
    const n = obj.length;
    const k = i < 0 ? n + i : i;
    if (k < 0 || k >= n) return this.invalid(e.index.span, `index ${i} is out of range for ${typeName(obj)} of length ${n}`);
    return (obj as readonly Val[] | string)[k] as Val;
  }

  private binary(e: A.Binary, env: Env): Val {
    if (e.op === "and" || e.op === "or") {
      const l = this.value(e.left, env);
      if (isPoison(l)) return l;
      if (e.op === "and" ? !truthy(l) : truthy(l)) return l;
      return this.value(e.right, env);
    }
    const l = this.value(e.left, env);
    const r = this.value(e.right, env);
    if (isPoison(l) || isPoison(r)) return POISON;
    const bad = () => this.invalid(e.span, `cannot apply '${e.op}' to ${typeName(l)} ${formatVal(l)} and ${typeName(r)} ${formatVal(r)}`);
    switch (e.op) {
      case "==":
        return equal(this.deepForce(l, e.span), this.deepForce(r, e.span));
      case "!=":
        return !equal(this.deepForce(l, e.span), this.deepForce(r, e.span));
    }
    if (e.op === "+" && typeof l === "string" && typeof r === "string") return l + r;
    if (e.op === "+" && Array.isArray(l) && Array.isArray(r)) {
      if (l.length + r.length > MAX_LIST) return this.invalid(e.span, `list longer than ${MAX_LIST} items`);
      if (!this.ctx.step(e.span, l.length + r.length)) return POISON;
      return [...l, ...r];
    }
    if (e.op === "*" && Array.isArray(l) && typeof r === "number" && Number.isInteger(r)) {
      if (l.length * Math.max(0, r) > MAX_LIST) return this.invalid(e.span, `list longer than ${MAX_LIST} items`);
      if (!this.ctx.step(e.span, l.length * Math.max(0, r))) return POISON;
      return Array.from({ length: Math.max(0, r) }, () => l).flat();
    }
    if (typeof l !== "number" || typeof r !== "number") return bad();
    switch (e.op) {
      case "+":
        return l + r;
      case "-":
        return l - r;
      case "*":
        return l * r;
      case "/":
        return r === 0 ? this.invalid(e.span, "division by zero") : l / r;
      case "//":
        return r === 0 ? this.invalid(e.span, "division by zero") : Math.floor(l / r);
      case "%":
        return r === 0 ? this.invalid(e.span, "division by zero") : l - r * Math.floor(l / r);
      case "**": {
        const p = l ** r;
        return Number.isFinite(p) ? p : this.invalid(e.span, `${l} ** ${r} is too large`);
      }
      case "<":
        return l < r;
      case "<=":
        return l <= r;
      case ">":
        return l > r;
      case ">=":
        return l >= r;
      case "..": {
        if (!Number.isInteger(l) || !Number.isInteger(r)) return bad();
        if (!this.ctx.step(e.span, Math.max(0, r - l))) return POISON;
        const range = makeRange(l, r);
        return typeof range === "object" && range !== null && "error" in range ? this.invalid(e.span, range.error) : (range as Val);
      }
    }
    return bad();
  }

  private call(e: A.Call, env: Env): Val {
    const callee = this.evaluate(e.callee, env);
    if (isPoison(callee)) {
      for (const a of e.args) this.evaluate(a.value, env); // still check the arguments
      return POISON;
    }
    if (!isCallable(callee)) return this.invalid(e.callee.span, `${typeName(callee)} ${formatVal(callee)} cannot be called`);
    return this.applyCallable(callee, e.args, e.span, e.callee.span, env);
  }

  /** Evaluates arguments; a bare unknown identifier stays a symbol (enum arguments such as `flip(h)`). */
  argInputs(args: readonly A.Arg[], env: Env): ArgInput[] {
    return args.map((a) => {
      const input: ArgInput = { span: a.value.span, value: undefined };
      if (a.name !== undefined) input.name = a.name;
      if (a.nameSpan) input.nameSpan = a.nameSpan;
      if (a.value.kind === "name") {
        input.symbol = a.value.name;
        if (!env.lookup(a.value.name)) return input;
      }
      input.value = this.evaluate(a.value, env);
      return input;
    });
  }

  applyCallable(c: Callable, args: readonly A.Arg[], span: Span, calleeSpan: Span, env: Env): Val {
    const target = c.target as Target;
    switch (target.type) {
      case "def":
        return this.callDef(c.name, target, args, span, env);
      case "builtin": {
        // len and chain count or join items, which may be blocks: those stay unapplied.
        const lazy = c.name === "len" || c.name === "chain";
        const inputs = this.argInputs(args, env).map((a) => (a.value === undefined ? a : { ...a, value: lazy ? this.force(a.value, a.span) : this.deepForce(a.value, a.span) }));
        const bound = bindArgs(target.builtin, inputs, span);
        this.ctx.report(bound.diagnostics);
        if (!bound.ok) return POISON;
        const r = target.builtin.fn(bound.values);
        if (typeof r === "object" && r !== null && !Array.isArray(r) && "error" in r) return this.invalid(span, `${c.name}: ${(r as { error: string }).error}`);
        if (Array.isArray(r) && !this.ctx.step(span, r.length)) return POISON;
        return r as Val;
      }
      case "task_classes":
        if (this.ctx.classes === null && !this.ctx.assumedClasses) {
          this.ctx.assumedClasses = true;
          this.ctx.error("MEDG502", span, "no task gives the class count, so the head has 2 outputs; add e.g. `task classify(classes=[\"normal\", \"abnormal\"])`");
        }
        return this.ctx.classes ?? 2;
      case "combinator":
        return this.combinator(target.name, args, span, env);
      case "op": {
        const inputs = this.argInputs(args, env);
        const positionalBlocks = inputs.filter((a) => a.name === undefined && (isBlock(a.value) || isCallable(a.value)));
        if (combinatorOps.has(target.op.name) && positionalBlocks.length > 0) {
          const branches: Block[] = [];
          for (const a of inputs.filter((x) => x.name === undefined)) {
            const b = this.asBlock(a.value === undefined ? POISON : a.value, a.span);
            if (b === false) return POISON;
            if (b) branches.push(b);
          }
          const combine = this.opBlock(target.op, inputs.filter((x) => x.name !== undefined), span, c.name);
          return combine ? new BranchBlock(this.ctx, span, branches, combine, c.name) : POISON;
        }
        return this.opBlock(target.op, inputs.map((a) => (a.value === undefined ? a : { ...a, value: this.deepForce(a.value, a.span) })), span, c.name) ?? POISON;
      }
    }
  }

  opBlock(op: OpDef, inputs: ArgInput[], span: Span, name: string): OpBlock | null {
    const bound = bindArgs(op, inputs, span);
    this.ctx.report(bound.diagnostics);
    if (!bound.ok) return null;
    for (const spec of op.args) if (spec.fromTask === "classes" && bound.values[spec.name] === null) bound.values[spec.name] = this.force(this.applyCallable(callable("task_classes", span, { type: "task_classes" }), [], span, span, new Env()), span);
    const shown = inputs.map((a) => (a.name ? `${a.name}=${formatVal(a.value ?? a.symbol ?? null)}` : formatVal(a.value ?? a.symbol ?? null)));
    return new OpBlock(this.ctx, op, bound.values, span, inputs.length ? `${name}(${shown.join(", ")})` : name);
  }

  private combinator(name: CombinatorName, args: readonly A.Arg[], span: Span, env: Env): Val {
    if (name === "expect_rank" || name === "expect_divisible") {
      const bound = bindArgs(checkSignatures[name], this.argInputs(args, env), span);
      this.ctx.report(bound.diagnostics);
      if (!bound.ok) return POISON;
      const [n, what] = [bound.values[name === "expect_rank" ? "rank" : "multiple"] as number, bound.values["what"] as string];
      if (name === "expect_divisible") return new ExpectDivisibleBlock(this.ctx, span, n, what);
      const pool = bound.values["pool"] === true ? this.opBlock(opTable.get("gap")!, [], span, "gap") : null;
      return new ExpectRankBlock(this.ctx, span, n, what, pool);
    }
    if (name === "parallel") {
      const branches: Block[] = [];
      for (const a of args) {
        if (a.name !== undefined) return this.invalid(a.nameSpan ?? a.span, `parallel takes only blocks, not named arguments`);
        const b = this.blockOf(a.value, env);
        if (b === false) return POISON;
        if (b) branches.push(b);
      }
      return new BranchBlock(this.ctx, span, branches, null, "parallel");
    }
    let body: Block | null | false = null;
    let shortcut: Block | null | false = null;
    let positional = 0;
    for (const a of args) {
      const which = a.name ?? (positional++ === 0 ? "body" : positional === 2 ? "shortcut" : "?");
      if (which === "body") body = this.blockOf(a.value, env);
      else if (which === "shortcut") shortcut = this.blockOf(a.value, env);
      else if (a.name !== undefined) {
        const s = didYouMean(a.name, ["body", "shortcut"]);
        this.ctx.error("MEDG202", a.nameSpan ?? a.span, `residual has no argument '${a.name}'${s ? ` (did you mean '${s}'?)` : ""}; it takes body and shortcut`);
        return POISON;
      } else {
        this.ctx.error("MEDG204", a.span, `residual takes at most 2 arguments (body, shortcut)`);
        return POISON;
      }
    }
    if (body === false || shortcut === false) return POISON;
    if (!body) {
      this.ctx.error("MEDG204", span, "residual needs a body: residual(body, shortcut = …)");
      return POISON;
    }
    const add = this.opBlock(opTable.get("add")!, [], span, "add");
    return add ? new ResidualBlock(this.ctx, span, body, shortcut, add) : POISON;
  }

  private callDef(name: string, target: Extract<Target, { type: "def" }>, args: readonly A.Arg[], span: Span, env: Env): Val {
    const { def } = target;
    const explicit = new Map<string, Val>();
    let positional = 0;
    let ok = true;
    for (const a of args) {
      let pname: string | undefined;
      if (a.name !== undefined) {
        if (!def.params.some((p) => p.name === a.name)) {
          const given = new Set(args.map((x) => x.name).filter((n) => n !== undefined));
          const s = didYouMean(a.name, def.params.map((p) => p.name).filter((n) => !given.has(n)));
          this.ctx.error("MEDG202", a.nameSpan ?? a.span, `${name} has no argument '${a.name}'${s ? ` (did you mean '${s}'?)` : ""}; its arguments: ${def.params.map((p) => p.name).join(", ") || "none"}`, s && a.nameSpan ? { fixes: [{ title: `change to '${s}'`, edits: [{ span: a.nameSpan, text: s }] }] } : {});
          ok = false;
          continue;
        }
        pname = a.name;
      } else {
        if (args.some((x, j) => x.name !== undefined && j < args.indexOf(a))) {
          this.ctx.error("MEDG204", a.span, `${name}: a positional argument cannot follow a keyword argument`);
          ok = false;
          continue;
        }
        pname = def.params[positional++]?.name;
        if (pname === undefined) {
          this.ctx.error("MEDG204", a.span, `${name} takes ${def.params.length} argument${def.params.length === 1 ? "" : "s"} (${def.params.map((p) => p.name).join(", ")}), got ${args.filter((x) => x.name === undefined).length} positional`);
          ok = false;
          continue;
        }
      }
      if (explicit.has(pname)) {
        this.ctx.error("MEDG204", a.span, `${name}: argument '${pname}' is given twice`);
        ok = false;
        continue;
      }
      explicit.set(pname, this.evaluate(a.value, env));
    }
    const missing = def.params.filter((p) => p.default === undefined && !explicit.has(p.name)).map((p) => p.name);
    if (missing.length) {
      this.ctx.error("MEDG204", span, `${name} needs argument${missing.length > 1 ? "s" : ""} ${missing.map((m) => `'${m}'`).join(", ")}`);
      ok = false;
    }
    if (!ok) return POISON;
    const shown = `${name}${args.length ? `(${[...explicit].map(([k, v]) => `${k}=${formatVal(v)}`).join(", ")})` : ""}`;
    const bodyEnv = (input: Flow | null): Env => {
      const inner = new Env(target.env);
      if (input) inner.define("in", { kind: "value", value: { kind: "tensor", flow: input } });
      for (const p of def.params) {
        const v = explicit.has(p.name) ? explicit.get(p.name)! : this.evaluate(p.default!, inner);
        inner.define(p.name, { kind: "value", value: v, span: p.span });
      }
      return inner;
    };
    const enter = (): boolean => {
      if (this.ctx.depth >= limits.callDepth) {
        if (!this.ctx.exhausted) this.ctx.error("MEDG212", span, `def calls nested more than ${limits.callDepth} deep (does ${name} call itself without end?)`);
        this.ctx.exhausted = true;
        return false;
      }
      this.ctx.depth++;
      return true;
    };
    return new DefCall(
      this.ctx,
      span,
      shown,
      (input, scope) => {
        if (!enter()) return null;
        this.ctx.callStack.push({ span, describe: shown });
        try {
          const body = this.asBlockOrExplain(this.evaluate(def.body, bodyEnv(input)), def, span);
          return body ? body.apply(input, scope) : body === null ? input : null;
        } finally {
          this.ctx.callStack.pop();
          this.ctx.depth--;
        }
      },
      () => {
        if (!enter()) return POISON;
        this.ctx.callStack.push({ span, describe: shown });
        try {
          return this.evaluate(def.body, bodyEnv(null));
        } finally {
          this.ctx.callStack.pop();
          this.ctx.depth--;
        }
      },
      def,
    );
  }

  private asBlockOrExplain(v: Val, def: A.DefStmt, callSpan: Span): Block | null | false {
    if (isPoison(v) || v === null || isBlock(v) || isCallable(v) || Array.isArray(v)) return this.asBlock(v, def.body.span);
    this.ctx.error("MEDG214", callSpan, `${def.name} is used as a block, but its body gives ${typeName(v)} ${formatVal(v)}`);
    return false;
  }
}

const TUPLE = Symbol("tuple");

/** Tuples are arrays with a mark, so that passed through a def or a let they stay parallel branches. */
function markTuple(items: Val[]): Val[] {
  Object.defineProperty(items, TUPLE, { value: true });
  return items;
}

function isTuple(v: unknown): boolean {
  return Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[TUPLE] === true;
}

function equal(a: Val, b: Val): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  return a === b;
}
