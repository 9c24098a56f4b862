/**
 * Reader and writer for the `.safetensors` weight format:
 *
 *   [8 bytes: little-endian u64 N][N bytes: UTF-8 JSON header][data buffer]
 *
 * The header maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative
 * to the start of the data buffer), plus an optional `"__metadata__"` map of strings.
 *
 * Every tensor is handed out as a Float32Array whatever its stored dtype: medg only needs values
 * (to check shapes and seed training), and one element type keeps consumers simple. Integer
 * values beyond 2^24 (and I64/U64 beyond 2^53) therefore round; the stored dtype is reported
 * beside the data so a caller can tell. Typical integer tensors (BatchNorm's
 * `num_batches_tracked`) are small counters and survive exactly.
 *
 * Validation follows the reference implementation (huggingface/safetensors): tensors must tile
 * the data buffer exactly, with no overlap, no gap and no trailing bytes. Failures are returned
 * as values (`{ ok: false, error }`), never thrown.
 *
 * Both async (`readSafetensors`, …) and sync (`readSafetensorsSync`, …) entry points exist
 * because the compiler pipeline is synchronous while tools may prefer not to block.
 */

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { endianness } from "node:os";
import * as path from "node:path";

// ---------------------------------------------------------------------------------------------
// Public types

/** Dtypes this module decodes. Other dtypes of the format (F4, F6_*, F8_E8M0, …) are refused. */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "F8_E5M2"
  | "F8_E4M3"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

export type SafetensorsErrorKind =
  /** The file does not exist. */
  | "not-found"
  /** The file could not be opened, read or written. */
  | "io"
  /** The file ends before the 8-byte prefix, the header, or a tensor's bytes. */
  | "truncated"
  /** The declared header length exceeds the configured limit. */
  | "header-too-large"
  /** The header is not UTF-8 JSON. */
  | "bad-json"
  /** The JSON does not have the expected structure. */
  | "bad-header"
  | "unknown-dtype"
  /** A tensor's byte range is out of the data buffer, overlaps, leaves a gap, or has the wrong size. */
  | "bad-offsets"
  /** A shape's element or byte count is beyond what can be represented. */
  | "shape-overflow"
  /** A tensor asked for with `names` is not in the file. */
  | "missing-tensor"
  /** The tensors or metadata given to the writer are inconsistent. */
  | "bad-input";

export interface SafetensorsError {
  kind: SafetensorsErrorKind;
  /** Names the file and, where one is at fault, the tensor. */
  message: string;
  file: string;
  tensor?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: SafetensorsError };

export interface TensorHeader {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range within the data buffer, as written in the header. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In data-buffer order (which is also the order the reference writer uses). */
  tensors: Map<string, TensorHeader>;
  /** Absolute file offset of the data buffer: 8 + header length. */
  dataStart: number;
}

export interface LoadedTensor {
  /** The dtype stored in the file; `data` holds the values converted to float32. */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, LoadedTensor>;
}

export interface ReadHeaderOptions {
  /** Largest header accepted, in bytes; checked before anything is allocated. Default 100 MB. */
  maxHeaderBytes?: number;
}

export interface ReadOptions extends ReadHeaderOptions {
  /** Load only these tensors; asking for a name the file lacks is a `missing-tensor` error. */
  names?: Iterable<string>;
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** Same bound as the reference implementation. */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";

/** Single reads and writes are capped near 2 GB, so large tensors move in pieces. */
const IO_CHUNK = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Dtypes and value conversion

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Dtypes that exist in the format but have no decoder here (sub-byte or exotic floats). */
const KNOWN_UNSUPPORTED = new Set(["F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "C64"]);

function isDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(ITEM_SIZE, s);
}

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** IEEE half-precision bits to a number (exact: every f16 value is representable in f32). */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits to a number: they are the upper half of a float32. */
export function bf16ToF32(bits: number): number {
  const u = new Uint32Array([(bits & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0]!;
}

/** OCP FP8 E4M3 ("fn": no infinities, S.1111.111 is NaN), as PyTorch's float8_e4m3fn. */
function f8e4m3ToF32(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exp = (bits >> 3) & 0xf;
  const mant = bits & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

let f16Table: Float32Array | undefined;
let f8Tables: { e5m2: Float32Array; e4m3: Float32Array } | undefined;

function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table;
}

function fp8Tables(): { e5m2: Float32Array; e4m3: Float32Array } {
  if (!f8Tables) {
    const e5m2 = new Float32Array(256);
    const e4m3 = new Float32Array(256);
    // E5M2 is the upper byte of an IEEE half.
    for (let i = 0; i < 256; i++) {
      e5m2[i] = f16ToF32(i << 8);
      e4m3[i] = f8e4m3ToF32(i);
    }
    f8Tables = { e5m2, e4m3 };
  }
  return f8Tables;
}

/** Reverses each item in place so host-order typed-array views read little-endian data right. */
function toHostOrder(bytes: Uint8Array, itemSize: number): void {
  if (LITTLE_ENDIAN_HOST || itemSize === 1) return;
  for (let i = 0; i < bytes.length; i += itemSize) bytes.subarray(i, i + itemSize).reverse();
}

/**
 * Where a tensor's bytes should be read to, and how to turn them into float32 values afterwards.
 * F32 on a little-endian host is read straight into the result, avoiding a second copy.
 */
function readTarget(dtype: SafetensorsDtype, numel: number): { bytes: Uint8Array; finish: () => Float32Array } {
  const size = ITEM_SIZE[dtype];
  if (dtype === "F32" && LITTLE_ENDIAN_HOST) {
    const out = new Float32Array(numel);
    return { bytes: new Uint8Array(out.buffer), finish: () => out };
  }
  // A fresh ArrayBuffer, so typed-array views over it are aligned.
  const bytes = new Uint8Array(numel * size);
  return {
    bytes,
    finish: () => {
      toHostOrder(bytes, size);
      return decode(dtype, bytes.buffer as ArrayBuffer, numel);
    },
  };
}

function decode(dtype: SafetensorsDtype, buf: ArrayBuffer, numel: number): Float32Array {
  const out = new Float32Array(numel);
  switch (dtype) {
    case "F32":
      out.set(new Float32Array(buf, 0, numel));
      break;
    case "F64":
      out.set(new Float64Array(buf, 0, numel));
      break;
    case "F16": {
      const t = halfTable();
      const src = new Uint16Array(buf, 0, numel);
      for (let i = 0; i < numel; i++) out[i] = t[src[i]!]!;
      break;
    }
    case "BF16": {
      const src = new Uint16Array(buf, 0, numel);
      const dst = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) dst[i] = src[i]! << 16;
      break;
    }
    case "F8_E5M2":
    case "F8_E4M3": {
      const t = dtype === "F8_E5M2" ? fp8Tables().e5m2 : fp8Tables().e4m3;
      const src = new Uint8Array(buf, 0, numel);
      for (let i = 0; i < numel; i++) out[i] = t[src[i]!]!;
      break;
    }
    case "I64":
    case "U64": {
      // Combining 32-bit halves avoids a BigInt per element.
      const words = new Uint32Array(buf, 0, numel * 2);
      const hi = new Int32Array(buf, 0, numel * 2);
      const lo = LITTLE_ENDIAN_HOST ? 0 : 1;
      for (let i = 0; i < numel; i++) {
        const high = dtype === "I64" ? hi[2 * i + 1 - lo]! : words[2 * i + 1 - lo]!;
        out[i] = high * 4294967296 + words[2 * i + lo]!;
      }
      break;
    }
    case "I32":
      out.set(new Int32Array(buf, 0, numel));
      break;
    case "U32":
      out.set(new Uint32Array(buf, 0, numel));
      break;
    case "I16":
      out.set(new Int16Array(buf, 0, numel));
      break;
    case "U16":
      out.set(new Uint16Array(buf, 0, numel));
      break;
    case "I8":
      out.set(new Int8Array(buf, 0, numel));
      break;
    case "U8":
      out.set(new Uint8Array(buf, 0, numel));
      break;
    case "BOOL": {
      const src = new Uint8Array(buf, 0, numel);
      for (let i = 0; i < numel; i++) out[i] = src[i] ? 1 : 0;
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Header parsing and validation (pure)

function fail(kind: SafetensorsErrorKind, file: string, message: string, tensor?: string): { ok: false; error: SafetensorsError } {
  const where = tensor !== undefined ? `${file}: tensor '${tensor}': ` : `${file}: `;
  const error: SafetensorsError = { kind, message: where + message, file };
  if (tensor !== undefined) error.tensor = tensor;
  return { ok: false, error };
}

/** Checks the 8-byte prefix against the limit and the file size; returns the header length. */
function headerLength(prefix: Uint8Array, fileSize: number, file: string, maxHeaderBytes: number): Result<number> {
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) {
    return fail("header-too-large", file, `header length ${n} exceeds the limit of ${maxHeaderBytes} bytes`);
  }
  if (n > BigInt(fileSize - 8)) {
    return fail("truncated", file, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  }
  return { ok: true, value: Number(n) };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates the header bytes against the data buffer's length: every tensor well
 * formed, sized as its shape and dtype say, and the tensors together tiling the buffer exactly.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, file: string): Result<SafetensorsHeader> {
  const dataStart = 8 + headerBytes.length;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("bad-json", file, "header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail("bad-json", file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return fail("bad-header", file, "header is not a JSON object");

  let metadata: Record<string, string> = {};
  const entries: { name: string; info: TensorHeader }[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(raw)) return fail("bad-header", file, `'${METADATA_KEY}' is not an object of strings`);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") return fail("bad-header", file, `'${METADATA_KEY}' entry '${k}' is not a string`);
      }
      // fromEntries defines own properties, so a key like "__proto__" stays plain data.
      metadata = Object.fromEntries(Object.entries(raw)) as Record<string, string>;
      continue;
    }
    if (!isPlainObject(raw)) return fail("bad-header", file, "entry is not an object", name);
    const { dtype, shape, data_offsets: offsets } = raw;
    if (typeof dtype !== "string") return fail("bad-header", file, "missing or non-string 'dtype'", name);
    if (!Array.isArray(shape)) return fail("bad-header", file, "missing or non-array 'shape'", name);
    for (const d of shape) {
      if (!isCount(d)) return fail("bad-header", file, `shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      return fail("bad-header", file, "missing 'data_offsets' or it is not a [begin, end] pair", name);
    }
    const [begin, end] = offsets as unknown[];
    if (!isCount(begin) || !isCount(end)) return fail("bad-header", file, `data_offsets ${JSON.stringify(offsets)} are not non-negative integers`, name);
    if (!isDtype(dtype)) {
      const why = KNOWN_UNSUPPORTED.has(dtype) ? "unsupported" : "unknown";
      return fail("unknown-dtype", file, `${why} dtype '${dtype}' (supported: ${Object.keys(ITEM_SIZE).join(", ")})`, name);
    }

    let bytes = BigInt(ITEM_SIZE[dtype]);
    for (const d of shape as number[]) bytes *= BigInt(d);
    if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail("shape-overflow", file, `shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes} bytes, beyond what can be addressed`, name);
    }
    if (begin > end) return fail("bad-offsets", file, `data_offsets [${begin}, ${end}] end before they begin`, name);
    if (end > dataLength) {
      return fail("bad-offsets", file, `data_offsets [${begin}, ${end}] run past the data buffer (${dataLength} bytes)`, name);
    }
    if (BigInt(end - begin) !== bytes) {
      return fail("bad-offsets", file, `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes}`, name);
    }
    entries.push({ name, info: { dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] } });
  }

  entries.sort((a, b) => a.info.dataOffsets[0] - b.info.dataOffsets[0] || a.info.dataOffsets[1] - b.info.dataOffsets[1]);
  let cursor = 0;
  let previous: string | undefined;
  for (const { name, info } of entries) {
    const [begin] = info.dataOffsets;
    if (begin < cursor) return fail("bad-offsets", file, `data_offsets [${info.dataOffsets.join(", ")}] overlap tensor '${previous}'`, name);
    if (begin > cursor) {
      const after = previous !== undefined ? ` after tensor '${previous}'` : "";
      return fail("bad-offsets", file, `data_offsets [${info.dataOffsets.join(", ")}] leave bytes ${cursor}..${begin} unused${after}`, name);
    }
    cursor = info.dataOffsets[1];
    previous = name;
  }
  if (cursor !== dataLength) {
    return fail("bad-offsets", file, `tensors cover ${cursor} bytes but the data buffer has ${dataLength}`);
  }

  return { ok: true, value: { metadata, tensors: new Map(entries.map((e) => [e.name, e.info])), dataStart } };
}

function ioError(e: unknown, file: string, doing: string): { ok: false; error: SafetensorsError } {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT" && doing === "open") return fail("not-found", file, "no such file");
  return fail("io", file, `cannot ${doing} (${err.code ?? err.message})`);
}

/** Picks the tensors to load; undefined means all. */
function selection(header: SafetensorsHeader, names: Iterable<string> | undefined, file: string): Result<[string, TensorHeader][]> {
  if (names === undefined) return { ok: true, value: [...header.tensors] };
  const wanted = new Set(names);
  for (const n of wanted) {
    if (!header.tensors.has(n)) return fail("missing-tensor", file, "not in the file", n);
  }
  // Keep file order so reads move forward through the file.
  return { ok: true, value: [...header.tensors].filter(([n]) => wanted.has(n)) };
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Allocates a tensor's read target, turning an allocation failure (too large) into an error. */
function allocTarget(info: TensorHeader, name: string, file: string): Result<ReturnType<typeof readTarget>> {
  try {
    return { ok: true, value: readTarget(info.dtype, numelOf(info.shape)) };
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return fail("shape-overflow", file, `${info.dataOffsets[1] - info.dataOffsets[0]} bytes is too large to load (${e.message})`, name);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading, async

/** Fills `into` from `position`, looping over short reads; false if the file ends first. */
async function readFully(fh: fsp.FileHandle, into: Uint8Array, position: number): Promise<boolean> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, Math.min(into.length - done, IO_CHUNK), position + done);
    if (bytesRead === 0) return false;
    done += bytesRead;
  }
  return true;
}

async function readHeaderFrom(fh: fsp.FileHandle, file: string, options: ReadHeaderOptions): Promise<Result<SafetensorsHeader>> {
  const size = (await fh.stat()).size;
  if (size < 8) return fail("truncated", file, `file has ${size} bytes, fewer than the 8-byte header length`);
  const prefix = new Uint8Array(8);
  if (!(await readFully(fh, prefix, 0))) return fail("truncated", file, "file ended while reading the header length");
  const n = headerLength(prefix, size, file, options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  if (!n.ok) return n;
  const headerBytes = new Uint8Array(n.value);
  if (!(await readFully(fh, headerBytes, 8))) return fail("truncated", file, "file ended while reading the header");
  return parseSafetensorsHeader(headerBytes, size - 8 - n.value, file);
}

/** Reads and validates only the header: names, dtypes, shapes and offsets, without tensor data. */
export async function readSafetensorsHeader(file: string, options: ReadHeaderOptions = {}): Promise<Result<SafetensorsHeader>> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, "r");
  } catch (e) {
    return ioError(e, file, "open");
  }
  try {
    return await readHeaderFrom(fh, file, options);
  } catch (e) {
    return ioError(e, file, "read");
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Reads a file's tensors (all, or those in `options.names`) as float32 values. */
export async function readSafetensors(file: string, options: ReadOptions = {}): Promise<Result<SafetensorsFile>> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, "r");
  } catch (e) {
    return ioError(e, file, "open");
  }
  try {
    const header = await readHeaderFrom(fh, file, options);
    if (!header.ok) return header;
    const chosen = selection(header.value, options.names, file);
    if (!chosen.ok) return chosen;
    const tensors = new Map<string, LoadedTensor>();
    for (const [name, info] of chosen.value) {
      const target = allocTarget(info, name, file);
      if (!target.ok) return target;
      if (!(await readFully(fh, target.value.bytes, header.value.dataStart + info.dataOffsets[0]))) {
        return fail("truncated", file, "file ended while reading tensor data", name);
      }
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data: target.value.finish() });
    }
    return { ok: true, value: { metadata: header.value.metadata, tensors } };
  } catch (e) {
    return ioError(e, file, "read");
  } finally {
    await fh.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading, sync

function readFullySync(fd: number, into: Uint8Array, position: number): boolean {
  let done = 0;
  while (done < into.length) {
    const got = fs.readSync(fd, into, done, Math.min(into.length - done, IO_CHUNK), position + done);
    if (got === 0) return false;
    done += got;
  }
  return true;
}

function readHeaderFromSync(fd: number, file: string, options: ReadHeaderOptions): Result<SafetensorsHeader> {
  const size = fs.fstatSync(fd).size;
  if (size < 8) return fail("truncated", file, `file has ${size} bytes, fewer than the 8-byte header length`);
  const prefix = new Uint8Array(8);
  if (!readFullySync(fd, prefix, 0)) return fail("truncated", file, "file ended while reading the header length");
  const n = headerLength(prefix, size, file, options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  if (!n.ok) return n;
  const headerBytes = new Uint8Array(n.value);
  if (!readFullySync(fd, headerBytes, 8)) return fail("truncated", file, "file ended while reading the header");
  return parseSafetensorsHeader(headerBytes, size - 8 - n.value, file);
}

export function readSafetensorsHeaderSync(file: string, options: ReadHeaderOptions = {}): Result<SafetensorsHeader> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    return ioError(e, file, "open");
  }
  try {
    return readHeaderFromSync(fd, file, options);
  } catch (e) {
    return ioError(e, file, "read");
  } finally {
    fs.closeSync(fd);
  }
}

export function readSafetensorsSync(file: string, options: ReadOptions = {}): Result<SafetensorsFile> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    return ioError(e, file, "open");
  }
  try {
    const header = readHeaderFromSync(fd, file, options);
    if (!header.ok) return header;
    const chosen = selection(header.value, options.names, file);
    if (!chosen.ok) return chosen;
    const tensors = new Map<string, LoadedTensor>();
    for (const [name, info] of chosen.value) {
      const target = allocTarget(info, name, file);
      if (!target.ok) return target;
      if (!readFullySync(fd, target.value.bytes, header.value.dataStart + info.dataOffsets[0])) {
        return fail("truncated", file, "file ended while reading tensor data", name);
      }
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data: target.value.finish() });
    }
    return { ok: true, value: { metadata: header.value.metadata, tensors } };
  } catch (e) {
    return ioError(e, file, "read");
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

interface Layout {
  /** 8-byte length prefix followed by the space-padded header. */
  head: Uint8Array;
  /** Tensor bytes in data-buffer order, little-endian. */
  chunks: Uint8Array[];
}

/** UTF-8 byte order, which is how the reference writer orders tensors of one dtype. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function layout(file: string, tensors: Iterable<TensorToWrite>, metadata: Record<string, string> | undefined): Result<Layout> {
  const list = [...tensors];
  const seen = new Set<string>();
  for (const t of list) {
    if (t.name === METADATA_KEY) return fail("bad-input", file, `'${METADATA_KEY}' is reserved for metadata`, t.name);
    if (seen.has(t.name)) return fail("bad-input", file, "name given twice", t.name);
    seen.add(t.name);
    if (!t.shape.every(isCount)) return fail("bad-input", file, `shape ${JSON.stringify(t.shape)} has a dimension that is not a non-negative integer`, t.name);
    const numel = numelOf(t.shape);
    if (numel !== t.data.length) {
      return fail("bad-input", file, `shape ${JSON.stringify(t.shape)} has ${numel} elements but data has ${t.data.length}`, t.name);
    }
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") return fail("bad-input", file, `metadata '${k}' is not a string`);
    }
  }
  // The reference writer orders by dtype alignment, then name; with a single dtype that is by name,
  // so files written here match the reference byte for byte.
  list.sort((a, b) => compareUtf8(a.name, b.name));

  // Built entry by entry: a plain object would hoist integer-like names ("0", "1") to the front.
  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of list) {
    const bytes = t.data.length * 4;
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] })}`);
    offset += bytes;
    let chunk = new Uint8Array(t.data.buffer, t.data.byteOffset, bytes);
    if (!LITTLE_ENDIAN_HOST) {
      chunk = chunk.slice();
      for (let i = 0; i < chunk.length; i += 4) chunk.subarray(i, i + 4).reverse();
    }
    chunks.push(chunk);
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  // Padding keeps the data buffer 8-byte aligned, as the reference writer does.
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length);
  return { ok: true, value: { head, chunks } };
}

/** Serializes F32 tensors into one buffer (for small payloads and tests; files use the writers). */
export function serializeSafetensors(tensors: Iterable<TensorToWrite>, metadata?: Record<string, string>): Result<Uint8Array> {
  const l = layout("<memory>", tensors, metadata);
  if (!l.ok) return l;
  const total = l.value.head.length + l.value.chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  out.set(l.value.head, 0);
  let at = l.value.head.length;
  for (const c of l.value.chunks) {
    out.set(c, at);
    at += c.length;
  }
  return { ok: true, value: out };
}

/** A hidden sibling, so the final rename stays within one file system and is atomic. */
function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/**
 * Writes tensors as F32 to `file` atomically: a temporary file in the same directory is written,
 * flushed and renamed over the target, so readers never see a partial file.
 */
export async function writeSafetensors(
  file: string,
  tensors: Iterable<TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<Result<void>> {
  const l = layout(file, tensors, metadata);
  if (!l.ok) return l;
  const tmp = tempPathFor(file);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, "wx");
    let at = 0;
    for (const c of [l.value.head, ...l.value.chunks]) {
      for (let done = 0; done < c.length; ) {
        const { bytesWritten } = await fh.write(c, done, Math.min(c.length - done, IO_CHUNK), at + done);
        done += bytesWritten;
      }
      at += c.length;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
    return { ok: true, value: undefined };
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    return ioError(e, file, "write");
  }
}

export function writeSafetensorsSync(file: string, tensors: Iterable<TensorToWrite>, metadata?: Record<string, string>): Result<void> {
  const l = layout(file, tensors, metadata);
  if (!l.ok) return l;
  const tmp = tempPathFor(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, "wx");
    let at = 0;
    for (const c of [l.value.head, ...l.value.chunks]) {
      for (let done = 0; done < c.length; ) done += fs.writeSync(fd, c, done, Math.min(c.length - done, IO_CHUNK), at + done);
      at += c.length;
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
    return { ok: true, value: undefined };
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; the original error is the one worth reporting
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // a leftover hidden temp file is the lesser problem
    }
    return ioError(e, file, "write");
  }
}
