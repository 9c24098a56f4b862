import type { Signature } from "./signature.js";
import type { Val } from "./values.js";

export interface Builtin extends Signature {
  /** Returns the value, or a string: the message of a MEDG213 diagnostic. */
  fn(args: Record<string, Val>): Val | { error: string };
}

const num = (v: Val): number => v as number;
const nums = (v: Val): number[] => (Array.isArray(v) ? (v as number[]) : [v as number]);

/** Plain value functions available everywhere (width and depth rules need them). */
export const builtins: readonly Builtin[] = [
  { name: "min", doc: "The smallest of the numbers.", args: [{ name: "a", type: "any" }, { name: "b", type: "float", default: null }], fn: (a) => minMax(a, Math.min) },
  { name: "max", doc: "The largest of the numbers.", args: [{ name: "a", type: "any" }, { name: "b", type: "float", default: null }], fn: (a) => minMax(a, Math.max) },
  { name: "int", doc: "Truncates toward zero, like Python's int().", args: [{ name: "x", type: "float" }], fn: (a) => Math.trunc(num(a.x)) },
  { name: "round", doc: "Rounds half to even, like Python's round().", args: [{ name: "x", type: "float" }], fn: (a) => roundHalfEven(num(a.x)) },
  { name: "ceil", doc: "Smallest integer not below x.", args: [{ name: "x", type: "float" }], fn: (a) => Math.ceil(num(a.x)) },
  { name: "floor", doc: "Largest integer not above x.", args: [{ name: "x", type: "float" }], fn: (a) => Math.floor(num(a.x)) },
  { name: "abs", doc: "Absolute value.", args: [{ name: "x", type: "float" }], fn: (a) => Math.abs(num(a.x)) },
  { name: "sqrt", doc: "Square root.", args: [{ name: "x", type: "float", min: 0 }], fn: (a) => Math.sqrt(num(a.x)) },
  {
    name: "len",
    doc: "Number of items of a list or characters of a string.",
    args: [{ name: "x", type: "any" }],
    fn: (a) => (Array.isArray(a.x) || typeof a.x === "string" ? (a.x as { length: number }).length : { error: `len expects a list or a string` }),
  },
  {
    name: "sum",
    doc: "Sum of a list of numbers.",
    args: [{ name: "xs", type: "floats" }],
    fn: (a) => nums(a.xs).reduce((s, x) => s + x, 0),
  },
  {
    name: "cumsum",
    doc: "Running sums of a list: cumsum([1, 2, 3]) = [0, 1, 3, 6] (starts at 0, one longer).",
    args: [{ name: "xs", type: "floats" }],
    fn: (a) => {
      const xs = nums(a.xs);
      const out = [0];
      for (const x of xs) out.push(out[out.length - 1]! + x);
      return out;
    },
  },
  {
    name: "range",
    doc: "Integers from start (inclusive) to stop (exclusive): range(3) = [0, 1, 2].",
    args: [
      { name: "a", type: "int" },
      { name: "b", type: "int", default: null },
      { name: "step", type: "int", default: 1 },
    ],
    fn: (a) => {
      const [start, stop] = a.b === null ? [0, num(a.a)] : [num(a.a), num(a.b)];
      return makeRange(start, stop, num(a.step));
    },
  },
  { name: "str", doc: "The text of a value.", args: [{ name: "x", type: "any" }], fn: (a) => (typeof a.x === "string" ? a.x : String(a.x)) },
  {
    name: "chain",
    doc: "Joins a list of lists into one list: chain([[a, b] for i in 0..n]) puts several labelled blocks per step side by side.",
    args: [{ name: "lists", type: "list" }],
    fn: (a) => {
      const lists = a.lists as readonly Val[];
      if (!lists.every((l) => Array.isArray(l))) return { error: "expects a list of lists" };
      const out = (lists as readonly (readonly Val[])[]).flat();
      return out.length > MAX_LIST ? { error: `list longer than ${MAX_LIST} items` } : out;
    },
  },
];

export const MAX_LIST = 100_000;

export function makeRange(start: number, stop: number, step = 1): Val | { error: string } {
  if (step === 0) return { error: "range step must not be 0" };
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > MAX_LIST) return { error: `range of ${n} items is larger than the limit of ${MAX_LIST}` };
  return Array.from({ length: n }, (_, i) => start + i * step);
}

function minMax(a: Record<string, Val>, f: (...xs: number[]) => number): Val | { error: string } {
  const xs = a.b === null ? a.a : [a.a, a.b];
  if (!Array.isArray(xs) || xs.length === 0 || !xs.every((x) => typeof x === "number")) return { error: "expects numbers or a non-empty list of numbers" };
  return f(...(xs as number[]));
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const builtinTable: ReadonlyMap<string, Builtin> = new Map(builtins.map((b) => [b.name, b]));
