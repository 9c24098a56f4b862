/** A dimension: a number, or a symbol such as the batch dimension "N". */
export type Dim = number | string;
export type Shape = readonly Dim[];
export type DType = "float32" | "int64";

export interface TensorType {
  dtype: DType;
  shape: Shape;
}

export const BATCH = "N";

export function tensor(shape: Shape, dtype: DType = "float32"): TensorType {
  return { dtype, shape };
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function isStatic(d: Dim): d is number {
  return typeof d === "number";
}

/** Product of the static dims; symbolic dims are skipped (they are the batch). */
export function staticNumel(shape: Shape): number {
  let n = 1;
  for (const d of shape) if (typeof d === "number") n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
