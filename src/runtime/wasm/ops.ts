/**
 * The wasm backend's own kernels called on TensorInfos from inside another kernel, as backends
 * compose their kernels: no engine, no tape, no tensors. Every intermediate an `Ops` makes is
 * freed when the kernel finishes, except the result it hands back.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tf } from "../types.js";

export type Info = tfjs.TensorInfo;
export type Pads = readonly (readonly [number, number])[];

/** What these kernels use of tfjs-backend-wasm's BackendWasm. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tfjs.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

export interface KernelArgs {
  inputs: Record<string, Info>;
  backend: WasmBackend;
  attrs: Record<string, unknown>;
}

export class Ops {
  private readonly made: Info[] = [];

  constructor(
    private readonly tf: Tf,
    readonly backend: WasmBackend,
  ) {}

  run(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown> = {}): Info {
    const kernel = this.tf.getKernel(name, "wasm");
    if (!kernel) throw new Error(`the wasm backend has no ${name} kernel`);
    const out = kernel.kernelFunc({ inputs: inputs as tfjs.NamedTensorInfoMap, backend: this.backend as never, attrs: attrs as tfjs.NamedAttrMap }) as Info;
    this.made.push(out);
    return out;
  }

  /** A fresh output of the backend, zero-filled (makeOutput leaves the heap as it was). */
  output(shape: number[], dtype: tfjs.DataType = "float32"): Info {
    const out = this.backend.makeOutput(shape, dtype);
    this.made.push(out);
    this.backend.typedArrayFromHeap(out).fill(0);
    return out;
  }

  /** Takes `info` (made by the backend here) among the intermediates freed by finish. */
  adopt(info: Info): Info {
    this.made.push(info);
    return info;
  }

  /** Frees every intermediate but `keep`; an input handed back gets a reference of its own. */
  finish(result: Info): Info {
    const keep = this.made.includes(result) ? result : this.run("Identity", { x: result });
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    return keep;
  }

  abandon(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }

  transpose(x: Info, perm: readonly number[]): Info {
    return perm.every((p, i) => p === i) ? x : this.run("Transpose", { x }, { perm: [...perm] });
  }

  reshape(x: Info, shape: readonly number[]): Info {
    return shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i]) ? x : this.run("Reshape", { x }, { shape: [...shape] });
  }

  slice(x: Info, begin: readonly number[], size: readonly number[]): Info {
    return begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i]) ? x : this.run("Slice", { x }, { begin: [...begin], size: [...size] });
  }

  /** Pads with zeros, or crops where an amount is negative. */
  padOrCrop(x: Info, pads: Pads): Info {
    let out = x;
    if (pads.some(([b, e]) => b < 0 || e < 0)) {
      const begin = pads.map(([b]) => Math.max(0, -b));
      out = this.slice(
        out,
        begin,
        out.shape.map((d, i) => d - begin[i]! - Math.max(0, -pads[i]![1])),
      );
    }
    if (pads.some(([b, e]) => b > 0 || e > 0)) {
      out = this.run("PadV2", { x: out }, { paddings: pads.map(([b, e]) => [Math.max(0, b), Math.max(0, e)]), constantValue: 0 });
    }
    return out;
  }

  /**
   * Puts `factor - 1` zeros after every element along each axis whose factor is > 1: n → n · factor
   * (the trailing zeros included; callers crop or pad from there). One axis at a time: XNNPACK pads
   * at most 6 dimensions.
   */
  interleaveZeros(x: Info, factors: readonly number[]): Info {
    let out = x;
    factors.forEach((f, axis) => {
      if (f === 1) return;
      const shape = [...out.shape];
      const split = [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)];
      const pads = split.map((_, i) => (i === axis + 1 ? [0, f - 1] : [0, 0]));
      const padded = this.run("PadV2", { x: this.reshape(out, split) }, { paddings: pads, constantValue: 0 });
      shape[axis]! *= f;
      out = this.reshape(padded, shape);
    });
    return out;
  }

  /**
   * A filter [...k, a, b] flipped along its spatial axes, its last two axes swapped when `swap`
   * ([...k, b, a]): a loop over the heap. The backend's Reverse kernel takes some 80 ns an element,
   * more than the convolution the flipped filter is for.
   */
  flipFilter(filter: Info, swap: boolean): Info {
    const n = filter.shape.length - 2;
    const k = filter.shape.slice(0, n);
    return this.subFilter(filter, "HWIO", swap, k.map(() => 0), k.map(() => 1), k);
  }

  /**
   * The taps start[i] + step[i]·j (j < count[i]) of a filter, flipped along each spatial axis, as
   * [...count, a, b] or, when `swap`, [...count, b, a]; the filter is [...k, a, b] ("HWIO") or
   * [b, a, ...k] ("OIHW", PyTorch's layout).
   */
  subFilter(filter: Info, layout: "HWIO" | "OIHW", swap: boolean, start: readonly number[], step: readonly number[], count: readonly number[]): Info {
    const shape = filter.shape;
    const n = shape.length - 2;
    const spatial = layout === "HWIO" ? shape.slice(0, n) : shape.slice(2);
    const [a, b] = (layout === "HWIO" ? shape.slice(n) : [shape[1], shape[0]]) as [number, number];
    const out = this.output([...count, ...(swap ? [b, a] : [a, b])], "float32");
    const src = this.backend.typedArrayFromHeap(filter) as Float32Array;
    const dst = this.backend.typedArrayFromHeap(out) as Float32Array;
    const block = a * b;
    const taps = count.reduce((p, q) => p * q, 1);
    const area = spatial.reduce((p, q) => p * q, 1);
    const TILE = 32;
    for (let t = 0; t < taps; t++) {
      // Output tap t (row-major over count) reads source tap start + step · (count - 1 - j).
      let tap = 0;
      for (let i = 0, rest = t, size = taps; i < n; i++) {
        size /= count[i]!;
        const j = Math.floor(rest / size);
        rest -= j * size;
        tap = tap * spatial[i]! + start[i]! + step[i]! * (count[i]! - 1 - j);
      }
      const to = t * block;
      if (layout === "OIHW") {
        // src[(o · a + c) · area + tap] for (c, o) = (i, j) of the [a, b] block.
        if (swap) for (let o = 0, k = to; o < b; o++) for (let c = 0; c < a; c++, k++) dst[k] = src[(o * a + c) * area + tap]!;
        else for (let c = 0, k = to; c < a; c++) for (let o = 0; o < b; o++, k++) dst[k] = src[(o * a + c) * area + tap]!;
        continue;
      }
      const from = tap * block;
      if (!swap) {
        dst.set(src.subarray(from, from + block), to);
        continue;
      }
      for (let i0 = 0; i0 < a; i0 += TILE)
        for (let j0 = 0; j0 < b; j0 += TILE) {
          const i1 = Math.min(a, i0 + TILE);
          const j1 = Math.min(b, j0 + TILE);
          for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[to + j * a + i] = src[from + i * b + j]!;
        }
    }
    return out;
  }

  concat(xs: readonly Info[], axis: number): Info {
    return xs.length === 1 ? xs[0]! : this.run("Concat", xs as unknown as Record<string, Info>, { axis });
  }

  sum(x: Info, axis: number): Info {
    return this.run("Sum", { x }, { axis: [axis], keepDims: false });
  }

  conv2d(x: Info, filter: Info, dilations: [number, number], strides: [number, number] = [1, 1]): Info {
    return this.run("Conv2D", { x, filter }, { strides, pad: "valid", dataFormat: "NHWC", dilations, dimRoundingMode: undefined });
  }

  depthwise(x: Info, filter: Info, dilations: [number, number], strides: [number, number] = [1, 1]): Info {
    return this.run("DepthwiseConv2dNative", { x, filter }, { strides, pad: "valid", dilations, dimRoundingMode: undefined });
  }

  conv3d(x: Info, filter: Info, dilations: [number, number, number], strides: [number, number, number] = [1, 1, 1]): Info {
    return this.run("Conv3D", { x, filter }, { strides, pad: "valid", dilations, dataFormat: "NDHWC" });
  }
}

/** A kernel function whose intermediates are freed whatever happens. */
export function composed(tf: Tf, body: (ops: Ops, args: KernelArgs) => Info): tfjs.KernelFunc {
  return (args) => {
    const a = args as unknown as KernelArgs;
    const ops = new Ops(tf, a.backend);
    try {
      return ops.finish(body(ops, a));
    } catch (e) {
      ops.abandon();
      throw e;
    }
  };
}
