/**
 * Reading an entry's bound arguments. The plan fills defaults in, but emitted programs may also
 * build entries by hand, so a missing argument falls back to the registry's default given here,
 * and a wrong type is reported with the entry's name instead of surfacing later as NaN.
 */
import type { Entry } from "./types.js";

function bad(entry: Entry, name: string, want: string, got: unknown): Error {
  return new TypeError(`${entry.name}: argument '${name}' must be ${want}, got ${JSON.stringify(got)}`);
}

export function numArg(entry: Entry, name: string, dflt: number): number {
  const v = entry.args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || Number.isNaN(v)) throw bad(entry, name, "a number", v);
  return v;
}

/** A number that has no default: the entry cannot work without it. */
export function requiredNumArg(entry: Entry, name: string): number {
  const v = entry.args[name];
  if (typeof v !== "number" || Number.isNaN(v)) throw bad(entry, name, "a number", v);
  return v;
}

export function optNumArg(entry: Entry, name: string): number | null {
  const v = entry.args[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || Number.isNaN(v)) throw bad(entry, name, "a number", v);
  return v;
}

export function boolArg(entry: Entry, name: string, dflt: boolean): boolean {
  const v = entry.args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") throw bad(entry, name, "true or false", v);
  return v;
}

export function strArg(entry: Entry, name: string, dflt: string): string {
  const v = entry.args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "string") throw bad(entry, name, "a string", v);
  return v;
}

/** A `floats` argument: one number or a list; null when absent. */
export function floatsArg(entry: Entry, name: string): number[] | null {
  const v = entry.args[name];
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return [v];
  if (Array.isArray(v) && v.every((e) => typeof e === "number")) return v as number[];
  throw bad(entry, name, "a number or a list of numbers", v);
}
