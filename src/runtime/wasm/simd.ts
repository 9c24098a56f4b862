/**
 * Loops in WebAssembly SIMD (four float32 lanes) over the backend's own memory: a small module,
 * assembled here byte by byte and instantiated on the backend's memory, so that it reads and
 * writes the tensors where they are (pointers are byte offsets in that memory). The single-threaded
 * backend's module exports its memory; the multi-threaded one's is found by backend.ts as it starts
 * (`medgMemory`). Without either the callers loop in JavaScript.
 *
 * - `adam`: the Adam update (adam.ts). As a JavaScript loop it is bound by float64 square roots and
 *   divisions one element at a time: some 16 ns an element, a sixth of a ResNet-18 step.
 * - `macc`: acc += x · y over a run of channels (the depthwise filter gradient, conv.ts).
 * - `transpose4`: a strip of four rows transposed, four by four columns (geometry.ts's transposes).
 * - `rowAffine`: out = u · a + v · b + d with per-column a, b, d (batch norm's output and input
 *   gradient, batchnorm.ts).
 * - `gemm`: a matrix product over tables of row pointers (simd-gemm.ts), the convolutions' (products.ts).
 * - `move`: strided runs of floats copied or added between tables of pointers (im2col and col2im).
 * - `moments`: per-column sums in float64 (batch norm's statistics and gradient).
 */
import { setFlagsFromString } from "node:v8";
import { type Helped, split, startHelpers } from "./helpers.js";
import { gemmFunctions, leb } from "./simd-gemm.js";


/** adam(p, g, m, v, po, mo, vo, bytes, beta1, beta2, c1, c2, shrink, l2, rootBc2, eps, stepSize). */
export type AdamSimd = (p: number, g: number, m: number, v: number, po: number, mo: number, vo: number, bytes: number, ...constants: number[]) => void;
/** macc(acc, x, y, bytes): acc[i] += x[i] · y[i] over `bytes` (a multiple of 16). */
export type MaccSimd = (acc: number, x: number, y: number, bytes: number) => void;

/**
 * transpose4(src, dst, srcStride, dstStride, bytes): the four rows at src (srcStride bytes apart),
 * `bytes` of each (a multiple of 16), written as the columns of the rows at dst (dstStride bytes
 * apart): four floats of each of bytes / 4 rows.
 */
export type Transpose4Simd = (src: number, dst: number, srcStride: number, dstStride: number, bytes: number) => void;

/**
 * rowAffine(u, v, a, b, d, out, rowBytes, bytes): out[i] = u[i] · a[j] + v[i] · b[j] + d[j] over
 * `bytes`, rows of `rowBytes` (both multiples of 16), j the column within the row.
 */
export type RowAffineSimd = (u: number, v: number, a: number, b: number, d: number, out: number, rowBytes: number, bytes: number) => void;

/**
 * move(srcTab, srcStride, dstTab, dstStride, count, c, add): for each of `count` pairs of pointers
 * in the tables (count·4 bytes each), c floats from the source to the destination, each stepping
 * its stride in bytes; added to the destination's when add is 1 (im2col and col2im, products.ts).
 */
export type MoveSimd = (srcTab: number, srcStride: number, dstTab: number, dstStride: number, count: number, c: number, add: number) => void;

/**
 * moments(u, v, centre, rows, rowBytes, su, suv): per column k (rowBytes a multiple of 16),
 * su[k] += Σ_rows u and suv[k] += Σ_rows u · (v - centre[k]), in float64 (su, suv float64 arrays),
 * over blocks of rows (batch norm's statistics and gradient, batchnorm.ts).
 */
export type MomentsSimd = (u: number, v: number, centre: number, rows: number, rowBytes: number, su: number, suv: number) => void;

/** gemm(aTab, sAk, T, kt, bTab, c, ldc, m0, m1, N): the matrix product of simd-gemm.ts over rows [m0, m1). */
export type GemmSimd = (aTab: number, sAk: number, t: number, kt: number, bTab: number, c: number, ldc: number, m0: number, m1: number, n: number) => void;

export interface SimdKernels {
  adam: AdamSimd;
  macc: MaccSimd;
  transpose4: Transpose4Simd;
  rowAffine: RowAffineSimd;
  move: MoveSimd;
  moments: MomentsSimd;
  gemm: GemmSimd;
  /** Whether gemm's multiply-adds are fused (relaxed SIMD). */
  fused: boolean;
  /** The threads gemm and adam run on, and parallel() splits over. */
  threads: number;
  /** Runs `fn` (the export `name`) on each part's arguments, parts[0] here and the others on helper threads. */
  parallel(name: Helped, fn: (...args: number[]) => void, parts: readonly (readonly number[])[]): void;
  /** [0, n) in at most `threads` parts of at least `least` (one part when n is smaller). */
  split(n: number, least: number): [number, number][];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vector = (items: number[][]) => [...leb(items.length), ...items.flat()];
const name = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Parameters: seven pointers, the byte count, nine float32 constants; then locals i, P, G, M, V.
const [P_PTR, G_PTR, M_PTR, V_PTR, PO_PTR, MO_PTR, VO_PTR, BYTES] = [0, 1, 2, 3, 4, 5, 6, 7];
const [BETA1, BETA2, C1, C2, SHRINK, L2, ROOT_BC2, EPS, STEP_SIZE] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
const [I, PV, GV, MV, VV] = [17, 18, 19, 20, 21];

// Opcodes: 0x20/0x21 local.get/set, 0x41 i32.const, 0x6a i32.add, 0x4f i32.ge_u, 0x02/0x03 block/loop
// (0x40: no result), 0x0d br_if, 0x0c br, 0x0b end; 0xfd prefixes SIMD (0x00 v128.load, 0x0b
// v128.store, 0x13 f32x4.splat, 0xe3… f32x4 arithmetic), loads and stores with alignment 2^2.
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const simd = (op: number) => [0xfd, ...leb(op)];
const splat = (i: number) => [...get(i), ...simd(0x13)];
const [ADD, SUB, MUL, DIV, SQRT] = [0xe4, 0xe5, 0xe6, 0xe7, 0xe3].map(simd) as [number[], number[], number[], number[], number[]];
/** v128 at local ptr + local at. */
const loadAt = (ptr: number, at: number) => [...get(ptr), ...get(at), 0x6a, ...simd(0x00), 2, 0];
/** v128.store of the address and the value on the stack. */
const STORE = [...simd(0x0b), 2, 0];
/** `for (i = 0; i < limit; i += step) body`, i and limit locals, step the instructions pushing the increment. */
const loop = (i: number, limit: number, body: number[], step = [0x41, 16]) => [
  0x41, 0, ...set(i),
  0x02, 0x40, 0x03, 0x40,
  ...get(i), ...get(limit), 0x4f, 0x0d, 1,
  ...body,
  ...get(i), ...step, 0x6a, ...set(i),
  0x0c, 0,
  0x0b, 0x0b,
];

/** v128 at ptr + i (adam's index). */
const load = (ptr: number) => loadAt(ptr, I);
/** Stores the v128 that `value` leaves at ptr + i. */
const store = (ptr: number, value: number[]) => [...get(ptr), ...get(I), 0x6a, ...value, ...STORE];

const adamBody = [
  // locals: one i32, four v128
  ...vector([[1, I32], [4, V128]]),
  ...loop(I, BYTES, [
    ...load(P_PTR), ...set(PV),
    // G = g + P·l2
    ...load(G_PTR), ...get(PV), ...splat(L2), ...MUL, ...ADD, ...set(GV),
    // M = m·β1 + G·c1
    ...load(M_PTR), ...splat(BETA1), ...MUL, ...get(GV), ...splat(C1), ...MUL, ...ADD, ...set(MV),
    // V = v·β2 + G·G·c2
    ...load(V_PTR), ...splat(BETA2), ...MUL, ...get(GV), ...get(GV), ...MUL, ...splat(C2), ...MUL, ...ADD, ...set(VV),
    ...store(MO_PTR, get(MV)),
    ...store(VO_PTR, get(VV)),
    // po = P·shrink - (M / (sqrt(V) / rootBc2 + eps)) · stepSize
    ...store(PO_PTR, [...get(PV), ...splat(SHRINK), ...MUL, ...get(MV), ...get(VV), ...SQRT, ...splat(ROOT_BC2), ...DIV, ...splat(EPS), ...ADD, ...DIV, ...splat(STEP_SIZE), ...MUL, ...SUB]),
  ]),
  0x0b,
];

// macc: parameters acc, x, y, bytes; local i (4).
const MACC_I = 4;
const maccBody = [
  ...vector([[1, I32]]),
  ...loop(MACC_I, 3, [...get(0), ...get(MACC_I), 0x6a, ...loadAt(0, MACC_I), ...loadAt(1, MACC_I), ...loadAt(2, MACC_I), ...MUL, ...ADD, ...STORE]),
  0x0b,
];

// transpose4: parameters src, dst, ss, ds, bytes; locals i, o, s1, s2, s3 (i32), a, b, c, d (v128).
const [TR_SRC, TR_DST, TR_SS, TR_DS, TR_BYTES, TR_I, TR_O, TR_S1, TR_S2, TR_S3, TR_A, TR_B, TR_C, TR_D] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
/** i8x16.shuffle of the two v128 on the stack, picking float lanes (0–3 the first, 4–7 the second). */
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
const trLoad = (ptr: number) => loadAt(ptr, TR_I);
/** Stores the v128 `value` leaves at o + k·ds. */
const trStore = (k: number, value: number[]) => [...get(TR_O), ...Array<number[]>(k).fill([...get(TR_DS), 0x6a]).flat(), ...value, ...STORE];
const LO = [0, 4, 1, 5];
const HI = [2, 6, 3, 7];
const transposeBody = [
  ...vector([[5, I32], [4, V128]]),
  ...get(TR_DST), ...set(TR_O),
  ...get(TR_SRC), ...get(TR_SS), 0x6a, ...set(TR_S1),
  ...get(TR_S1), ...get(TR_SS), 0x6a, ...set(TR_S2),
  ...get(TR_S2), ...get(TR_SS), 0x6a, ...set(TR_S3),
  ...loop(TR_I, TR_BYTES, [
    // a b c d: the rows; (a0 b0 a1 b1), (a2 b2 a3 b3), (c0 d0 c1 d1), (c2 d2 c3 d3); then the columns.
    ...trLoad(TR_SRC), ...trLoad(TR_S1), ...shuffle(LO), ...set(TR_A),
    ...trLoad(TR_SRC), ...trLoad(TR_S1), ...shuffle(HI), ...set(TR_B),
    ...trLoad(TR_S2), ...trLoad(TR_S3), ...shuffle(LO), ...set(TR_C),
    ...trLoad(TR_S2), ...trLoad(TR_S3), ...shuffle(HI), ...set(TR_D),
    ...trStore(0, [...get(TR_A), ...get(TR_C), ...shuffle([0, 1, 4, 5])]),
    ...trStore(1, [...get(TR_A), ...get(TR_C), ...shuffle([2, 3, 6, 7])]),
    ...trStore(2, [...get(TR_B), ...get(TR_D), ...shuffle([0, 1, 4, 5])]),
    ...trStore(3, [...get(TR_B), ...get(TR_D), ...shuffle([2, 3, 6, 7])]),
    ...get(TR_O), ...get(TR_DS), 0x41, 2, 0x74, 0x6a, ...set(TR_O),
  ]),
  0x0b,
];

// rowAffine: parameters u, v, a, b, d, out, rowBytes, bytes; locals o, j, p (i32).
const [RA_U, RA_V, RA_A, RA_B, RA_D, RA_OUT, RA_ROW, RA_BYTES, RA_O, RA_J, RA_P] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const rowAffineBody = [
  ...vector([[3, I32]]),
  ...loop(RA_O, RA_BYTES, [
    ...loop(RA_J, RA_ROW, [
      ...get(RA_O), ...get(RA_J), 0x6a, ...set(RA_P),
      ...get(RA_OUT), ...get(RA_P), 0x6a,
      ...loadAt(RA_U, RA_P), ...loadAt(RA_A, RA_J), ...MUL,
      ...loadAt(RA_V, RA_P), ...loadAt(RA_B, RA_J), ...MUL, ...ADD,
      ...loadAt(RA_D, RA_J), ...ADD,
      ...STORE,
    ]),
  ], get(RA_ROW)),
  0x0b,
];

// moments: parameters u, v, centre, rows, rowBytes, su, suv; locals b0, b1, j, at, total (i32), m, x, lo, hi, a, b, c, d (v128).
const [MO_U, MO_V, MO_CENTRE, MO_ROWS, MO_ROW, MO_SU, MO_SUV, MO_B0, MO_B1, MO_J, MO_AT, MO_TOTAL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const [MO_M_LO, MO_M_HI, MO_U_LO, MO_U_HI, MO_A1_LO, MO_A1_HI, MO_A2_LO, MO_A2_HI, MO_X] = [12, 13, 14, 15, 16, 17, 18, 19, 20];
/** Rows per block of the moments: a block's rows stay in cache while their columns are read. */
const MOMENT_ROWS = 256;
const PROMOTE_LOW = simd(0x5f);
const [F64_ADD, F64_SUB, F64_MUL] = [0xf0, 0xf1, 0xf2].map(simd) as [number[], number[], number[]];
/** The v128 on the stack's upper two floats as float64x2. */
const PROMOTE_HIGH = [...get(MO_X), ...get(MO_X), ...shuffle([2, 3, 2, 3]), ...PROMOTE_LOW];
/** `for (i = from; i < limit; i += step) body` over locals. */
const span = (i: number, from: number[], limit: number[], step: number[], body: number[]) => [
  ...from, ...set(i),
  0x02, 0x40, 0x03, 0x40,
  ...get(i), ...limit, 0x4f, 0x0d, 1,
  ...body,
  ...get(i), ...step, 0x6a, ...set(i),
  0x0c, 0,
  0x0b, 0x0b,
];
/** acc[k] += the float64x2 local `value`, k at byte offset `at` of the float64 array at `base`. */
const addInto = (base: number, offset: number, value: number) => [...get(base), ...get(MO_J), 0x41, 1, 0x74, 0x6a, ...get(base), ...get(MO_J), 0x41, 1, 0x74, 0x6a, ...simd(0x00), 3, ...leb(offset), ...get(value), ...F64_ADD, ...simd(0x0b), 3, ...leb(offset)];
const momentsBody = [
  ...vector([[5, I32], [9, V128]]),
  ...get(MO_ROWS), ...get(MO_ROW), 0x6c, ...set(MO_TOTAL),
  ...span(MO_B0, [0x41, 0], get(MO_TOTAL), [...get(MO_ROW), 0x41, ...leb(MOMENT_ROWS), 0x6c], [
    // b1 = min(b0 + MOMENT_ROWS · rowBytes, total)
    ...get(MO_B0), ...get(MO_ROW), 0x41, ...leb(MOMENT_ROWS), 0x6c, 0x6a, ...get(MO_TOTAL), ...get(MO_B0), ...get(MO_ROW), 0x41, ...leb(MOMENT_ROWS), 0x6c, 0x6a, ...get(MO_TOTAL), 0x49, 0x1b, ...set(MO_B1),
    ...span(MO_J, [0x41, 0], get(MO_ROW), [0x41, 16], [
      ...get(MO_CENTRE), ...get(MO_J), 0x6a, ...simd(0x00), 2, 0, ...set(MO_X),
      ...get(MO_X), ...PROMOTE_LOW, ...set(MO_M_LO), ...PROMOTE_HIGH, ...set(MO_M_HI),
      ...[MO_A1_LO, MO_A1_HI, MO_A2_LO, MO_A2_HI].flatMap((a) => [...simd(0x0c), ...Array<number>(16).fill(0), ...set(a)]),
      ...span(MO_AT, [...get(MO_B0), ...get(MO_J), 0x6a], get(MO_B1), get(MO_ROW), [
        ...get(MO_U), ...get(MO_AT), 0x6a, ...simd(0x00), 2, 0, ...set(MO_X),
        ...get(MO_X), ...PROMOTE_LOW, ...set(MO_U_LO), ...PROMOTE_HIGH, ...set(MO_U_HI),
        ...get(MO_A1_LO), ...get(MO_U_LO), ...F64_ADD, ...set(MO_A1_LO),
        ...get(MO_A1_HI), ...get(MO_U_HI), ...F64_ADD, ...set(MO_A1_HI),
        ...get(MO_V), ...get(MO_AT), 0x6a, ...simd(0x00), 2, 0, ...set(MO_X),
        ...get(MO_A2_LO), ...get(MO_U_LO), ...get(MO_X), ...PROMOTE_LOW, ...get(MO_M_LO), ...F64_SUB, ...F64_MUL, ...F64_ADD, ...set(MO_A2_LO),
        ...get(MO_A2_HI), ...get(MO_U_HI), ...PROMOTE_HIGH, ...get(MO_M_HI), ...F64_SUB, ...F64_MUL, ...F64_ADD, ...set(MO_A2_HI),
      ]),
      ...addInto(MO_SU, 0, MO_A1_LO), ...addInto(MO_SU, 16, MO_A1_HI),
      ...addInto(MO_SUV, 0, MO_A2_LO), ...addInto(MO_SUV, 16, MO_A2_HI),
    ]),
  ]),
  0x0b,
];

// move: parameters srcTab, srcStride, dstTab, dstStride, count, c, add; locals e, s, d, end, contiguous, vEnd (i32).
const [MV_SRC_TAB, MV_SRC_STRIDE, MV_DST_TAB, MV_DST_STRIDE, MV_COUNT, MV_C, MV_ADD, MV_E, MV_S, MV_D, MV_END, MV_CONTIGUOUS, MV_V_END] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
/**
 * The inner loop: c floats from s to d (added to d's when `add`), each pointer stepping its stride;
 * runs contiguous on both sides go four floats at a time first.
 */
const moveRun = (add: boolean) => [
  ...get(MV_S), ...get(MV_C), ...get(MV_SRC_STRIDE), 0x6c, 0x6a, ...set(MV_END),
  ...get(MV_CONTIGUOUS), 0x04, 0x40,
  ...get(MV_S), ...get(MV_C), 0x41, 0x7c, 0x71, 0x41, 2, 0x74, 0x6a, ...set(MV_V_END),
  0x02, 0x40, 0x03, 0x40,
  ...get(MV_S), ...get(MV_V_END), 0x4f, 0x0d, 1,
  ...get(MV_D), ...get(MV_S), ...simd(0x00), 2, 0, ...(add ? [...get(MV_D), ...simd(0x00), 2, 0, ...ADD] : []), ...STORE,
  ...get(MV_S), 0x41, 16, 0x6a, ...set(MV_S),
  ...get(MV_D), 0x41, 16, 0x6a, ...set(MV_D),
  0x0c, 0,
  0x0b, 0x0b,
  0x0b,
  0x02, 0x40, 0x03, 0x40,
  ...get(MV_S), ...get(MV_END), 0x4f, 0x0d, 1,
  ...get(MV_D), ...get(MV_S), 0x2a, 2, 0, ...(add ? [...get(MV_D), 0x2a, 2, 0, 0x92] : []), 0x38, 2, 0,
  ...get(MV_S), ...get(MV_SRC_STRIDE), 0x6a, ...set(MV_S),
  ...get(MV_D), ...get(MV_DST_STRIDE), 0x6a, ...set(MV_D),
  0x0c, 0,
  0x0b, 0x0b,
];
const moveBody = [
  ...vector([[6, I32]]),
  ...get(MV_SRC_STRIDE), 0x41, 4, 0x46, ...get(MV_DST_STRIDE), 0x41, 4, 0x46, 0x71, ...set(MV_CONTIGUOUS),
  ...get(MV_COUNT), 0x41, 2, 0x74, ...set(MV_COUNT),
  ...loop(MV_E, MV_COUNT, [
    ...get(MV_SRC_TAB), ...get(MV_E), 0x6a, 0x28, 2, 0, ...set(MV_S),
    ...get(MV_DST_TAB), ...get(MV_E), 0x6a, 0x28, 2, 0, ...set(MV_D),
    ...get(MV_ADD), 0x04, 0x40, ...moveRun(true), 0x05, ...moveRun(false), 0x0b,
  ], [0x41, 4]),
  0x0b,
];

function moduleBytes(shared: boolean, fused: boolean): Uint8Array {
  const adamType = [0x60, ...vector([...Array<number[]>(8).fill([I32]), ...Array<number[]>(9).fill([F32])]), 0];
  const maccType = [0x60, ...vector(Array<number[]>(4).fill([I32])), 0];
  const transposeType = [0x60, ...vector(Array<number[]>(5).fill([I32])), 0];
  const rowAffineType = [0x60, ...vector(Array<number[]>(8).fill([I32])), 0];
  const moveType = [0x60, ...vector(Array<number[]>(7).fill([I32])), 0];
  const momentsType = [0x60, ...vector(Array<number[]>(7).fill([I32])), 0];
  const own = [
    { type: adamType, body: adamBody, export: "adam" },
    { type: maccType, body: maccBody, export: "macc" },
    { type: transposeType, body: transposeBody, export: "transpose4" },
    { type: rowAffineType, body: rowAffineBody, export: "rowAffine" },
    { type: moveType, body: moveBody, export: "move" },
    { type: momentsType, body: momentsBody, export: "moments" },
  ];
  const functions = [...own, ...gemmFunctions(own.length, fused)];
  // Any memory of at least 0 pages; a shared one (the threaded backend's) must be declared shared,
  // with a maximum at least its own (4 GiB, the most a 32-bit memory has).
  const limits = shared ? [0x03, 0, ...leb(65536)] : [0x00, 0];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(functions.map((f) => f.type))),
    ...section(2, vector([[...name("e"), ...name("m"), 0x02, ...limits]])),
    ...section(3, vector(functions.map((_, i) => leb(i)))),
    ...section(7, vector(functions.flatMap((f, i) => (f.export ? [[...name(f.export), 0x00, ...leb(i)]] : [])))),
    ...section(10, vector(functions.map((f) => [...leb(f.body.length), ...f.body]))),
  ]);
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/**
 * Relaxed SIMD's fused multiply-add where this Node can be told to accept it: V8 12 and later accept
 * it by default, V8 11 (Node 20) behind a flag, which takes effect for modules compiled after it is set.
 */
function allowRelaxedSimd(): void {
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    // the plain multiply and add remain
  }
}

/** The module compiled, or undefined where this WebAssembly refuses it. */
function compile(api: WebAssemblyApi, bytes: Uint8Array): object | undefined {
  try {
    return new api.Module(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The SIMD loops on `memory` (a WebAssembly.Memory). gemm fuses its multiply-adds where relaxed SIMD
 * compiles, unless `fused` is false; on a shared memory the product and Adam run on `threads`
 * threads (helpers.ts).
 */
export function instantiateSimd(memory: { buffer: ArrayBuffer | SharedArrayBuffer }, fused = true, threads = 1): SimdKernels {
  const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  const shared = memory.buffer instanceof SharedArrayBuffer;
  let compiled: object | undefined;
  if (fused) {
    // Without the flag first: where relaxed SIMD ships, V8 may no longer know it.
    const bytes = moduleBytes(shared, true);
    compiled = compile(api, bytes);
    if (!compiled) {
      allowRelaxedSimd();
      compiled = compile(api, bytes);
    }
  }
  const module = compiled ?? new api.Module(moduleBytes(shared, false));
  const e = new api.Instance(module, { e: { m: memory } }).exports;
  const kernels: SimdKernels = {
    adam: e.adam as AdamSimd,
    macc: e.macc as MaccSimd,
    transpose4: e.transpose4 as Transpose4Simd,
    rowAffine: e.rowAffine as RowAffineSimd,
    move: e.move as MoveSimd,
    moments: e.moments as MomentsSimd,
    gemm: e.gemm as GemmSimd,
    fused: compiled !== undefined,
    threads: 1,
    parallel: (_name, fn, parts) => {
      for (const part of parts) fn(...part);
    },
    split: (n) => [[0, n]],
  };
  if (!shared || threads < 2) return kernels;
  // On several threads: the product by bands of rows (of at least two tiles), Adam by ranges of at
  // least 64 KiB of each array.
  const helpers = startHelpers(module, memory, threads - 1);
  const { gemm, adam } = kernels;
  return {
    ...kernels,
    threads: helpers.threads,
    parallel: (name, fn, parts) => helpers.run(name, fn, parts),
    split: (n, least) => split(0, n, helpers.threads, 1, least),
    gemm: (aTab, sAk, t, kt, bTab, c, ldc, m0, m1, n) => helpers.run("gemm", gemm, split(m0, m1, helpers.threads, 6, 12).map(([a, b]) => [aTab, sAk, t, kt, bTab, c, ldc, a, b, n])),
    adam: (p, g, m, v, po, mo, vo, bytes, ...constants) =>
      helpers.run(
        "adam",
        adam,
        split(0, bytes, helpers.threads, 16, 1 << 16).map(([a, b]) => [p + a, g + a, m + a, v + a, po + a, mo + a, vo + a, b - a, ...constants]),
      ),
  };
}

const cache = new WeakMap<object, SimdKernels | null>();
let enabled = true;

/** Turns the SIMD loops off (or back on) in this process, so that the kernels' other paths run (tests). */
export function useSimdKernels(on: boolean): void {
  enabled = on;
}

/** The SIMD loops on the backend's memory, or null where they cannot run (or are turned off). */
export function simdKernels(backend: object): SimdKernels | null {
  if (!enabled) return null;
  if (cache.has(backend)) return cache.get(backend)!;
  let kernels: SimdKernels | null = null;
  try {
    const module = (backend as { wasm?: { asm?: { memory?: object }; medgMemory?: object; medgThreads?: number } }).wasm;
    const memory = (module?.medgMemory ?? module?.asm?.memory) as { buffer: ArrayBuffer } | undefined;
    if (memory) kernels = instantiateSimd(memory, true, module?.medgThreads ?? 1);
  } catch {
    kernels = null;
  }
  cache.set(backend, kernels);
  return kernels;
}
