/**
 * Argument specifications shared by everything callable from the language: operators,
 * policy entries (losses, optimizers, …) and builtins. Binding and type checking of a call
 * against a spec happens in one place (bind.ts), so every callable gets the same diagnostics.
 */
export type ArgType =
  | "int"
  | "float"
  | "bool"
  | "string"
  /** An int or a list/tuple of ints (kernel sizes, strides, …). */
  | "ints"
  | "floats"
  | "strings"
  /** A block (an operator, a def, a pipe). */
  | "block"
  /** One of `choices`; a bare identifier in the call is taken as the choice's name. */
  | "enum"
  | "list"
  | "any";

export interface ArgSpec {
  name: string;
  type: ArgType;
  /** Absent: required. `null` means "none" (optional with no value). */
  default?: unknown;
  choices?: readonly string[];
  /** Inclusive numeric bounds, checked on ints/floats (each element for lists). */
  min?: number;
  max?: number;
  /** Only accepted by name (`dropout=.3`), never by position. */
  keywordOnly?: boolean;
  /** When absent (null), the value comes from the model's task: `head linear` has the task's classes. */
  fromTask?: "classes";
  doc?: string;
}

export interface Signature {
  name: string;
  doc: string;
  args: readonly ArgSpec[];
}

export function formatSignature(sig: Signature): string {
  const args = sig.args.map((a) => (a.default === undefined ? a.name : `${a.name}=${formatDefault(a.default)}`));
  return `${sig.name}(${args.join(", ")})`;
}

function formatDefault(v: unknown): string {
  if (v === null) return "none";
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(formatDefault).join(", ")}]`;
  return String(v);
}
