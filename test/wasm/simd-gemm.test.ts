/**
 * The matrix product of wasm/simd-gemm.ts on a memory of its own, fused (relaxed SIMD) and not:
 * tiles of 8, 4 and 1 columns, rows past a multiple of 6, reductions in chunks, A read along its
 * rows or its columns, B's rows in any order, C inside a wider matrix; against float64 sums.
 */
import { describe, expect, it } from "vitest";
import { instantiateSimd } from "../../src/runtime/wasm/simd.js";
import { rng } from "./harness.js";

const memory = new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({ initial: 64 });
const variants = { fused: instantiateSimd(memory, true), plain: instantiateSimd(memory, false) };

describe("the wasm SIMD matrix product", () => {
  it("compiles with fused multiply-adds on this Node", () => {
    expect(variants.fused.fused).toBe(true);
    expect(variants.plain.fused).toBe(false);
  });

  for (const [label, kernels] of Object.entries(variants))
    it(`${label}: C = A·B over tables of row pointers, on random shapes`, () => {
      const r = rng(label === "fused" ? 31 : 32);
      for (let run = 0; run < 60; run++) {
        const m = r.int(1, 20);
        const n = r.int(1, 21);
        const chunks = r.int(1, 3);
        const kt = r.int(1, 9);
        const k = chunks * kt;
        const transposed = r.next() < 0.5;
        const ldc = n + r.int(0, 3);
        const f32 = new Float32Array(memory.buffer);
        const i32 = new Int32Array(memory.buffer);
        // A at 0 ([m, k], or [k, m] read through its columns), B's rows shuffled from 4096, C at 8192, tables at 12288.
        const aAt = (i: number, j: number) => (transposed ? j * m + i : i * k + j);
        for (let e = 0; e < m * k; e++) f32[e] = r.next() * 2 - 1;
        const order = Array.from({ length: k }, (_, i) => i);
        for (let i = k - 1; i > 0; i--) {
          const j = r.int(0, i);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        for (let e = 0; e < k * n; e++) f32[4096 + e] = r.next() * 2 - 1;
        const bRow = (j: number) => 4096 + order[j]! * n;
        const before = Float32Array.from({ length: m * ldc }, () => r.next());
        f32.set(before, 8192);
        const aTab = 12288;
        const bTab = aTab + m * chunks;
        for (let i = 0; i < m; i++) for (let t = 0; t < chunks; t++) i32[aTab + i * chunks + t] = aAt(i, t * kt) * 4;
        for (let j = 0; j < k; j++) i32[bTab + j] = bRow(j) * 4;
        kernels.gemm(aTab * 4, (transposed ? m : 1) * 4, chunks, kt, bTab * 4, 8192 * 4, ldc * 4, 0, m, n);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < ldc; j++) {
            const got = f32[8192 + i * ldc + j]!;
            if (j >= n) {
              expect(got, "C outside its n columns").toBe(before[i * ldc + j]);
              continue;
            }
            let sum = 0;
            let size = 0;
            for (let q = 0; q < k; q++) {
              const term = f32[aAt(i, q)]! * f32[bRow(q) + j]!;
              sum += term;
              size += Math.abs(term);
            }
            expect(Math.abs(got - sum), JSON.stringify({ m, n, chunks, kt, transposed, i, j })).toBeLessThanOrEqual(1e-6 * Math.max(size, 1e-30));
          }
      }
    });

  it("computes only the rows asked for", () => {
    const { gemm } = variants.fused;
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    const [m, n, k] = [13, 8, 3];
    for (let e = 0; e < m * k; e++) f32[e] = e + 1;
    for (let e = 0; e < k * n; e++) f32[4096 + e] = 1;
    f32.fill(-1, 8192, 8192 + m * n);
    for (let i = 0; i < m; i++) i32[12288 + i] = i * k * 4;
    for (let j = 0; j < k; j++) i32[12288 + m + j] = (4096 + j * n) * 4;
    gemm(12288 * 4, 4, 1, k, (12288 + m) * 4, 8192 * 4, n * 4, 5, 11, n);
    for (let i = 0; i < m; i++) {
      const expected = i >= 5 && i < 11 ? 3 * (i * k) + 6 : -1;
      expect(Array.from(f32.subarray(8192 + i * n, 8192 + (i + 1) * n))).toEqual(Array(n).fill(expected));
    }
  });
});

describe("the wasm SIMD module's strided move", () => {
  it("copies and adds runs of floats between tables of pointers, each side with its stride", () => {
    const { move } = variants.fused;
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    const r = rng(7);
    // Strided both sides, and contiguous both sides (four floats at a time, then the rest).
    for (const [add, c, srcStride, dstStride] of [[0, 3, 2, 7], [1, 3, 2, 7], [0, 11, 1, 1], [1, 11, 1, 1], [1, 4, 1, 1]] as const) {
      const count = 5;
      for (let e = 0; e < 1024; e++) f32[e] = r.next();
      const before = Float32Array.from({ length: 1024 }, () => r.next());
      f32.set(before, 2048);
      const src = [10, 200, 3, 700, 51];
      const dst = [0, 100, 200, 300, 600];
      i32.set(src.map((x) => x * 4), 4096);
      i32.set(dst.map((x) => (2048 + x) * 4), 4096 + count);
      move(4096 * 4, srcStride * 4, (4096 + count) * 4, dstStride * 4, count, c, add);
      const expected = Float32Array.from(before);
      for (let e = 0; e < count; e++) for (let j = 0; j < c; j++) expected[dst[e]! + j * dstStride] = f32[src[e]! + j * srcStride]! + (add ? expected[dst[e]! + j * dstStride]! : 0);
      expect(Array.from(f32.subarray(2048, 3072))).toEqual(Array.from(expected));
    }
  });
});
