/**
 * Plain-loop reference implementations of a few ops, written from PyTorch/torchvision's
 * definitions (not from the lowerings), for numeric checks of the ONNX export.
 * Tensors are flat row-major Float32Arrays.
 */

export type Params = ReadonlyMap<string, Float32Array>;

/** y = x W^T + b over the last dim: x [rows, in], W [out, in]. */
export function linear(x: Float32Array, rows: number, inF: number, w: Float32Array, b: Float32Array | undefined, out: number): Float32Array {
  const y = new Float32Array(rows * out);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * out + o] = s;
    }
  return y;
}

export function layerNorm(x: Float32Array, rows: number, c: number, w: Float32Array, b: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < c; i++) mean += x[r * c + i]!;
    mean /= c;
    let v = 0;
    for (let i = 0; i < c; i++) v += (x[r * c + i]! - mean) ** 2;
    v /= c;
    for (let i = 0; i < c; i++) y[r * c + i] = ((x[r * c + i]! - mean) / Math.sqrt(v + eps)) * w[i]! + b[i]!;
  }
  return y;
}

function softmaxRow(s: number[]): number[] {
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/**
 * Attention of `tokens` rows of width c (one sequence): q, k, v from the packed [3c, c] projection,
 * heads of c / heads channels, scores + bias(h, i, j), softmax, output projection.
 */
function attend(x: Float32Array, tokens: number, c: number, heads: number, p: { qkvW: Float32Array; qkvB?: Float32Array; projW: Float32Array; projB?: Float32Array }, bias: (h: number, i: number, j: number) => number): Float32Array {
  const qkv = linear(x, tokens, c, p.qkvW, p.qkvB, 3 * c);
  const hd = c / heads;
  const merged = new Float32Array(tokens * c);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < tokens; i++) {
      const scores: number[] = [];
      for (let j = 0; j < tokens; j++) {
        let s = 0;
        for (let d = 0; d < hd; d++) s += qkv[i * 3 * c + h * hd + d]! * qkv[j * 3 * c + c + h * hd + d]!;
        scores.push(s / Math.sqrt(hd) + bias(h, i, j));
      }
      const probs = softmaxRow(scores);
      for (let d = 0; d < hd; d++) {
        let o = 0;
        for (let j = 0; j < tokens; j++) o += probs[j]! * qkv[j * 3 * c + 2 * c + h * hd + d]!;
        merged[i * c + h * hd + d] = o;
      }
    }
  return linear(merged, tokens, c, p.projW, p.projB, c);
}

/** nn.MultiheadAttention(x, x, x) on [n, t, c]. */
export function mhsa(x: Float32Array, n: number, t: number, c: number, heads: number, params: Params, scope: string): Float32Array {
  const p = {
    qkvW: params.get(`${scope}.in_proj_weight`)!,
    qkvB: params.get(`${scope}.in_proj_bias`),
    projW: params.get(`${scope}.out_proj.weight`)!,
    projB: params.get(`${scope}.out_proj.bias`),
  };
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++) y.set(attend(x.subarray(b * t * c, (b + 1) * t * c), t, c, heads, p, () => 0), b * t * c);
  return y;
}

/** Python's slice bounds for x[start:stop] on a length-`len` axis (negative from the end, -0 is 0). */
function pySlice(start: number | null, stop: number | null, len: number): [number, number] {
  const fix = (v: number | null, dflt: number) => (v === null ? dflt : Object.is(v, -0) ? 0 : v < 0 ? Math.max(0, len + v) : Math.min(v, len));
  const a = fix(start, 0);
  return [a, Math.max(a, fix(stop, len))];
}

/** torchvision.models.swin_transformer.shifted_window_attention, as written there, on [n, h, w, c]. */
export function windowAttention(
  x: Float32Array,
  [n, h, w, c]: [number, number, number, number],
  heads: number,
  window: [number, number],
  shiftArg: [number, number],
  params: Params,
  scope: string,
): Float32Array {
  const [wh, ww] = window;
  const ph = (wh - (h % wh)) % wh;
  const pw = (ww - (w % ww)) % ww;
  const [H, W] = [h + ph, w + pw];
  const shift = [wh >= H ? 0 : shiftArg[0], ww >= W ? 0 : shiftArg[1]];
  const table = params.get(`${scope}.relative_position_bias_table`)!;
  const p = {
    qkvW: params.get(`${scope}.qkv.weight`)!,
    qkvB: params.get(`${scope}.qkv.bias`),
    projW: params.get(`${scope}.proj.weight`)!,
    projB: params.get(`${scope}.proj.bias`),
  };
  // relative_position_index as torchvision computes it
  const tokens = wh * ww;
  const coords = Array.from({ length: tokens }, (_, i) => [Math.floor(i / ww), i % ww] as const);
  const index = (i: number, j: number) => (coords[i]![0] - coords[j]![0] + wh - 1) * (2 * ww - 1) + (coords[i]![1] - coords[j]![1] + ww - 1);
  // the shift mask on the padded map
  const region = new Array<number>(H * W).fill(0);
  if (shift[0] + shift[1] > 0) {
    let count = 0;
    const hs: [number | null, number | null][] = [[0, -wh], [-wh, -shift[0]!], [-shift[0]!, null]];
    const ws: [number | null, number | null][] = [[0, -ww], [-ww, -shift[1]!], [-shift[1]!, null]];
    for (const [h0, h1] of hs)
      for (const [w0, w1] of ws) {
        const [ha, hb] = pySlice(h0, h1, H);
        const [wa, wb] = pySlice(w0, w1, W);
        for (let r = ha; r < hb; r++) for (let q = wa; q < wb; q++) region[r * W + q] = count;
        count++;
      }
  }
  const y = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    // pad, then roll by -shift: shifted[r, q] = padded[(r + s0) % H, (q + s1) % W]
    const at = (r: number, q: number) => {
      const [sr, sq] = [(r + shift[0]!) % H, (q + shift[1]!) % W];
      return sr < h && sq < w ? x.subarray(((b * h + sr) * w + sq) * c, ((b * h + sr) * w + sq + 1) * c) : new Float32Array(c);
    };
    for (let bh = 0; bh < H / wh; bh++)
      for (let bw = 0; bw < W / ww; bw++) {
        const win = new Float32Array(tokens * c);
        const pos = coords.map(([th, tw]) => [bh * wh + th, bw * ww + tw] as const);
        pos.forEach(([r, q], t) => win.set(at(r, q), t * c));
        const mask = (i: number, j: number) => (shift[0]! + shift[1]! > 0 && region[pos[i]![0] * W + pos[i]![1]] !== region[pos[j]![0] * W + pos[j]![1]] ? -100 : 0);
        const out = attend(win, tokens, c, heads, p, (hh, i, j) => table[index(i, j) * heads + hh]! + mask(i, j));
        // roll back by +shift and crop
        pos.forEach(([r, q], t) => {
          const [sr, sq] = [(r + shift[0]!) % H, (q + shift[1]!) % W];
          if (sr < h && sq < w) y.set(out.subarray(t * c, (t + 1) * c), ((b * h + sr) * w + sq) * c);
        });
      }
  }
  return y;
}

/** torchvision's PatchMerging on [n, h, w, c]: pad to even, cat(x0, x1, x2, x3), LayerNorm(4c), Linear(4c → 2c). */
export function patchMerging(x: Float32Array, [n, h, w, c]: [number, number, number, number], params: Params, scope: string, eps = 1e-5): Float32Array {
  const [ho, wo] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const cat = new Float32Array(n * ho * wo * 4 * c);
  const offsets = [[0, 0], [1, 0], [0, 1], [1, 1]] as const;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++)
        offsets.forEach(([dr, dc], k) => {
          const [r, q] = [2 * i + dr, 2 * j + dc];
          if (r < h && q < w) cat.set(x.subarray(((b * h + r) * w + q) * c, ((b * h + r) * w + q + 1) * c), ((b * ho + i) * wo + j) * 4 * c + k * c);
        });
  const rows = n * ho * wo;
  const normed = layerNorm(cat, rows, 4 * c, params.get(`${scope}.norm.weight`)!, params.get(`${scope}.norm.bias`)!, eps);
  return linear(normed, rows, 4 * c, params.get(`${scope}.reduction.weight`)!, undefined, 2 * c);
}

/** GroupNorm on [n, c, spatial]. */
export function groupNorm(x: Float32Array, n: number, c: number, spatial: number, groups: number, w: Float32Array, b: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  const per = (c / groups) * spatial;
  for (let s = 0; s < n; s++)
    for (let g = 0; g < groups; g++) {
      const base = (s * c + g * (c / groups)) * spatial;
      let mean = 0;
      for (let i = 0; i < per; i++) mean += x[base + i]!;
      mean /= per;
      let v = 0;
      for (let i = 0; i < per; i++) v += (x[base + i]! - mean) ** 2;
      v /= per;
      for (let i = 0; i < per; i++) {
        const ch = g * (c / groups) + Math.floor(i / spatial);
        y[base + i] = ((x[base + i]! - mean) / Math.sqrt(v + eps)) * w[ch]! + b[ch]!;
      }
    }
  return y;
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
export function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x < 0 ? -y : y;
}

export const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** F.adaptive_avg_pool2d on [planes, h, w]. */
export function adaptiveAvgPool2d(x: Float32Array, planes: number, h: number, w: number, oh: number, ow: number): Float32Array {
  const y = new Float32Array(planes * oh * ow);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const [h0, h1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh)];
        const [w0, w1] = [Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
        let s = 0;
        for (let r = h0; r < h1; r++) for (let q = w0; q < w1; q++) s += x[(p * h + r) * w + q]!;
        y[(p * oh + i) * ow + j] = s / ((h1 - h0) * (w1 - w0));
      }
  return y;
}

/** F.interpolate(mode="bilinear", align_corners=False, size=(oh, ow)) on [planes, h, w]. */
export function bilinear(x: Float32Array, planes: number, h: number, w: number, oh: number, ow: number): Float32Array {
  const src = (d: number, inS: number, outS: number) => Math.max(0, ((d + 0.5) * inS) / outS - 0.5);
  const y = new Float32Array(planes * oh * ow);
  for (let p = 0; p < planes; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const [sy, sx] = [src(i, h, oh), src(j, w, ow)];
        const [y0, x0] = [Math.floor(sy), Math.floor(sx)];
        const [y1, x1] = [Math.min(y0 + 1, h - 1), Math.min(x0 + 1, w - 1)];
        const [ly, lx] = [sy - y0, sx - x0];
        const v = (r: number, q: number) => x[(p * h + r) * w + q]!;
        y[(p * oh + i) * ow + j] = (1 - ly) * ((1 - lx) * v(y0, x0) + lx * v(y0, x1)) + ly * ((1 - lx) * v(y1, x0) + lx * v(y1, x1));
      }
  return y;
}

/**
 * PyTorch's max_pool2d / avg_pool2d on [planes, h, w] for a square window, output size given:
 * windows start at o·s − p, are clipped to the padded input (avg divisor) and to the input (values).
 */
export function pool2d(
  x: Float32Array,
  planes: number,
  [h, w]: [number, number],
  [oh, ow]: [number, number],
  k: number,
  s: number,
  p: number,
  kind: "max" | "avg",
  countIncludePad = true,
): Float32Array {
  const y = new Float32Array(planes * oh * ow);
  for (let c = 0; c < planes; c++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const [h0, w0] = [i * s - p, j * s - p];
        const [h1, w1] = [Math.min(h0 + k, h + p), Math.min(w0 + k, w + p)];
        const poolSize = (h1 - h0) * (w1 - w0);
        let [m, sum, count] = [-Infinity, 0, 0];
        for (let r = Math.max(h0, 0); r < Math.min(h1, h); r++)
          for (let q = Math.max(w0, 0); q < Math.min(w1, w); q++) {
            const v = x[(c * h + r) * w + q]!;
            m = Math.max(m, v);
            sum += v;
            count++;
          }
        y[(c * oh + i) * ow + j] = kind === "max" ? m : sum / (countIncludePad ? poolSize : count);
      }
  return y;
}
