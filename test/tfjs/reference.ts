/**
 * Direct, loop-by-loop reference implementations of the IR's ops on channels-first arrays, written
 * from PyTorch's definitions (torch.nn.functional, torchvision) in float64. Slow and obvious on
 * purpose: the tfjs kernels are checked against them.
 */

export interface Nd {
  shape: number[];
  data: Float64Array;
}

export function nd(shape: number[], data?: ArrayLike<number>): Nd {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape: [...shape], data: data ? Float64Array.from(data) : new Float64Array(size) };
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

export function offset(a: Nd, idx: readonly number[]): number {
  const s = strides(a.shape);
  let o = 0;
  for (let i = 0; i < idx.length; i++) o += idx[i]! * s[i]!;
  return o;
}

export const at = (a: Nd, idx: readonly number[]) => a.data[offset(a, idx)]!;

/** Calls f for every multi-index of `shape`, in row-major order. */
export function each(shape: readonly number[], f: (idx: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

export function map(shape: number[], f: (idx: number[]) => number): Nd {
  const out = nd(shape);
  each(shape, (idx, flat) => (out.data[flat] = f(idx)));
  return out;
}

// ---- convolution and pooling ----

export interface ConvSpec {
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
}

export function conv(x: Nd, w: Nd, b: Nd | null, s: ConvSpec): Nd {
  const n = x.shape.length - 2;
  const [batch, cin] = x.shape as [number, number];
  const out = w.shape[0]!;
  const k = w.shape.slice(2);
  const size = x.shape.slice(2).map((d, i) => Math.floor((d + s.pads[i]! + s.pads[n + i]! - s.dilations[i]! * (k[i]! - 1) - 1) / s.strides[i]!) + 1);
  const perGroupIn = cin / s.group;
  const perGroupOut = out / s.group;
  return map([batch, out, ...size], ([bi, o, ...pos]) => {
    const g = Math.floor(o! / perGroupOut);
    let sum = b ? b.data[o!]! : 0;
    for (let c = 0; c < perGroupIn; c++)
      each(k, (kk) => {
        const src = pos.map((p, i) => p * s.strides[i]! - s.pads[i]! + kk[i]! * s.dilations[i]!);
        if (src.some((v, i) => v < 0 || v >= x.shape[2 + i]!)) return;
        sum += at(x, [bi!, g * perGroupIn + c, ...src]) * at(w, [o!, c, ...kk]);
      });
    return sum;
  });
}

export function convTranspose(x: Nd, w: Nd, b: Nd | null, s: ConvSpec & { outputPadding: number[] }): Nd {
  const n = x.shape.length - 2;
  const [batch, cin] = x.shape as [number, number];
  const perGroupOut = w.shape[1]!;
  const out = perGroupOut * s.group;
  const perGroupIn = cin / s.group;
  const k = w.shape.slice(2);
  const size = x.shape.slice(2).map((d, i) => (d - 1) * s.strides[i]! - s.pads[i]! - s.pads[n + i]! + s.dilations[i]! * (k[i]! - 1) + s.outputPadding[i]! + 1);
  const y = nd([batch, out, ...size]);
  each(x.shape, ([bi, c, ...pos]) => {
    const g = Math.floor(c! / perGroupIn);
    const v = at(x, [bi!, c!, ...pos]);
    for (let oc = 0; oc < perGroupOut; oc++)
      each(k, (kk) => {
        const dst = pos.map((p, i) => p * s.strides[i]! - s.pads[i]! + kk[i]! * s.dilations[i]!);
        if (dst.some((d, i) => d < 0 || d >= size[i]!)) return;
        y.data[offset(y, [bi!, g * perGroupOut + oc, ...dst])]! += v * at(w, [c!, oc, ...kk]);
      });
  });
  if (b) each(y.shape, (idx, flat) => (y.data[flat]! += b.data[idx[1]!]!));
  return y;
}

export interface PoolSpec {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  ceil: boolean;
  countIncludePad?: boolean;
}

function poolSize(d: number, k: number, s: number, p: number, dil: number, ceil: boolean): number {
  const span = d + 2 * p - dil * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= d + p) o--;
  return o;
}

export function maxpool(x: Nd, s: PoolSpec): Nd {
  const n = x.shape.length - 2;
  const size = x.shape.slice(2).map((d, i) => poolSize(d, s.kernel[i]!, s.strides[i]!, s.pads[i]!, s.dilations[i]!, s.ceil));
  return map([x.shape[0]!, x.shape[1]!, ...size], ([b, c, ...pos]) => {
    let m = -Infinity;
    each(s.kernel, (kk) => {
      const src = pos.map((p, i) => p * s.strides[i]! - s.pads[i]! + kk[i]! * s.dilations[i]!);
      if (src.some((v, i) => v < 0 || v >= x.shape[2 + i]!)) return;
      m = Math.max(m, at(x, [b!, c!, ...src]));
    });
    return n >= 0 ? m : 0;
  });
}

/** avg_pool with ATen's divisor: the window clipped to the padded input, or to the input without count_include_pad. */
export function avgpool(x: Nd, s: PoolSpec): Nd {
  const size = x.shape.slice(2).map((d, i) => poolSize(d, s.kernel[i]!, s.strides[i]!, s.pads[i]!, 1, s.ceil));
  return map([x.shape[0]!, x.shape[1]!, ...size], ([b, c, ...pos]) => {
    let sum = 0;
    let poolCount = 1;
    let inCount = 1;
    pos.forEach((p, i) => {
      const start = p * s.strides[i]! - s.pads[i]!;
      const end = Math.min(start + s.kernel[i]!, x.shape[2 + i]! + s.pads[i]!);
      poolCount *= end - start;
      inCount *= Math.min(end, x.shape[2 + i]!) - Math.max(start, 0);
    });
    each(s.kernel, (kk) => {
      const src = pos.map((p, i) => p * s.strides[i]! - s.pads[i]! + kk[i]!);
      if (src.some((v, i) => v < 0 || v >= x.shape[2 + i]!)) return;
      sum += at(x, [b!, c!, ...src]);
    });
    return sum / (s.countIncludePad === false ? inCount : poolCount);
  });
}

export function adaptivePool(x: Nd, size: number[], how: "mean" | "max"): Nd {
  return map([x.shape[0]!, x.shape[1]!, ...size], ([b, c, ...pos]) => {
    const ranges = pos.map((j, i) => {
      const n = x.shape[2 + i]!;
      const o = size[i]!;
      return [Math.floor((j * n) / o), Math.ceil(((j + 1) * n) / o)] as const;
    });
    let acc = how === "max" ? -Infinity : 0;
    let count = 0;
    each(
      ranges.map(([s, e]) => e - s),
      (kk) => {
        const v = at(x, [b!, c!, ...kk.map((k, i) => ranges[i]![0] + k)]);
        acc = how === "max" ? Math.max(acc, v) : acc + v;
        count++;
      },
    );
    return how === "max" ? acc : acc / count;
  });
}

// ---- normalisation ----

/** Mean and biased variance of x over the indices selected by `group(idx)`. */
function groupStats(x: Nd, key: (idx: number[]) => string): Map<string, { mean: number; variance: number; count: number }> {
  const sums = new Map<string, { s: number; s2: number; n: number }>();
  each(x.shape, (idx, flat) => {
    const k = key(idx);
    const e = sums.get(k) ?? { s: 0, s2: 0, n: 0 };
    e.s += x.data[flat]!;
    e.n++;
    sums.set(k, e);
  });
  each(x.shape, (idx, flat) => {
    const e = sums.get(key(idx))!;
    const d = x.data[flat]! - e.s / e.n;
    e.s2 += d * d;
  });
  return new Map([...sums].map(([k, e]) => [k, { mean: e.s / e.n, variance: e.s2 / e.n, count: e.n }]));
}

export function normalise(x: Nd, key: (idx: number[]) => string, eps: number, affine: (idx: number[]) => [number, number]): Nd {
  const stats = groupStats(x, key);
  return map(x.shape, (idx) => {
    const s = stats.get(key(idx))!;
    const [w, b] = affine(idx);
    return ((at(x, idx) - s.mean) / Math.sqrt(s.variance + eps)) * w + b;
  });
}

export function bnTrain(x: Nd, weight: Nd, bias: Nd, eps: number): { y: Nd; mean: number[]; unbiased: number[] } {
  const stats = groupStats(x, (i) => String(i[1]));
  const c = x.shape[1]!;
  const mean = Array.from({ length: c }, (_, k) => stats.get(String(k))!.mean);
  const unbiased = Array.from({ length: c }, (_, k) => {
    const s = stats.get(String(k))!;
    return (s.variance * s.count) / (s.count - 1);
  });
  const y = normalise(x, (i) => String(i[1]), eps, (i) => [weight.data[i[1]!]!, bias.data[i[1]!]!]);
  return { y, mean, unbiased };
}

export function bnEval(x: Nd, weight: Nd, bias: Nd, mean: Nd, variance: Nd, eps: number): Nd {
  return map(x.shape, (idx) => {
    const c = idx[1]!;
    return ((at(x, idx) - mean.data[c]!) / Math.sqrt(variance.data[c]! + eps)) * weight.data[c]! + bias.data[c]!;
  });
}

// ---- elementwise and linear ----

export function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse; a series / continued fraction to 1e-12 instead.
  if (Math.abs(x) > 4) return Math.sign(x);
  let sum = x;
  let term = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export const activations: Record<string, (v: number, a: Record<string, unknown>) => number> = {
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  leaky_relu: (v, a) => (v > 0 ? v : (a.slope as number) * v),
  gelu: (v, a) =>
    a.approximate === "tanh" ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))) : 0.5 * v * (1 + erf(v / Math.SQRT2)),
  silu: (v) => v / (1 + Math.exp(-v)),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  hardswish: (v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6,
  hardsigmoid: (v) => Math.min(Math.max(v + 3, 0), 6) / 6,
  tanh: (v) => Math.tanh(v),
  identity: (v) => v,
};

export function elementwise(x: Nd, f: (v: number) => number): Nd {
  return nd(x.shape, Array.from(x.data, f));
}

export function linear(x: Nd, w: Nd, b: Nd | null): Nd {
  const [out, inF] = w.shape as [number, number];
  return map([...x.shape.slice(0, -1), out], (idx) => {
    const o = idx[idx.length - 1]!;
    let s = b ? b.data[o]! : 0;
    for (let i = 0; i < inF; i++) s += at(x, [...idx.slice(0, -1), i]) * w.data[o * inF + i]!;
    return s;
  });
}

export function softmax(x: Nd, axis: number): Nd {
  return map(x.shape, (idx) => {
    let max = -Infinity;
    for (let k = 0; k < x.shape[axis]!; k++) max = Math.max(max, at(x, idx.map((v, i) => (i === axis ? k : v))));
    let sum = 0;
    for (let k = 0; k < x.shape[axis]!; k++) sum += Math.exp(at(x, idx.map((v, i) => (i === axis ? k : v))) - max);
    return Math.exp(at(x, idx) - max) / sum;
  });
}

export function permute(x: Nd, perm: number[]): Nd {
  return map(
    perm.map((p) => x.shape[p]!),
    (idx) => at(x, perm.map((_, i) => idx[perm.indexOf(i)]!)),
  );
}

/** Channels-first broadcasting (trailing 1s for shorter shapes). */
export function broadcast(inputs: Nd[], f: (a: number, b: number) => number): Nd {
  const rank = Math.max(...inputs.map((x) => x.shape.length));
  const shapes = inputs.map((x) => [...x.shape, ...new Array<number>(rank - x.shape.length).fill(1)]);
  const shape = Array.from({ length: rank }, (_, d) => Math.max(...shapes.map((s) => s[d]!)));
  return map(shape, (idx) =>
    inputs
      .map((x, k) => x.data[offset({ shape: shapes[k]!, data: x.data }, idx.map((v, d) => (shapes[k]![d] === 1 ? 0 : v)))]!)
      .reduce(f),
  );
}

export function concat(inputs: Nd[], axis: number): Nd {
  const shape = [...inputs[0]!.shape];
  shape[axis] = inputs.reduce((s, x) => s + x.shape[axis]!, 0);
  return map(shape, (idx) => {
    let i = idx[axis]!;
    for (const x of inputs) {
      if (i < x.shape[axis]!) return at(x, idx.map((v, d) => (d === axis ? i : v)));
      i -= x.shape[axis]!;
    }
    return NaN;
  });
}

export function slice(x: Nd, axis: number, start: number, size: number): Nd {
  const shape = [...x.shape];
  shape[axis] = size;
  return map(shape, (idx) => at(x, idx.map((v, d) => (d === axis ? v + start : v))));
}

export function reshape(x: Nd, shape: number[]): Nd {
  return nd(shape, x.data);
}

/** ATen's upsample kernels, one output element at a time. */
export function resize(x: Nd, out: number[], mode: string, alignCorners: boolean, scales: number[] | null): Nd {
  const n = out.length;
  const axisScale = (i: number) => {
    const inS = x.shape[2 + i]!;
    if (alignCorners) return out[i]! > 1 ? (inS - 1) / (out[i]! - 1) : 0;
    return scales ? 1 / scales[i]! : inS / out[i]!;
  };
  const clamp = (v: number, i: number) => Math.min(Math.max(v, 0), x.shape[2 + i]! - 1);
  return map([x.shape[0]!, x.shape[1]!, ...out], ([b, c, ...pos]) => {
    if (mode === "nearest") return at(x, [b!, c!, ...pos.map((p, i) => Math.min(Math.floor(Math.fround(p * Math.fround(axisScale(i)))), x.shape[2 + i]! - 1))]);
    // The linear modes copy an axis whose length is unchanged (a factor may still be other than 1).
    const copied = (i: number) => mode !== "bicubic" && out[i] === x.shape[2 + i];
    const src = pos.map((p, i) => (copied(i) ? p : alignCorners ? p * axisScale(i) : (p + 0.5) * axisScale(i) - 0.5));
    if (mode === "bicubic") {
      const A = -0.75;
      const cubic1 = (t: number) => ((A + 2) * t - (A + 3)) * t * t + 1;
      const cubic2 = (t: number) => ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
      const weights = src.map((s) => {
        const t = s - Math.floor(s);
        return [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
      });
      let sum = 0;
      each(new Array<number>(n).fill(4), (kk) => {
        const idx = kk.map((k, i) => clamp(Math.floor(src[i]!) - 1 + k, i));
        sum += kk.reduce((w, k, i) => w * weights[i]![k]!, 1) * at(x, [b!, c!, ...idx]);
      });
      return sum;
    }
    const s = src.map((v) => Math.max(v, 0));
    let sum = 0;
    each(new Array<number>(n).fill(2), (kk) => {
      let w = 1;
      const idx = kk.map((k, i) => {
        const i0 = Math.min(Math.floor(s[i]!), x.shape[2 + i]! - 1);
        const l = s[i]! - i0;
        w *= k === 0 ? 1 - l : l;
        return Math.min(i0 + k, x.shape[2 + i]! - 1);
      });
      sum += w * at(x, [b!, c!, ...idx]);
    });
    return sum;
  });
}

export function pad(x: Nd, begin: number[], end: number[], mode: string, value: number): Nd {
  const shape = x.shape.map((d, i) => d + begin[i]! + end[i]!);
  return map(shape, (idx) => {
    const src = idx.map((v, i) => v - begin[i]!);
    if (mode === "constant") return src.some((v, i) => v < 0 || v >= x.shape[i]!) ? value : at(x, src);
    return at(
      x,
      src.map((v, i) => {
        const n = x.shape[i]!;
        if (mode === "replicate") return Math.min(Math.max(v, 0), n - 1);
        return v < 0 ? -v : v >= n ? 2 * (n - 1) - v : v;
      }),
    );
  });
}

// ---- attention ----

/** Multi-head attention on [N, T, C] with packed q/k/v weights [3C, C], as nn.MultiheadAttention. */
export function mhsa(x: Nd, inW: Nd, inB: Nd | null, outW: Nd, outB: Nd | null, heads: number, bias?: (b: number, h: number, q: number, k: number) => number): Nd {
  const [batch, tokens, c] = x.shape as [number, number, number];
  const hd = c / heads;
  const qkv = linear(x, inW, inB);
  const ctxOut = nd([batch, tokens, c]);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++)
      for (let q = 0; q < tokens; q++) {
        const scores: number[] = [];
        for (let k = 0; k < tokens; k++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += at(qkv, [b, q, h * hd + d]) * at(qkv, [b, k, c + h * hd + d]);
          scores.push(s / Math.sqrt(hd) + (bias ? bias(b, h, q, k) : 0));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (let d = 0; d < hd; d++) {
          let s = 0;
          for (let k = 0; k < tokens; k++) s += (e[k]! / z) * at(qkv, [b, k, 2 * c + h * hd + d]);
          ctxOut.data[offset(ctxOut, [b, q, h * hd + d])] = s;
        }
      }
  return linear(ctxOut, outW, outB);
}

export function roll(x: Nd, shifts: number[], axes: number[]): Nd {
  return map(x.shape, (idx) =>
    at(
      x,
      idx.map((v, d) => {
        const k = axes.indexOf(d);
        if (k < 0) return v;
        const n = x.shape[d]!;
        return (((v - shifts[k]!) % n) + n) % n;
      }),
    ),
  );
}

/** torchvision's shifted_window_attention, step by step. */
export function windowAttention(
  x: Nd,
  p: { qkvW: Nd; qkvB: Nd | null; projW: Nd; projB: Nd; table: Nd; index: number[] },
  heads: number,
  window: [number, number],
  shift: [number, number],
): Nd {
  const [batch, h, w, c] = x.shape as [number, number, number, number];
  const [wh, ww] = window;
  const padB = (wh - (h % wh)) % wh;
  const padR = (ww - (w % ww)) % ww;
  let t = pad(x, [0, 0, 0, 0], [0, padB, padR, 0], "constant", 0);
  const [ph, pw] = [h + padB, w + padR];
  const s: [number, number] = [wh >= ph ? 0 : shift[0], ww >= pw ? 0 : shift[1]];
  if (s[0] + s[1] > 0) t = roll(t, [-s[0], -s[1]], [1, 2]);
  const nh = ph / wh;
  const nw = pw / ww;
  const tokens = wh * ww;
  // Window contents as [batch · windows, tokens, C].
  const windows = map([batch * nh * nw, tokens, c], ([bw, k, ch]) => {
    const b = Math.floor(bw! / (nh * nw));
    const win = bw! % (nh * nw);
    return at(t, [b, Math.floor(win / nw) * wh + Math.floor(k! / ww), (win % nw) * ww + (k! % ww), ch!]);
  });
  const region = (r: number, col: number) => {
    const part = (v: number, n: number, win: number, sh: number) => (v < n - win ? 0 : v < n - sh ? 1 : 2);
    return part(r, ph, wh, s[0]) * 3 + part(col, pw, ww, s[1]);
  };
  const pixel = (win: number, k: number) => [Math.floor(win / nw) * wh + Math.floor(k / ww), (win % nw) * ww + (k % ww)] as const;
  const bias = (bw: number, hh: number, q: number, k: number) => {
    let v = p.table.data[p.index[q * tokens + k]! * heads + hh]!;
    if (s[0] + s[1] > 0) {
      const win = bw % (nh * nw);
      const [qr, qc] = pixel(win, q);
      const [kr, kc] = pixel(win, k);
      if (region(qr, qc) !== region(kr, kc)) v += -100;
    }
    return v;
  };
  const y = mhsa(windows, p.qkvW, p.qkvB, p.projW, p.projB, heads, bias);
  let out = map([batch, ph, pw, c], ([b, r, col, ch]) => {
    const win = Math.floor(r! / wh) * nw + Math.floor(col! / ww);
    return at(y, [b! * nh * nw + win, (r! % wh) * ww + (col! % ww), ch!]);
  });
  if (s[0] + s[1] > 0) out = roll(out, s, [1, 2]);
  return map([batch, h, w, c], (idx) => at(out, idx));
}
