import { diagnostic, type Diagnostic, type Fix } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { spanUnion, type Span } from "../syntax/span.js";
import type { ArgSpec, ArgType, Signature } from "./signature.js";
import { formatVal, isBlock, isCallable, isPoison, POISON, typeName, type Val } from "./values.js";

/** One argument as written at a call site, after evaluation. */
export interface ArgInput {
  /** Keyword argument name; absent for a positional argument. */
  name?: string;
  nameSpan?: Span;
  /** The argument's value expression. */
  span: Span;
  /** The evaluated value; undefined when the expression was a bare identifier defined nowhere. */
  value: Val | undefined;
  /** Set when the expression is a bare identifier (`per_image`, `h`), defined or not. */
  symbol?: string;
}

export interface BindResult {
  /** Every declared argument: the supplied value, its default, or POISON when it failed or is missing. */
  values: Record<string, Val>;
  diagnostics: Diagnostic[];
  /** False when any diagnostic was produced or any argument was already poisoned. */
  ok: boolean;
  /** The value span of each argument the call supplied, so later checks can point at it. */
  spans: Record<string, Span>;
}

interface ArgIndex {
  args: readonly ArgSpec[];
  positional: readonly ArgSpec[];
  byName: ReadonlyMap<string, ArgSpec>;
}
const argIndexes = new WeakMap<Signature, ArgIndex>();

/** A signature's positional arguments and its arguments by name, worked out once per signature. */
function argIndex(sig: Signature): ArgIndex {
  let index = argIndexes.get(sig);
  if (index?.args !== sig.args) {
    index = { args: sig.args, positional: sig.args.filter((a) => !a.keywordOnly), byName: new Map(sig.args.map((a) => [a.name, a] as const)) };
    argIndexes.set(sig, index);
  }
  return index;
}

/**
 * Binds a call's arguments to a signature: positionals in order (keyword-only ones skipped),
 * keywords by name, defaults for the rest, and a type/bounds check of every supplied value.
 * Defaults are trusted as declared; the registries' tests check them.
 */
export function bindArgs(sig: Signature, args: readonly ArgInput[], callSpan: Span): BindResult {
  const diagnostics: Diagnostic[] = [];
  const values: Record<string, Val> = {};
  const spans: Record<string, Span> = {};
  const supplied = new Map<string, ArgInput>();
  let poisoned = false;

  const { positional, byName } = argIndex(sig);
  const extra: ArgInput[] = [];
  // Required arguments that an unknown keyword most likely meant; reporting them as missing too would repeat the same mistake.
  const meantBy = new Set<string>();
  let next = 0;

  const assign = (spec: ArgSpec, arg: ArgInput): void => {
    const first = supplied.get(spec.name);
    if (first) {
      diagnostics.push(
        diagnostic("MEDG204", arg.nameSpan ?? arg.span, `${sig.name} got argument '${spec.name}' more than once`, {
          related: [{ span: first.nameSpan ?? first.span, message: `'${spec.name}' is first given here` }],
        }),
      );
      return;
    }
    supplied.set(spec.name, arg);
    spans[spec.name] = arg.span;
    const checked = checkArg(sig, spec, arg, diagnostics);
    if (isPoison(checked)) poisoned = true;
    values[spec.name] = checked;
  };

  let keywordSeen = false;
  for (const arg of args) {
    if (arg.name === undefined && keywordSeen) {
      diagnostics.push(diagnostic("MEDG204", arg.span, `${sig.name}: a positional argument cannot follow a keyword argument`));
      poisoned = true;
      continue;
    }
    if (arg.name !== undefined) keywordSeen = true;
    if (arg.name === undefined) {
      const spec = positional[next++];
      if (spec) assign(spec, arg);
      else extra.push(arg);
      continue;
    }
    const spec = byName.get(arg.name);
    if (spec) {
      assign(spec, arg);
      continue;
    }
    const suggestion = didYouMean(arg.name, sig.args.map((a) => a.name).filter((n) => !args.some((x) => x.name === n)));
    if (suggestion !== undefined) meantBy.add(suggestion);
    const fixes: Fix[] =
      suggestion !== undefined && arg.nameSpan ? [{ title: `replace with '${suggestion}'`, edits: [{ span: arg.nameSpan, text: suggestion }] }] : [];
    const hint = suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : sig.args.length ? ` (it takes ${listNames(sig.args.map((a) => a.name))})` : " (it takes no arguments)";
    diagnostics.push(diagnostic("MEDG202", arg.nameSpan ?? arg.span, `${sig.name} has no argument '${arg.name}'${hint}`, { fixes }));
  }

  if (extra.length) {
    const span = extra.reduce((s, a) => spanUnion(s, a.span), extra[0]!.span);
    const got = positional.length + extra.length;
    const takes = positional.length === 0 ? "no positional arguments" : `${positional.some((a) => a.default !== undefined) ? "at most " : ""}${plural(positional.length, "positional argument")}`;
    diagnostics.push(diagnostic("MEDG204", span, `${sig.name} takes ${takes}, got ${got}`));
  }

  const missing = sig.args.filter((a) => a.default === undefined && !supplied.has(a.name));
  for (const spec of missing) values[spec.name] = POISON;
  const reported = missing.filter((a) => !meantBy.has(a.name));
  if (reported.length) {
    const noun = reported.length === 1 ? "argument" : "arguments";
    diagnostics.push(diagnostic("MEDG204", callSpan, `${sig.name} is missing required ${noun} ${listNames(reported.map((a) => a.name))}`));
  }

  for (const spec of sig.args) {
    if (!(spec.name in values) && spec.default !== undefined) values[spec.name] = normaliseDefault(spec);
  }

  return { values, diagnostics, ok: diagnostics.length === 0 && !poisoned && missing.length === 0, spans };
}

/** Checks one supplied value; returns the (normalised) value, or POISON after recording why. */
function checkArg(sig: Signature, spec: ArgSpec, arg: ArgInput, out: Diagnostic[]): Val {
  const v = arg.value;
  if (isPoison(v)) return v;

  const choices = spec.type === "enum" || spec.type === "string" ? spec.choices : undefined;
  // A bare identifier naming a choice is that choice, whatever the identifier happens to be bound to elsewhere.
  if (arg.symbol !== undefined && choices?.includes(arg.symbol)) return arg.symbol;

  if (v === undefined) {
    if (arg.symbol === undefined) return POISON;
    const suggestion = choices ? didYouMean(arg.symbol, choices) : undefined;
    const hint = suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : choices ? ` (${sig.name} argument '${spec.name}' expects one of ${choices.join(", ")})` : "";
    out.push(diagnostic("MEDG201", arg.span, `unknown name '${arg.symbol}'${hint}`, { fixes: replaceFix(arg.span, suggestion, false) }));
    return POISON;
  }

  if (v === null && (spec.default === null || spec.type === "any")) return null;
  // `gelu(approximate=none)`: the literal none names the choice "none" where there is one.
  if (v === null && choices?.includes("none")) return "none";

  const wrongType = (): Val => {
    out.push(diagnostic("MEDG203", arg.span, `${sig.name} argument '${spec.name}' expects ${describeType(spec)}, got ${typeName(v)} ${formatVal(v)}`));
    return POISON;
  };

  if (choices && (spec.type === "enum" || typeof v === "string")) {
    if (typeof v === "string" && choices.includes(v)) return v;
    const wrote = typeof v === "string" ? v : arg.symbol;
    const suggestion = wrote !== undefined ? didYouMean(wrote, choices) : undefined;
    const hint = suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : "";
    const got = typeof v === "string" ? formatVal(v) : `${typeName(v)} ${arg.symbol ?? formatVal(v)}`;
    out.push(
      diagnostic("MEDG203", arg.span, `${sig.name} argument '${spec.name}' expects one of ${choices.join(", ")}, got ${got}${hint}`, {
        fixes: replaceFix(arg.span, suggestion, typeof v === "string" && arg.symbol === undefined),
      }),
    );
    return POISON;
  }

  switch (spec.type) {
    case "int":
      if (!isInt(v)) return wrongType();
      return checkBounds(sig, spec, arg, [v], v, out);
    case "float":
      if (typeof v !== "number") return wrongType();
      return checkBounds(sig, spec, arg, [v], v, out);
    case "ints":
      if (isInt(v)) return checkBounds(sig, spec, arg, [v], v, out);
      if (Array.isArray(v) && v.every(isInt)) return checkBounds(sig, spec, arg, v as number[], v, out);
      return wrongType();
    case "floats":
      if (typeof v === "number") return checkBounds(sig, spec, arg, [v], v, out);
      if (Array.isArray(v) && v.every((e) => typeof e === "number")) return checkBounds(sig, spec, arg, v as number[], v, out);
      return wrongType();
    case "bool":
      return typeof v === "boolean" ? v : wrongType();
    case "string":
      return typeof v === "string" ? v : wrongType();
    case "strings":
      if (typeof v === "string") return [v];
      if (Array.isArray(v) && v.every((e) => typeof e === "string")) return v;
      return wrongType();
    case "block":
      return isBlock(v) || isCallable(v) ? v : wrongType();
    case "enum":
      // Reached only when the spec declares no choices: any string will do.
      return typeof v === "string" ? v : wrongType();
    case "list":
      return Array.isArray(v) ? v : wrongType();
    case "any":
      return v;
  }
}

function checkBounds(sig: Signature, spec: ArgSpec, arg: ArgInput, nums: readonly number[], whole: Val, out: Diagnostic[]): Val {
  for (const n of nums) {
    let problem: string | undefined;
    if (!Number.isFinite(n)) problem = "must be a finite number";
    else if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) problem = `must be ${describeBounds(spec)}`;
    if (problem === undefined) continue;
    const got = nums.length === 1 && !Array.isArray(whole) ? formatVal(n) : `${formatVal(n)} in ${formatVal(whole)}`;
    out.push(diagnostic("MEDG213", arg.span, `${sig.name} argument '${spec.name}' ${problem}, got ${got}`));
    return POISON;
  }
  return whole;
}

function describeBounds(spec: ArgSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `between ${spec.min} and ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  return `at most ${spec.max}`;
}

const typeWords: Record<ArgType, string> = {
  int: "an int",
  float: "a number",
  bool: "true or false",
  string: "a string",
  ints: "an int or a list of ints",
  floats: "a number or a list of numbers",
  strings: "a string or a list of strings",
  block: "a block",
  enum: "a name",
  list: "a list",
  any: "a value",
};

function describeType(spec: ArgSpec): string {
  if (spec.choices && (spec.type === "enum" || spec.type === "string")) return `one of ${spec.choices.join(", ")}`;
  return typeWords[spec.type];
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function normaliseDefault(spec: ArgSpec): Val {
  const d = spec.default as Val;
  if (spec.type === "strings" && typeof d === "string") return [d];
  return d;
}

function replaceFix(span: Span, suggestion: string | undefined, quoted: boolean): Fix[] {
  if (suggestion === undefined) return [];
  return [{ title: `replace with '${suggestion}'`, edits: [{ span, text: quoted ? JSON.stringify(suggestion) : suggestion }] }];
}

function listNames(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(", ");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
