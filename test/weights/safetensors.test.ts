import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bf16ToF32,
  f16ToF32,
  readSafetensors,
  readSafetensorsHeader,
  readSafetensorsHeaderSync,
  readSafetensorsSync,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsSync,
  type Result,
  type SafetensorsErrorKind,
  type SafetensorsFile,
  type SafetensorsHeader,
  type TensorToWrite,
} from "../../src/weights/safetensors.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "weights");
const MIXED = path.join(FIXTURES, "mixed.safetensors");
const F32_REFERENCE = path.join(FIXTURES, "f32_reference.safetensors");

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "medg-safetensors-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function tmpPath(name = "t"): string {
  return path.join(dir, `${name}-${counter++}.safetensors`);
}

function u64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

/** Writes a file from a raw header (object or exact text) and data bytes; `length` overrides N. */
function rawFile(header: unknown, data: Uint8Array | number = 0, length?: bigint): string {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = Buffer.from(text, "utf8");
  const bytes = typeof data === "number" ? new Uint8Array(data) : data;
  const p = tmpPath("raw");
  fs.writeFileSync(p, Buffer.concat([u64(length ?? BigInt(json.length)), json, bytes]));
  return p;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

type Reader = (file: string, options?: { names?: string[]; maxHeaderBytes?: number }) => Promise<Result<SafetensorsFile>>;
type HeaderReader = (file: string, options?: { maxHeaderBytes?: number }) => Promise<Result<SafetensorsHeader>>;

const variants: { name: string; read: Reader; readHeader: HeaderReader }[] = [
  { name: "async", read: readSafetensors, readHeader: readSafetensorsHeader },
  { name: "sync", read: async (f, o) => readSafetensorsSync(f, o), readHeader: async (f, o) => readSafetensorsHeaderSync(f, o) },
];

describe("f16ToF32", () => {
  it.each([
    [0x3c00, 1],
    [0xc100, -2.5],
    [0x7bff, 65504],
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x0400, 2 ** -14], // smallest normal
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])("bits %i", (bits, value) => {
    expect(f16ToF32(bits)).toBe(value);
  });

  it("keeps the sign of zero and decodes NaNs", () => {
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(Object.is(f16ToF32(0x0000), 0)).toBe(true);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0xfc01)).toBeNaN();
  });
});

describe("bf16ToF32", () => {
  it.each([
    [0x3f80, 1],
    [0xc020, -2.5],
    [0x4049, 3.140625],
    [0x7f7f, 3.3895313892515355e38], // largest finite
    [0x0001, 2 ** -133], // smallest subnormal
    [0x7f80, Infinity],
    [0xff80, -Infinity],
  ])("bits %i", (bits, value) => {
    expect(bf16ToF32(bits)).toBe(value);
  });

  it("decodes NaN", () => {
    expect(bf16ToF32(0x7fc0)).toBeNaN();
  });
});

describe.each(variants)("reading the reference library's fixture ($name)", ({ read, readHeader }) => {
  it("decodes every dtype to the values written", async () => {
    const f = unwrap(await read(MIXED));
    expect(f.metadata).toEqual({ format: "pt" });
    const t = (name: string) => {
      const x = f.tensors.get(name);
      if (!x) throw new Error(`no tensor ${name}`);
      return { dtype: x.dtype, shape: x.shape, data: [...x.data] };
    };
    expect(t("conv.weight")).toEqual({ dtype: "F32", shape: [2, 1, 2, 2], data: [-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5] });
    const half = t("half");
    expect(half.dtype).toBe("F16");
    expect(half.data.slice(0, 7)).toEqual([1, -2.5, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity]);
    expect(half.data[7]).toBeNaN();
    expect(t("brain")).toEqual({ dtype: "BF16", shape: [2, 2], data: [1, -2.5, Infinity, 2 ** -133] });
    expect(t("double")).toEqual({ dtype: "F64", shape: [3], data: [Math.fround(0.1), -Infinity, 3.5] });
    expect(t("bn.num_batches_tracked")).toEqual({ dtype: "I64", shape: [], data: [12345] });
    expect(t("i64")).toEqual({ dtype: "I64", shape: [2], data: [-3, 2 ** 40] });
    // 2^31 - 1 rounds to 2^31 in float32: integer values are converted, not kept exactly.
    expect(t("i32")).toEqual({ dtype: "I32", shape: [3], data: [-7, 0, 2 ** 31] });
    expect(t("i16")).toEqual({ dtype: "I16", shape: [2], data: [-32768, 32767] });
    expect(t("i8")).toEqual({ dtype: "I8", shape: [2], data: [-128, 5] });
    expect(t("u8")).toEqual({ dtype: "U8", shape: [2], data: [0, 255] });
    expect(t("mask")).toEqual({ dtype: "BOOL", shape: [3], data: [1, 0, 1] });
    expect(t("empty")).toEqual({ dtype: "F32", shape: [0, 3], data: [] });
    expect(f.tensors.size).toBe(12);
  });

  it("lists tensors in data-buffer order", async () => {
    const f = unwrap(await read(MIXED));
    expect([...f.tensors.keys()].slice(0, 4)).toEqual(["bn.num_batches_tracked", "i64", "double", "conv.weight"]);
  });

  it("reads the header alone", async () => {
    const h = unwrap(await readHeader(MIXED));
    expect(h.metadata).toEqual({ format: "pt" });
    expect(h.dataStart).toBe(8 + 768);
    expect(h.tensors.get("conv.weight")).toEqual({ dtype: "F32", shape: [2, 1, 2, 2], dataOffsets: [48, 80] });
    expect(h.tensors.get("bn.num_batches_tracked")).toEqual({ dtype: "I64", shape: [], dataOffsets: [0, 8] });
    expect(h.tensors.size).toBe(12);
  });

  it("loads only the selected names", async () => {
    const f = unwrap(await read(MIXED, { names: ["brain", "half"] }));
    expect([...f.tensors.keys()].sort()).toEqual(["brain", "half"]);
    expect([...f.tensors.get("brain")!.data]).toEqual([1, -2.5, Infinity, 2 ** -133]);
  });

  it("reports a selected name the file lacks", async () => {
    const r = await read(MIXED, { names: ["half", "fc.weight"] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe("missing-tensor");
    expect(r.error.tensor).toBe("fc.weight");
    expect(r.error.message).toContain(MIXED);
  });
});

describe("writing", () => {
  const tensors: TensorToWrite[] = [
    { name: "layer.weight", shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) },
    { name: "scalar", shape: [], data: new Float32Array([42]) },
    { name: "nothing", shape: [0, 4], data: new Float32Array(0) },
    { name: "10", shape: [1], data: new Float32Array([10]) },
    { name: "2", shape: [1], data: new Float32Array([2]) },
    { name: "émoji 🧠", shape: [2], data: new Float32Array([Infinity, NaN]) },
  ];

  it.each([
    ["async", (p: string) => writeSafetensors(p, tensors, { format: "pt", note: "x" })],
    ["sync", async (p: string) => writeSafetensorsSync(p, tensors, { format: "pt", note: "x" })],
  ])("round trips (%s)", async (_, write) => {
    const p = tmpPath("roundtrip");
    unwrap(await write(p));
    const f = unwrap(await readSafetensors(p));
    expect(f.metadata).toEqual({ format: "pt", note: "x" });
    expect(f.tensors.size).toBe(tensors.length);
    for (const t of tensors) {
      const got = f.tensors.get(t.name)!;
      expect(got.dtype).toBe("F32");
      expect(got.shape).toEqual(t.shape);
      expect([...got.data]).toEqual([...t.data]);
    }
    expect(Object.is(f.tensors.get("layer.weight")!.data[4], -0)).toBe(true);
  });

  it("pads the header with spaces to a multiple of 8", async () => {
    const p = tmpPath("pad");
    unwrap(await writeSafetensors(p, [{ name: "a", shape: [1], data: new Float32Array([1]) }]));
    const bytes = fs.readFileSync(p);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = bytes.subarray(8, 8 + n).toString("utf8");
    expect(header).toMatch(/^\{.*\} *$/);
    expect(header.trimEnd()).toBe('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
  });

  it("matches the reference library's bytes", async () => {
    const p = tmpPath("ref");
    unwrap(
      await writeSafetensors(
        p,
        [
          { name: "b", shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
          { name: "a", shape: [2], data: new Float32Array([1.5, -0.25]) },
        ],
        { format: "pt" },
      ),
    );
    expect(fs.readFileSync(p).equals(fs.readFileSync(F32_REFERENCE))).toBe(true);
  });

  it("serializes in memory to the same bytes", async () => {
    const p = tmpPath("mem");
    unwrap(await writeSafetensors(p, tensors));
    expect(Buffer.from(unwrap(serializeSafetensors(tensors))).equals(fs.readFileSync(p))).toBe(true);
  });

  it("writes from a generator and from subarray views", async () => {
    const backing = new Float32Array([9, 8, 7, 6, 5]);
    function* gen(): Generator<TensorToWrite> {
      yield { name: "view", shape: [3], data: backing.subarray(1, 4) };
    }
    const p = tmpPath("gen");
    unwrap(await writeSafetensors(p, gen()));
    expect([...unwrap(await readSafetensors(p)).tensors.get("view")!.data]).toEqual([8, 7, 6]);
  });

  it("replaces an existing file and leaves no temporary file behind", async () => {
    const sub = fs.mkdtempSync(path.join(dir, "atomic-"));
    const p = path.join(sub, "w.safetensors");
    fs.writeFileSync(p, "old contents");
    unwrap(await writeSafetensors(p, [{ name: "x", shape: [1], data: new Float32Array([3]) }]));
    unwrap(writeSafetensorsSync(p, [{ name: "y", shape: [1], data: new Float32Array([4]) }]));
    expect(fs.readdirSync(sub)).toEqual(["w.safetensors"]);
    expect([...unwrap(await readSafetensors(p)).tensors.keys()]).toEqual(["y"]);
  });

  it("reports a missing directory as an io error and creates nothing", async () => {
    const p = path.join(dir, "no-such-dir", "w.safetensors");
    for (const r of [await writeSafetensors(p, []), writeSafetensorsSync(p, [])]) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.kind).toBe("io");
        expect(r.error.message).toContain(p);
      }
    }
  });

  it.each<[string, TensorToWrite[], string | undefined]>([
    ["data length differs from the shape", [{ name: "w", shape: [2, 2], data: new Float32Array(3) }], "w"],
    ["a name given twice", [{ name: "w", shape: [1], data: new Float32Array(1) }, { name: "w", shape: [1], data: new Float32Array(1) }], "w"],
    ["the reserved metadata name", [{ name: "__metadata__", shape: [1], data: new Float32Array(1) }], "__metadata__"],
    ["a negative dimension", [{ name: "w", shape: [-1], data: new Float32Array(0) }], "w"],
    ["a fractional dimension", [{ name: "w", shape: [0.5, 2], data: new Float32Array(1) }], "w"],
  ])("refuses %s", async (_, input, tensor) => {
    const p = tmpPath("bad");
    const r = await writeSafetensors(p, input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe("bad-input");
    expect(r.error.tensor).toBe(tensor);
    expect(r.error.message).toContain(p);
    expect(fs.existsSync(p)).toBe(false);
  });

  it("refuses non-string metadata", async () => {
    const r = await writeSafetensors(tmpPath("bad"), [], { n: 3 as unknown as string });
    expect(r.ok ? undefined : r.error.kind).toBe("bad-input");
  });
});

describe.each(variants)("errors ($name)", ({ read, readHeader }) => {
  async function expectError(file: string, kind: SafetensorsErrorKind, tensor?: string, options?: { maxHeaderBytes?: number }): Promise<string> {
    const results = [await read(file, options), await readHeader(file, options)];
    let message = "";
    for (const r of results) {
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.kind).toBe(kind);
      expect(r.error.file).toBe(file);
      expect(r.error.message).toContain(file);
      if (tensor !== undefined) {
        expect(r.error.tensor).toBe(tensor);
        expect(r.error.message).toContain(`'${tensor}'`);
      }
      message = r.error.message;
    }
    return message;
  }

  const ok = (extra: Record<string, unknown> = {}) => ({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, ...extra });

  it("missing file", async () => {
    await expectError(path.join(dir, "absent.safetensors"), "not-found");
  });

  it("unreadable path (a directory)", async () => {
    await expectError(dir, "io");
  });

  it.each([0, 5, 7])("file of %i bytes", async (size) => {
    const p = tmpPath("short");
    fs.writeFileSync(p, new Uint8Array(size));
    await expectError(p, "truncated");
  });

  it("header length 2^40 on a tiny file fails before allocating", { timeout: 5000 }, async () => {
    const p = tmpPath("huge");
    fs.writeFileSync(p, Buffer.concat([u64(2n ** 40n), Buffer.from("{}")]));
    const message = await expectError(p, "header-too-large");
    expect(message).toContain("1099511627776");
  });

  it("header length 2^64 - 1", async () => {
    const p = tmpPath("huge");
    fs.writeFileSync(p, Buffer.concat([u64(2n ** 64n - 1n), Buffer.from("{}")]));
    await expectError(p, "header-too-large");
  });

  it("header length over a configured limit", async () => {
    const p = rawFile(ok(), f32Bytes([1, 2]));
    await expectError(p, "header-too-large", undefined, { maxHeaderBytes: 16 });
  });

  it("header length beyond the end of the file", async () => {
    await expectError(rawFile("{}", 0, 100n), "truncated");
  });

  it.each([
    ["not JSON", "{dtype: F32}"],
    ["truncated JSON", '{"w": {"dtype": "F32"'],
    ["empty header", ""],
  ])("malformed JSON: %s", async (_, text) => {
    await expectError(rawFile(text), "bad-json");
  });

  it("header that is not UTF-8", async () => {
    const p = tmpPath("utf8");
    const header = Buffer.concat([Buffer.from('{"'), Buffer.from([0xff, 0xfe]), Buffer.from('":1}')]);
    fs.writeFileSync(p, Buffer.concat([u64(BigInt(header.length)), header]));
    await expectError(p, "bad-json");
  });

  it.each<[string, unknown, string | undefined]>([
    ["header is an array", [1, 2], undefined],
    ["entry is not an object", { w: 3 }, "w"],
    ["missing dtype", { w: { shape: [2], data_offsets: [0, 8] } }, "w"],
    ["non-string dtype", { w: { dtype: 4, shape: [2], data_offsets: [0, 8] } }, "w"],
    ["missing shape", { w: { dtype: "F32", data_offsets: [0, 8] } }, "w"],
    ["negative dimension", { w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, "w"],
    ["fractional dimension", { w: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, "w"],
    ["string dimension", { w: { dtype: "F32", shape: ["2"], data_offsets: [0, 8] } }, "w"],
    ["missing data_offsets", { w: { dtype: "F32", shape: [2] } }, "w"],
    ["data_offsets of one number", { w: { dtype: "F32", shape: [2], data_offsets: [0] } }, "w"],
    ["negative data_offsets", { w: { dtype: "F32", shape: [2], data_offsets: [-8, 0] } }, "w"],
    ["metadata not an object", { ...ok(), __metadata__: ["x"] }, undefined],
    ["metadata value not a string", { ...ok(), __metadata__: { epoch: 3 } }, undefined],
  ])("wrong header shape: %s", async (_, header, tensor) => {
    await expectError(rawFile(header, f32Bytes([1, 2])), "bad-header", tensor);
  });

  it("unknown dtype", async () => {
    const message = await expectError(rawFile({ w: { dtype: "F17", shape: [2], data_offsets: [0, 8] } }, 8), "unknown-dtype", "w");
    expect(message).toContain("F17");
  });

  it("dtype of the format that is not decoded", async () => {
    const message = await expectError(rawFile({ w: { dtype: "F4", shape: [2], data_offsets: [0, 1] } }, 1), "unknown-dtype", "w");
    expect(message).toContain("unsupported");
  });

  it("offsets past the data buffer", async () => {
    await expectError(rawFile(ok(), 4), "bad-offsets", "w");
  });

  it("offsets that end before they begin", async () => {
    await expectError(rawFile({ w: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, 8), "bad-offsets", "w");
  });

  it("size that disagrees with shape and dtype", async () => {
    const message = await expectError(rawFile({ w: { dtype: "F16", shape: [2], data_offsets: [0, 8] } }, 8), "bad-offsets", "w");
    expect(message).toContain("needs 4");
  });

  it("overlapping tensors", async () => {
    const header = {
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    };
    const message = await expectError(rawFile(header, 12), "bad-offsets", "b");
    expect(message).toContain("'a'");
  });

  it("a gap between tensors", async () => {
    const header = {
      a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
    };
    await expectError(rawFile(header, 12), "bad-offsets", "b");
  });

  it("trailing bytes no tensor covers", async () => {
    await expectError(rawFile(ok(), 12), "bad-offsets");
  });

  it("shape product overflow", async () => {
    const header = { w: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } };
    await expectError(rawFile(header, 8), "shape-overflow", "w");
  });

  it("accepts an empty header and a key named __proto__", async () => {
    expect(unwrap(await read(rawFile("{}"))).tensors.size).toBe(0);
    const f = unwrap(await read(rawFile('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32Bytes([7]))));
    expect(Object.getOwnPropertyDescriptor(f.metadata, "__proto__")?.value).toBe("x");
    expect([...f.tensors.get("__proto__")!.data]).toEqual([7]);
  });
});
