/**
 * Reading a policy entry's arguments at run time (`focal(gamma=2)`, `cosine(warmup=1)`), for the
 * losses, optimizers and schedules. The compiler has checked them against the registry already; a
 * hand-edited plan.json that gets one wrong fails here with the entry and argument named.
 */
import type { Entry } from "./types.js";

export interface ArgReader {
  error(entry: Entry, name: string, want: string): Error;
  /** A number; `dflt` when absent (required when no default is given). */
  num(entry: Entry, name: string, dflt?: number): number;
  /** A number, or null when absent. */
  optNum(entry: Entry, name: string): number | null;
  bool(entry: Entry, name: string, dflt: boolean): boolean;
  str(entry: Entry, name: string, dflt: string): string;
}

const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

/** Readers whose errors begin with `what` ("loss", "optimizer", "schedule") and the entry's name. */
export function argReader(what: string): ArgReader {
  const error = (entry: Entry, name: string, want: string): Error =>
    new TypeError(`${what} ${entry.name}: argument '${name}' must be ${want}, got ${JSON.stringify(entry.args[name])}`);
  const number = (entry: Entry, name: string, v: unknown): number => {
    if (typeof v !== "number" || Number.isNaN(v)) throw error(entry, name, "a number");
    return v;
  };
  return {
    error,
    num: (entry, name, dflt) => {
      const v = entry.args[name];
      return absent(v) && dflt !== undefined ? dflt : number(entry, name, v);
    },
    optNum: (entry, name) => {
      const v = entry.args[name];
      return absent(v) ? null : number(entry, name, v);
    },
    bool: (entry, name, dflt) => {
      const v = entry.args[name];
      if (absent(v)) return dflt;
      if (typeof v !== "boolean") throw error(entry, name, "true or false");
      return v;
    },
    str: (entry, name, dflt) => {
      const v = entry.args[name];
      if (absent(v)) return dflt;
      if (typeof v !== "string") throw error(entry, name, "a string");
      return v;
    },
  };
}
