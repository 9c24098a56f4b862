import type { Span } from "../syntax/span.js";
import type { Value as TensorValue } from "../ir/graph.js";

/**
 * Values of the language at evaluation time. Numbers, strings, booleans, none (null) and
 * lists are plain JS values; blocks and callables are tagged objects.
 */
export type Val = number | string | boolean | null | readonly Val[] | Block | Callable | Poison | TensorRef;

/** `in` inside a def applied to a tensor: its shape is readable (`in.c`, `in.h`). */
export interface TensorRef {
  readonly kind: "tensor";
  readonly flow: Flow;
}

/** What flows through a block: one tensor or several (multi-output). */
export type Flow = TensorValue | readonly TensorValue[];

/**
 * A function from tensors to tensors, applied with the scope (label path) it lives in.
 * Returns null when it failed (a diagnostic has been recorded).
 */
export interface Block {
  readonly kind: "block";
  readonly span: Span;
  /** Short description for messages: `conv(64, 3)`, `resnet50`, `a | b`. */
  readonly describe: string;
  /** Wiring (residual, concat, tap, …) is transparent: its parts name themselves in the enclosing scope. */
  readonly transparent: boolean;
  readonly label?: string;
  apply(input: Flow, scope: Scope): Flow | null;
}

/** A named thing that can be called: a def, an op, a builtin, a policy entry. */
export interface Callable {
  readonly kind: "callable";
  readonly name: string;
  readonly span: Span;
  readonly target: unknown;
}

/** The result of a failed evaluation; using it produces no further diagnostics. */
export interface Poison {
  readonly kind: "poison";
}

export const POISON: Poison = Object.freeze({ kind: "poison" as const });

/** Where a block is being applied: its label path and the role it belongs to. */
export interface Scope {
  readonly path: readonly string[];
  readonly role: string;
}

export function isBlock(v: unknown): v is Block {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "block";
}

export function isCallable(v: unknown): v is Callable {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "callable";
}

export function isPoison(v: unknown): v is Poison {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "poison";
}

export function typeName(v: Val | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "none";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "list";
  return (v as Block | Callable | Poison).kind;
}

export function formatVal(v: Val | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "none";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(formatVal).join(", ")}]`;
  if (isBlock(v)) return v.describe;
  if (isCallable(v)) return v.name;
  if ((v as TensorRef).kind === "tensor") return "in";
  return "<error>";
}
