/**
 * SegFormer's efficient self-attention written loop by loop from Hugging Face's
 * SegformerEfficientSelfAttention, in float64, on channels-last maps [N, H, W, C]: the reference
 * for the sr_attention kernel (tfjs) and lowering (ONNX).
 */

export interface SrAttentionWeights {
  query: { weight: ArrayLike<number>; bias?: ArrayLike<number> | undefined };
  key: { weight: ArrayLike<number>; bias?: ArrayLike<number> | undefined };
  value: { weight: ArrayLike<number>; bias?: ArrayLike<number> | undefined };
  /** nn.Conv2d(C, C, sr, stride=sr) and nn.LayerNorm(C), present when sr > 1. */
  sr?: { weight: ArrayLike<number>; bias: ArrayLike<number> };
  layerNorm?: { weight: ArrayLike<number>; bias: ArrayLike<number> };
}

/** rows [T, C] · Wᵀ + b with W [out, in]. */
function project(rows: Float64Array, t: number, c: number, w: { weight: ArrayLike<number>; bias?: ArrayLike<number> | undefined }): Float64Array {
  const out = new Float64Array(t * c);
  for (let i = 0; i < t; i++)
    for (let o = 0; o < c; o++) {
      let s = w.bias ? w.bias[o]! : 0;
      for (let k = 0; k < c; k++) s += rows[i * c + k]! * w.weight[o * c + k]!;
      out[i * c + o] = s;
    }
  return out;
}

/** x: [N, H, W, C] row-major; returns [N, H, W, C]. */
export function srAttention(x: ArrayLike<number>, shape: readonly number[], w: SrAttentionWeights, heads: number, sr: number, eps = 1e-5): Float64Array {
  const [n, h, wd, c] = shape as [number, number, number, number];
  const t = h * wd;
  const hd = c / heads;
  const [rh, rw] = [Math.floor(h / sr), Math.floor(wd / sr)];
  const out = new Float64Array(n * t * c);
  for (let b = 0; b < n; b++) {
    const tokens = Float64Array.from({ length: t * c }, (_, i) => x[b * t * c + i]!);
    const q = project(tokens, t, c, w.query);
    let source = tokens;
    let kv = t;
    if (sr > 1) {
      kv = rh * rw;
      source = new Float64Array(kv * c);
      for (let p = 0; p < rh; p++)
        for (let r = 0; r < rw; r++)
          for (let o = 0; o < c; o++) {
            let s = w.sr!.bias[o]!;
            for (let i = 0; i < c; i++)
              for (let ki = 0; ki < sr; ki++)
                for (let kj = 0; kj < sr; kj++) s += w.sr!.weight[((o * c + i) * sr + ki) * sr + kj]! * tokens[((p * sr + ki) * wd + r * sr + kj) * c + i]!;
            source[(p * rw + r) * c + o] = s;
          }
      for (let i = 0; i < kv; i++) {
        let mean = 0;
        for (let k = 0; k < c; k++) mean += source[i * c + k]! / c;
        let variance = 0;
        for (let k = 0; k < c; k++) variance += (source[i * c + k]! - mean) ** 2 / c;
        for (let k = 0; k < c; k++) source[i * c + k] = ((source[i * c + k]! - mean) / Math.sqrt(variance + eps)) * w.layerNorm!.weight[k]! + w.layerNorm!.bias[k]!;
      }
    }
    const key = project(source, kv, c, w.key);
    const value = project(source, kv, c, w.value);
    for (let head = 0; head < heads; head++)
      for (let i = 0; i < t; i++) {
        const scores = new Float64Array(kv);
        let max = -Infinity;
        for (let j = 0; j < kv; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[i * c + head * hd + d]! * key[j * c + head * hd + d]!;
          scores[j] = s / Math.sqrt(hd);
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < kv; j++) sum += (scores[j] = Math.exp(scores[j]! - max));
        for (let d = 0; d < hd; d++) {
          let s = 0;
          for (let j = 0; j < kv; j++) s += (scores[j]! / sum) * value[j * c + head * hd + d]!;
          out[(b * t + i) * c + head * hd + d] = s;
        }
      }
  }
  return out;
}

/** The weights from parameter values keyed by their names under the op's scope (`query.weight`, …). */
export function srWeights(get: (suffix: string) => ArrayLike<number> | undefined): SrAttentionWeights {
  const pair = (name: string) => ({ weight: get(`${name}.weight`)!, bias: get(`${name}.bias`) });
  const w: SrAttentionWeights = { query: pair("query"), key: pair("key"), value: pair("value") };
  if (get("sr.weight")) {
    w.sr = { weight: get("sr.weight")!, bias: get("sr.bias")! };
    w.layerNorm = { weight: get("layer_norm.weight")!, bias: get("layer_norm.bias")! };
  }
  return w;
}
