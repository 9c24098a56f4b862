/**
 * Faster versions of a few data-movement ops for tfjs's pure-JavaScript "cpu" backend.
 *
 * That backend computes every element of a transpose, a slice, a pad, a broadcasting add/mul or
 * a reduction over non-trailing axes through generic index arithmetic (TensorBuffer.get,
 * indexToLoc): 100–800 ns an element, 10–50× its same-shape arithmetic. In a training step these
 * ops, not the convolutions, took most of the time. The versions here walk typed arrays with
 * precomputed strides, and each is a tf.customGrad whose gradient uses the same fast ops.
 *
 * `accelerate(tf)` returns the namespace with these ops swapped in when the active backend is
 * "cpu" (tfjs-node and GPU backends run their own native kernels and are returned unchanged);
 * kernels get it as ctx.tf. Anything outside the cases handled (other dtypes, scalars, numbers
 * as operands) goes to the original op.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tensor, Tf } from "../types.js";

type Data = Float32Array;
type Shape = readonly number[];

const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Strides of `shape` read as `out` (aligned at the right, as broadcasting does): 0 where broadcast. */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = strides(shape);
  const offset = out.length - shape.length;
  return out.map((_, i) => (i < offset || shape[i - offset] === 1 ? 0 : own[i - offset]!));
}

/**
 * Calls `run(offsets, count)` once per run of the innermost output axis, in row-major order;
 * `offsets[k]` is where that run starts in operand k (stepping by its last stride).
 */
function walk(out: Shape, operandStrides: number[][], run: (offsets: number[], o: number) => void): void {
  const rank = out.length;
  if (rank === 0 || size(out) === 0) {
    if (rank === 0) run(operandStrides.map(() => 0), 0);
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const offsets = operandStrides.map(() => 0);
  const n = out[rank - 1]!;
  for (let o = 0; ; o += n) {
    run(offsets, o);
    let d = rank - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < offsets.length; k++) offsets[k]! += operandStrides[k]![d]!;
      if (idx[d]! < out[d]!) break;
      for (let k = 0; k < offsets.length; k++) offsets[k]! -= operandStrides[k]![d]! * out[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

function values(t: Tensor): Data {
  return t.dataSync() as Data;
}

// ---- the loops ----

export function transposeData(src: Data, shape: Shape, perm: readonly number[]): Data {
  const out = new Float32Array(src.length);
  const outShape = perm.map((p) => shape[p]!);
  const own = strides(shape);
  const step = perm.map((p) => own[p]!);
  const n = outShape[outShape.length - 1] ?? 1;
  const s = step[step.length - 1] ?? 1;
  walk(outShape, [step], ([base], o) => {
    for (let k = 0, at = base!; k < n; k++, at += s) out[o + k] = src[at]!;
  });
  return out;
}

function sliceData(src: Data, shape: Shape, begin: readonly number[], sizes: Shape): Data {
  const out = new Float32Array(size(sizes));
  const own = strides(shape);
  const start = begin.reduce((acc, b, i) => acc + b * own[i]!, 0);
  const n = sizes[sizes.length - 1] ?? 1;
  walk(sizes, [own], ([base], o) => out.set(src.subarray(start + base!, start + base! + n), o));
  return out;
}

function padData(src: Data, shape: Shape, pads: readonly (readonly [number, number])[], value: number): { data: Data; shape: number[] } {
  const outShape = shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
  const out = new Float32Array(size(outShape));
  if (value !== 0) out.fill(value);
  const os = strides(outShape);
  const start = pads.reduce((acc, [b], i) => acc + b * os[i]!, 0);
  const n = shape[shape.length - 1] ?? 1;
  // Walk the input's rows; each lands at its shifted place in the output.
  walk(shape, [strides(shape), os], ([from, to]) => out.set(src.subarray(from!, from! + n), start + to!));
  return { data: out, shape: outShape };
}

type Binary = "add" | "sub" | "mul";

function binaryData(op: Binary, a: Data, aShape: Shape, b: Data, bShape: Shape, outShape: Shape): Data {
  const out = new Float32Array(size(outShape));
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const n = outShape[outShape.length - 1] ?? 1;
  const ia = sa[sa.length - 1] ?? 0;
  const ib = sb[sb.length - 1] ?? 0;
  // One loop per op, so each stays monomorphic.
  if (op === "add")
    walk(outShape, [sa, sb], ([pa, pb], o) => {
      for (let k = 0, x = pa!, y = pb!; k < n; k++, x += ia, y += ib) out[o + k] = a[x]! + b[y]!;
    });
  else if (op === "sub")
    walk(outShape, [sa, sb], ([pa, pb], o) => {
      for (let k = 0, x = pa!, y = pb!; k < n; k++, x += ia, y += ib) out[o + k] = a[x]! - b[y]!;
    });
  else
    walk(outShape, [sa, sb], ([pa, pb], o) => {
      for (let k = 0, x = pa!, y = pb!; k < n; k++, x += ia, y += ib) out[o + k] = a[x]! * b[y]!;
    });
  return out;
}

/** Sums `src` down to `target` (same rank after right alignment, dims equal or 1), in float64. */
function sumToData(src: Data, shape: Shape, target: Shape): Data {
  const acc = new Float64Array(size(target));
  const st = broadcastStrides(target, shape);
  const n = shape[shape.length - 1] ?? 1;
  const it = st[st.length - 1] ?? 0;
  walk(shape, [strides(shape), st], ([from, to]) => {
    if (it === 0) {
      let s = 0;
      for (let k = 0; k < n; k++) s += src[from! + k]!;
      acc[to!]! += s;
    } else for (let k = 0; k < n; k++) acc[to! + k]! += src[from! + k]!;
  });
  return Float32Array.from(acc);
}

/**
 * Row-major [batch, m, k] · [batch, k, n]. Eight rows of the result at a time, so each element of
 * b read feeds eight multiply-adds (about 4× tfjs's cpu BatchMatMul). Accumulates in float32, as
 * the GPU backends do.
 */
function matMulData(a: Data, b: Data, batch: number, m: number, k: number, n: number): Data {
  const out = new Float32Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ab = t * m * k;
    const bb = t * k * n;
    const ob = t * m * n;
    let i = 0;
    for (; i + 8 <= m; i += 8) {
      const o = ob + i * n;
      for (let p = 0; p < k; p++) {
        const br = bb + p * n;
        const ap = ab + i * k + p;
        const v0 = a[ap]!, v1 = a[ap + k]!, v2 = a[ap + 2 * k]!, v3 = a[ap + 3 * k]!;
        const v4 = a[ap + 4 * k]!, v5 = a[ap + 5 * k]!, v6 = a[ap + 6 * k]!, v7 = a[ap + 7 * k]!;
        for (let j = 0; j < n; j++) {
          const bv = b[br + j]!;
          const q = o + j;
          out[q]! += v0 * bv;
          out[q + n]! += v1 * bv;
          out[q + 2 * n]! += v2 * bv;
          out[q + 3 * n]! += v3 * bv;
          out[q + 4 * n]! += v4 * bv;
          out[q + 5 * n]! += v5 * bv;
          out[q + 6 * n]! += v6 * bv;
          out[q + 7 * n]! += v7 * bv;
        }
      }
    }
    for (; i < m; i++) {
      const o = ob + i * n;
      const ar = ab + i * k;
      for (let p = 0; p < k; p++) {
        const v = a[ar + p]!;
        const br = bb + p * n;
        for (let j = 0; j < n; j++) out[o + j]! += v * b[br + j]!;
      }
    }
  }
  return out;
}

// ---- the ops, with gradients ----

function isFloatTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "dataId" in x && (x as Tensor).dtype === "float32";
}

function broadcastShape(a: Shape, b: Shape): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

function custom(tf: Tf, f: (inputs: Tensor[], save: tfjs.GradSaveFunc) => { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor[] }): (...inputs: Tensor[]) => Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tfjs.GradSaveFunc;
    const r = f(args as Tensor[], save);
    return { value: r.value, gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => r.gradFunc(dy as Tensor, saved) };
  });
  return (...inputs) => op(...inputs) as Tensor;
}

const accelerated = new WeakMap<Tf, Tf>();

export function accelerate(tf: Tf): Tf {
  if (tf.getBackend() !== "cpu") return tf;
  let fast = accelerated.get(tf);
  if (!fast) accelerated.set(tf, (fast = withFastOps(tf)));
  return fast;
}

function withFastOps(tf: Tf): Tf {
  const made = (data: Data, shape: Shape) => tf.tensor(data, [...shape], "float32");

  const transpose = (x: Tensor, perm: readonly number[]): Tensor =>
    custom(tf, ([xi]) => ({
      value: made(transposeData(values(xi!), xi!.shape, perm), perm.map((p) => xi!.shape[p]!)),
      gradFunc: (dy) => {
        const inverse: number[] = [];
        perm.forEach((p, i) => (inverse[p] = i));
        return [transpose(dy, inverse)];
      },
    }))(x);

  const slice = (x: Tensor, begin: readonly number[], sizes: Shape): Tensor =>
    custom(tf, ([xi]) => ({
      value: made(sliceData(values(xi!), xi!.shape, begin, sizes), sizes),
      gradFunc: (dy) => [pad(dy, xi!.shape.map((d, i) => [begin[i]!, d - begin[i]! - sizes[i]!] as [number, number]), 0)],
    }))(x);

  const pad = (x: Tensor, pads: readonly (readonly [number, number])[], value: number): Tensor =>
    custom(tf, ([xi]) => {
      const r = padData(values(xi!), xi!.shape, pads, value);
      return { value: made(r.data, r.shape), gradFunc: (dy) => [slice(dy, pads.map(([b]) => b), xi!.shape)] };
    })(x);

  const sumTo = (x: Tensor, target: Shape): Tensor => custom(tf, ([xi]) => ({ value: made(sumToData(values(xi!), xi!.shape, target), target), gradFunc: (dy) => [expand(dy, xi!.shape)] }))(x);

  /** Broadcasts x to `shape` (the gradient of sumTo). */
  const expand = (x: Tensor, shape: Shape): Tensor => binary("add", x, tf.zeros([...shape]));

  const binary = (op: Binary, a: Tensor, b: Tensor): Tensor => {
    const shape = broadcastShape(a.shape, b.shape)!;
    return custom(tf, ([ai, bi], save) => {
      save([ai!, bi!]);
      return {
        value: made(binaryData(op, values(ai!), ai!.shape, values(bi!), bi!.shape, shape), shape),
        gradFunc: (dy, [as, bs]) => {
          const back = (g: Tensor, t: Tensor) => (sameShape(g.shape, t.shape) ? g : tf.reshape(sumTo(g, padRank(t.shape, g.rank)), t.shape));
          if (op === "mul") return [back(binary("mul", dy, bs!), as!), back(binary("mul", dy, as!), bs!)];
          return [back(dy, as!), back(op === "sub" ? tf.neg(dy) : dy, bs!)];
        },
      };
    })(a, b);
  };

  const reduce = (how: "sum" | "mean", x: Tensor, axis?: number | number[], keepDims = false): Tensor => {
    const axes = (axis === undefined ? x.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + x.rank : a));
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    let r = sumTo(x, kept);
    if (how === "mean") r = tf.mul(r, 1 / (size(x.shape) / size(kept)));
    return keepDims ? r : tf.reshape(r, x.shape.filter((_, i) => !axes.includes(i)));
  };

  const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);
  const padRank = (s: Shape, rank: number) => [...new Array<number>(rank - s.length).fill(1), ...s];
  /** Reductions over trailing axes are already fast in tfjs; only others are taken over. */
  const trailing = (x: Tensor, axis?: number | number[]) => {
    if (axis === undefined) return true;
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + x.rank : a)).sort((p, q) => p - q);
    return axes.every((a, i) => a === x.rank - axes.length + i);
  };

  const fastBinary =
    (op: Binary, original: (a: never, b: never) => Tensor) =>
    (a: unknown, b: unknown): Tensor => {
      if (!isFloatTensor(a) || !isFloatTensor(b) || sameShape(a.shape, b.shape) || a.rank === 0 || b.rank === 0) return original(a as never, b as never);
      if (!broadcastShape(a.shape, b.shape)) return original(a as never, b as never);
      return binary(op, a, b);
    };

  /** a·b over equal leading batch dims, either operand transposed in its last two axes. */
  const matMul = (a: Tensor, b: Tensor, ta: boolean, tb: boolean): Tensor =>
    custom(tf, ([ai, bi], save) => {
      save([ai!, bi!]);
      const r = ai!.rank;
      const lead = ai!.shape.slice(0, -2);
      const batch = size(lead);
      const swap = (x: Tensor) => transposeData(values(x), x.shape, [...x.shape.keys()].map((i) => (i < r - 2 ? i : i === r - 2 ? r - 1 : r - 2)));
      const [m, k] = ta ? [ai!.shape[r - 1]!, ai!.shape[r - 2]!] : [ai!.shape[r - 2]!, ai!.shape[r - 1]!];
      const n = tb ? bi!.shape[r - 2]! : bi!.shape[r - 1]!;
      const value = made(matMulData(ta ? swap(ai!) : values(ai!), tb ? swap(bi!) : values(bi!), batch, m, k, n), [...lead, m, n]);
      return {
        value,
        gradFunc: (dy, [as, bs]) => {
          if (!ta && !tb) return [matMul(dy, bs!, false, true), matMul(as!, dy, true, false)];
          if (ta && !tb) return [matMul(bs!, dy, false, true), matMul(as!, dy, false, false)];
          if (!ta && tb) return [matMul(dy, bs!, false, false), matMul(dy, as!, true, false)];
          return [matMul(bs!, dy, true, true), matMul(dy, as!, true, true)];
        },
      };
    })(a, b);

  const fast = {
    transpose: (x: Tensor, perm?: number[]) => {
      if (!isFloatTensor(x) || x.rank < 2) return tf.transpose(x, perm);
      const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
      return p.every((v, i) => v === i) ? tf.clone(x) : transpose(x, p);
    },
    slice: (x: Tensor, begin: number | number[], sizeArg?: number | number[]) => {
      if (!isFloatTensor(x) || !Array.isArray(begin) || begin.length !== x.rank) return tf.slice(x, begin, sizeArg);
      const sizes = x.shape.map((d, i) => {
        const s = Array.isArray(sizeArg) ? sizeArg[i] : undefined;
        return s === undefined || s === -1 ? d - begin[i]! : s;
      });
      return contiguous(x, begin, sizes) ? tf.slice(x, begin, sizes) : slice(x, begin, sizes);
    },
    pad: (x: Tensor, paddings: Array<[number, number]>, constantValue = 0) =>
      isFloatTensor(x) && x.rank >= 1 ? pad(x, paddings, constantValue) : tf.pad(x, paddings, constantValue),
    split: (x: Tensor, numOrSizeSplits: number | number[], axis = 0) => {
      const ax = axis < 0 ? axis + x.rank : axis;
      if (!isFloatTensor(x) || ax === 0) return tf.split(x, numOrSizeSplits, axis);
      const total = x.shape[ax]!;
      const sizes = typeof numOrSizeSplits === "number" ? new Array<number>(numOrSizeSplits).fill(total / numOrSizeSplits) : [...numOrSizeSplits];
      const free = sizes.indexOf(-1);
      if (free >= 0) sizes[free] = total - sizes.reduce((a, b) => a + (b === -1 ? 0 : b), 0);
      let at = 0;
      return sizes.map((s) => {
        const begin = x.shape.map((_, i) => (i === ax ? at : 0));
        at += s;
        return slice(x, begin, x.shape.map((d, i) => (i === ax ? s : d!)));
      });
    },
    matMul: (a: Tensor, b: Tensor, transposeA = false, transposeB = false) => {
      const plain = isFloatTensor(a) && isFloatTensor(b) && a.rank >= 2 && a.rank === b.rank && sameShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return plain ? matMul(a, b, transposeA, transposeB) : tf.matMul(a, b, transposeA, transposeB);
    },
    add: fastBinary("add", tf.add),
    sub: fastBinary("sub", tf.sub),
    mul: fastBinary("mul", tf.mul),
    sum: (x: Tensor, axis?: number | number[], keepDims?: boolean) =>
      isFloatTensor(x) && !trailing(x, axis) ? reduce("sum", x, axis, keepDims) : tf.sum(x, axis, keepDims),
    mean: (x: Tensor, axis?: number | number[], keepDims?: boolean) =>
      isFloatTensor(x) && !trailing(x, axis) ? reduce("mean", x, axis, keepDims) : tf.mean(x, axis, keepDims),
    moments: (x: Tensor, axis?: number | number[], keepDims = false) => {
      if (!isFloatTensor(x) || trailing(x, axis)) return tf.moments(x, axis, keepDims);
      const mean = reduce("mean", x, axis, true);
      const variance = reduce("mean", tf.square(binary("sub", x, mean)), axis, keepDims);
      return { mean: keepDims ? mean : tf.reshape(mean, variance.shape), variance };
    },
  };
  return { ...tf, ...fast } as unknown as Tf;
}

/** A slice along the first axis only is a contiguous copy in tfjs already. */
function contiguous(x: Tensor, begin: readonly number[], sizes: Shape): boolean {
  return x.shape.every((d, i) => i === 0 || (begin[i] === 0 && sizes[i] === d));
}
