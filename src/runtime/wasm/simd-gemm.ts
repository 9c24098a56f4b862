/**
 * A matrix product in WebAssembly SIMD whose operands are read where they lie, through tables of
 * row pointers: C[m, n] = Σ_k A(m, k) · B(k, n) with
 *
 * - A(m, t·kt + j) at aTab[m·T + t] + j·sAk: each row m a pointer per chunk t of kt reduction
 *   steps, stepping sAk bytes (4 for a row of a matrix, its row length in bytes for a column);
 * - B(k, n) at bTab[k] + 4n: each reduction step a pointer to a row of N contiguous floats;
 * - C(m, n) at c + m·ldc + 4n.
 *
 * So a convolution's operands need no im2col and no transposes: a row of A or B can be a pixel of
 * the image (its channels contiguous), a tap's pixel (a pointer per tap, or to zeros in the
 * padding), a row of a matrix or a column of one (A only). Nothing is packed: the tables cost a
 * pointer per row where XNNPACK copies every element of its right-hand operand into its own layout
 * on each call (some 8 ns an element here, more than the arithmetic for a ResNet weight).
 *
 * Tiles of 6 rows by 8 columns keep 12 accumulators of four lanes in registers: per reduction step,
 * two loads of B, six broadcasts of A and twelve multiply-adds. With relaxed SIMD (V8 flag
 * `--experimental-wasm-relaxed-simd`, on by default in newer Node) a multiply-add is one fused
 * instruction (f32x4.relaxed_madd); without it a multiply and an add. Columns past the last
 * multiple of 8 take a 4-wide tile, then a 1-wide one; rows past the last multiple of 6 repeat the
 * tile's first row (and store its values again). Each chunk adds to C. For narrow C the loop goes
 * tile row by tile row, each over its chunks and columns (the row's A and C stay in cache); for C
 * at least WIDE columns chunk by chunk and column panel by panel, over every tile row (the panel of
 * B stays in cache). Chunks of some tens to hundreds of steps keep A's and B's rows in cache.
 */

const I32 = 0x7f;
const V128 = 0x7b;

export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const get = (i: number) => [0x20, ...leb(i)];
const set = (i: number) => [0x21, ...leb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const simd = (op: number) => [0xfd, ...leb(op)];
const ADD = [0x6a];
const MUL = [0x6c];
const LT_U = [0x49];
const GE_U = [0x4f];
const SELECT = [0x1b];
/** memarg: alignment 2^2, offset. */
const mem = (offset = 0) => [2, ...leb(offset)];
const LOAD_I32 = (offset = 0) => [0x28, ...mem(offset)];
const LOAD_V = (offset = 0) => [...simd(0x00), ...mem(offset)];
const STORE_V = (offset = 0) => [...simd(0x0b), ...mem(offset)];
const SPLAT_LOAD = [...simd(0x09), ...mem()];
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
const RELAXED_MADD = simd(0x105);
const ZERO = [...simd(0x0c), ...Array<number>(16).fill(0)];
const EXTRACT0 = [...simd(0x1f), 0];
const STORE_F32 = [0x38, ...mem()];

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** `for (; i < limit; i += step) body` with i and limit locals (i set by the caller). */
const whileBelow = (i: number, limit: number[], body: number[], step: number[]) => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...get(i),
  ...limit,
  ...GE_U,
  0x0d,
  1,
  ...body,
  ...get(i),
  ...step,
  ...ADD,
  ...set(i),
  0x0c,
  0,
  0x0b,
  0x0b,
];

const MR = 6;
/** The width of C from which the column loop is outside the row loop. */
const WIDE = 256;

/**
 * tile(aT, rows, sAk, kt, bRow, nOff, cPtr, ldc, tStride, first): one tile of MR rows by `width`
 * (8, 4 or 1) columns over one chunk. aT points at the chunk's pointer for the tile's first row, the
 * next rows' `tStride` bytes apart; bRow at the chunk's first B pointer; nOff is the tile's column
 * in bytes; first = 1 starts from zero instead of C.
 */
function tileBody(width: 8 | 4 | 1, fma: boolean): number[] {
  const [A_T, ROWS, S_AK, KT, B_ROW, N_OFF, C_PTR, LDC, T_STRIDE, FIRST] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // locals: a0..a5 (A's row pointers), o (B's pointer), kEnd, b (i32); acc, bv0, bv1, s (v128)
  const A = (r: number) => 10 + r;
  // C's row r (the first row's for rows past `rows`), computed where used: kept in locals across the
  // reduction they would crowd its pointers out of the registers.
  const cRow = (r: number) => (r === 0 ? get(C_PTR) : [...get(C_PTR), ...get(LDC), ...i32(r), ...MUL, ...ADD, ...get(C_PTR), ...i32(r), ...get(ROWS), ...LT_U, ...SELECT]);
  const [O, K_END, B] = [16, 17, 18];
  const vectors = width === 8 ? 2 : 1;
  const ACC = (r: number, h: number) => 19 + r * vectors + h;
  const BV = (h: number) => 19 + MR * vectors + h;
  const S = 19 + MR * vectors + vectors;
  const loadB = (h: number) => (width === 1 ? [...get(B), ...SPLAT_LOAD] : [...get(B), ...LOAD_V(16 * h)]);
  const madd = (r: number, h: number) =>
    fma ? [...get(S), ...get(BV(h)), ...get(ACC(r, h)), ...RELAXED_MADD, ...set(ACC(r, h))] : [...get(ACC(r, h)), ...get(S), ...get(BV(h)), ...F32X4_MUL, ...F32X4_ADD, ...set(ACC(r, h))];
  const body: number[] = [];
  // Row pointers; rows past `rows` repeat the first (their table entries are not read).
  for (let r = 0; r < MR; r++) {
    if (r === 0) body.push(...get(A_T), ...LOAD_I32(), ...set(A(0)));
    else body.push(...get(A_T), ...get(T_STRIDE), ...i32(r), ...MUL, ...ADD, ...get(A_T), ...i32(r), ...get(ROWS), ...LT_U, ...SELECT, ...LOAD_I32(), ...set(A(r)));
  }
  // Accumulators from zero or from C.
  const loadC = (r: number, h: number) => (width === 1 ? [...cRow(r), ...SPLAT_LOAD] : [...cRow(r), ...LOAD_V(16 * h)]);
  for (let r = 0; r < MR; r++) for (let h = 0; h < vectors; h++) body.push(...get(FIRST), 0x04, V128, ...ZERO, 0x05, ...loadC(r, h), 0x0b, ...set(ACC(r, h)));
  // The reduction: o steps through B's pointers, each row of A by sAk.
  body.push(...get(B_ROW), ...set(O), ...get(B_ROW), ...get(KT), ...i32(2), 0x74, ...ADD, ...set(K_END));
  const step: number[] = [...get(O), ...LOAD_I32(), ...get(N_OFF), ...ADD, ...set(B)];
  for (let h = 0; h < vectors; h++) step.push(...loadB(h), ...set(BV(h)));
  for (let r = 0; r < MR; r++) {
    step.push(...get(A(r)), ...SPLAT_LOAD, ...set(S));
    for (let h = 0; h < vectors; h++) step.push(...madd(r, h));
  }
  for (let r = 0; r < MR; r++) step.push(...get(A(r)), ...get(S_AK), ...ADD, ...set(A(r)));
  body.push(...whileBelow(O, get(K_END), step, i32(4)));
  // Stores. Rows past `rows` computed the first row's values from its A and C, and store them there
  // again: a branch around their stores instead makes V8 spill accumulators in the loop (a third
  // slower).
  const store = (r: number, h: number) => (width === 1 ? [...cRow(r), ...get(ACC(r, h)), ...EXTRACT0, ...STORE_F32] : [...cRow(r), ...get(ACC(r, h)), ...STORE_V(16 * h)]);
  for (let r = 0; r < MR; r++) for (let h = 0; h < vectors; h++) body.push(...store(r, h));
  const locals = [
    [MR + 3, I32],
    [MR * vectors + vectors + 1, V128],
  ];
  return [...leb(locals.length), ...locals.flatMap(([n, t]) => [...leb(n!), t!]), ...body, 0x0b];
}

/**
 * gemm(aTab, sAk, T, kt, bTab, c, ldc, m0, m1, N): rows [m0, m1) of C (see above); tiles of 8, 4 and
 * 1 columns are functions tile8, tile4, tile1 at indices `first`, first + 1, first + 2.
 */
function gemmBody(first: number): number[] {
  const [A_TAB, S_AK, T, KT, B_TAB, C, LDC, M0, M1, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [M, TI, NB, ROWS, AT, T_STRIDE, N8, N4] = [10, 11, 12, 13, 14, 15, 16, 17];
  // tile(aT, rows, sAk, kt, bRow, nOff, cPtr, ldc, tStride, first)
  const bRow = [...get(B_TAB), ...get(TI), ...get(KT), ...MUL, ...i32(2), 0x74, ...ADD];
  const cPtr = [...get(C), ...get(M), ...get(LDC), ...MUL, ...ADD, ...get(NB), ...i32(2), 0x74, ...ADD];
  const call = (fn: number) => [...get(AT), ...get(ROWS), ...get(S_AK), ...get(KT), ...bRow, ...get(NB), ...i32(2), 0x74, ...cPtr, ...get(LDC), ...get(T_STRIDE), ...get(TI), 0x45, 0x10, ...leb(fn)];
  // rows = min(MR, m1 - m); aT = aTab + (m·T + t)·4
  const tileRow = [
    ...get(M1), ...get(M), 0x6b, ...i32(MR), ...i32(MR), ...get(M1), ...get(M), 0x6b, 0x4a, ...SELECT, ...set(ROWS),
    ...get(A_TAB), ...get(M), ...get(T), ...MUL, ...get(TI), ...ADD, ...i32(2), 0x74, ...ADD, ...set(AT),
  ];
  const rowsLoop = (inner: number[]) => [...get(M0), ...set(M), ...whileBelow(M, get(M1), [...tileRow, ...inner], i32(MR))];
  const chunksLoop = (inner: number[]) => [...i32(0), ...set(TI), ...whileBelow(TI, get(T), inner, i32(1))];
  const widths: [number, number[], number][] = [[first, get(N8), 8], [first + 1, get(N4), 4], [first + 2, get(N), 1]];
  const columns = (each: (fn: number) => number[]) => [...i32(0), ...set(NB), ...widths.flatMap(([fn, limit, width]) => whileBelow(NB, limit, each(fn), i32(width)))];
  // Narrow C: per tile row, every chunk and column (the row's A and C stay in cache). Wide C (N ≥
  // WIDE): per chunk and column, every tile row (the column's B panel stays in cache), some 15%
  // faster on a ResNet's 4×4×256 layers at 64×64.
  const byRows = rowsLoop(chunksLoop(columns((fn) => [...tileRow, ...call(fn)])));
  const byColumns = chunksLoop(columns((fn) => rowsLoop(call(fn))));
  const body = [
    ...get(T), ...i32(2), 0x74, ...set(T_STRIDE),
    // N8, N4: the columns the 8- and 4-wide tiles cover.
    ...get(N), ...i32(-8), 0x71, ...set(N8),
    ...get(N), ...i32(-4), 0x71, ...set(N4),
    ...get(N), ...i32(WIDE), 0x48, 0x04, 0x40, ...byRows, 0x05, ...byColumns, 0x0b,
    0x0b,
  ];
  return [...leb(1), ...leb(8), I32, ...body];
}

/** The type, the body and the name of each function, tiles first; `first` is the first tile's index. */
export function gemmFunctions(first: number, fma: boolean): { type: number[]; body: number[]; export?: string }[] {
  const tileType = [0x60, ...leb(10), ...Array<number>(10).fill(I32), 0];
  const gemmType = [0x60, ...leb(10), ...Array<number>(10).fill(I32), 0];
  return [
    { type: tileType, body: tileBody(8, fma) },
    { type: tileType, body: tileBody(4, fma) },
    { type: tileType, body: tileBody(1, fma) },
    { type: gemmType, body: gemmBody(first), export: "gemm" },
  ];
}
