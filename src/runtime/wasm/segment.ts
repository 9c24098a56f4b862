/**
 * UnsortedSegmentSum for the wasm backend, which has none: it is the gradient of every gather
 * (strided takes, resizing, Swin's relative position bias), so without it they cannot train.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tf } from "../types.js";
import { composed } from "./ops.js";

export function unsortedSegmentSum(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, backend, attrs }) => {
    const x = inputs.x!;
    const ids = inputs.segmentIds!;
    const segments = attrs.numSegments as number;
    const rows = ids.shape.reduce((a, b) => a * b, 1);
    const inner = ids.shape.length === 0 ? 0 : x.shape.slice(ids.shape.length).reduce((a, b) => a * b, 1);
    const out = ops.output([segments, ...x.shape.slice(ids.shape.length)], x.dtype);
    const xs = backend.typedArrayFromHeap(x);
    const is = backend.typedArrayFromHeap(ids);
    const os = backend.typedArrayFromHeap(out);
    for (let r = 0; r < rows; r++) {
      const s = is[r]!;
      if (s < 0 || s >= segments) continue;
      for (let k = 0, from = r * inner, to = s * inner; k < inner; k++) os[to + k]! += xs[from + k]!;
    }
    return out;
  });
}
