/** `medg build --target onnx` end to end, in-process: files written, options, exit codes. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { onnx } from "../../src/backends/onnx/proto.js";
import { main } from "../../src/cli/main.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { run } from "./helpers.js";

interface Run {
  code: number;
  out: string;
  err: string;
}

async function medg(argv: string[], cwd: string): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), cwd });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "medg-build-"));
  writeFileSync(join(dir, "medg.json"), "{}\n");
  return dir;
}

const small = `model lesion {
  task classify(classes=["benign", "malignant"])
  input image(1, 32, 32)
  normalize zscore(per_image)
  backbone conv1: conv(8, 3, s=2, bias=false) | bn1: bn | relu | gap
  head fc: linear
}
`;

const two = `${small}
model lesion_wide {
  task classify(classes=["benign", "malignant"])
  input image(1, 32, 32)
  backbone conv1: conv(16, 3, s=2) | relu | gap
  head fc: linear
}
`;

const load = (file: string) => onnx.ModelProto.decode(readFileSync(file));
const opTypes = (file: string) => load(file).graph!.node!.map((n) => n.opType);
const initializer = (file: string, name: string) => load(file).graph!.initializer!.find((t) => t.name === name)!;
const floatsOf = (t: ReturnType<typeof initializer>) => new Float32Array(Uint8Array.from(t.rawData!).buffer);

describe("medg build --target onnx", () => {
  it("writes FILE's name with .onnx beside it, loadable and runnable, and nothing else", async () => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    const r = await medg(["build", "lesion.medg", "--target", "onnx"], dir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote lesion\.onnx: lesion, ONNX opset 17, \d+ nodes, \d+ initializers, [\d.]+ MB, 1 bn folded$/);
    expect(readdirSync(dir).sort()).toEqual(["lesion.medg", "lesion.onnx", "medg.json"]);
    const out = await run(readFileSync(join(dir, "lesion.onnx")), [3, 1, 32, 32]);
    expect(out.logits!.dims).toEqual([3, 2]);
    expect(opTypes(join(dir, "lesion.onnx"))).toEqual(["Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"]);
    const meta = Object.fromEntries(load(join(dir, "lesion.onnx")).metadataProps!.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta["medg.classes"]!)).toEqual(["benign", "malignant"]);
    expect(JSON.parse(meta["medg.normalize"]!)).toMatchObject({ name: "zscore" });
  });

  it("-o replaces an existing file; options reach the model", async () => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "m.onnx"), "old");
    const r = await medg(["build", "lesion.medg", "--target", "onnx", "-o", "out/m.onnx", "--opset", "18", "--keep-bn", "--fixed-batch", "4"], dir);
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, "out"))).toEqual(["m.onnx"]);
    const m = load(join(dir, "out", "m.onnx"));
    expect(Number(m.opsetImport![0]!.version)).toBe(18);
    expect(Number(m.irVersion)).toBe(8);
    expect(m.graph!.node!.map((n) => n.opType)).toContain("BatchNormalization");
    expect(m.graph!.input![0]!.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))).toEqual([4, 1, 32, 32]);
  });

  it("is deterministic for a seed, and the seed changes the initial values", async () => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    for (const [seed, out] of [["0", "a.onnx"], ["0", "b.onnx"], ["1", "c.onnx"]] as const)
      expect((await medg(["build", "lesion.medg", "--target", "onnx", "--seed", seed, "-o", out], dir)).code).toBe(0);
    const bytes = (f: string) => readFileSync(join(dir, f));
    expect(bytes("a.onnx").equals(bytes("b.onnx"))).toBe(true);
    expect(bytes("a.onnx").equals(bytes("c.onnx"))).toBe(false);
  });

  it("takes initializers from --weights and the init rules for the rest", async () => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    const fc = Float32Array.from({ length: 16 }, (_, i) => i / 16);
    const written = writeSafetensorsSync(join(dir, "head.safetensors"), [
      { name: "fc.weight", shape: [2, 8], data: fc },
      { name: "fc.bias", shape: [2], data: Float32Array.of(0.5, -0.5) },
    ]);
    expect(written.ok).toBe(true);
    const r = await medg(["build", "lesion.medg", "--target", "onnx", "--weights", "head=head.safetensors"], dir);
    expect(r.code).toBe(0);
    expect(Array.from(floatsOf(initializer(join(dir, "lesion.onnx"), "head.fc.weight")))).toEqual(Array.from(fc));
    expect(Array.from(floatsOf(initializer(join(dir, "lesion.onnx"), "head.fc.bias")))).toEqual([0.5, -0.5]);
  });

  it("stops at an unreadable weights file with exit 1", async () => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    writeFileSync(join(dir, "broken.safetensors"), "not a safetensors file");
    const r = await medg(["build", "lesion.medg", "--target", "onnx", "--weights", "head=broken.safetensors"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("error MEDG601");
    expect(existsSync(join(dir, "lesion.onnx"))).toBe(false);
  });

  it("builds every model of a file under its own name, or the one --model names", async () => {
    const dir = project();
    writeFileSync(join(dir, "two.medg"), two);
    expect((await medg(["build", "two.medg", "--target", "onnx"], dir)).code).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith(".onnx")).sort()).toEqual(["two.lesion.onnx", "two.lesion_wide.onnx"]);
    const one = await medg(["build", "two.medg", "--target", "onnx", "--model", "lesion_wide", "-o", "wide.onnx"], dir);
    expect(one.code).toBe(0);
    expect(load(join(dir, "wide.onnx")).graph!.name).toBe("lesion_wide");
    const several = await medg(["build", "two.medg", "--target", "onnx", "-o", "x.onnx"], dir);
    expect(several.code).toBe(2);
    expect(several.err).toContain("choose one with --model");
    const unknown = await medg(["build", "two.medg", "--target", "onnx", "--model", "lesion_wid"], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("MEDG211: no model named 'lesion_wid' in two.medg (did you mean 'lesion_wide'?)");
  });

  it("stops at compile errors with exit 1, printing them, and leaves the target alone", async () => {
    const dir = project();
    writeFileSync(join(dir, "bad.medg"), small.replace("gap", "gapp"));
    writeFileSync(join(dir, "bad.onnx"), "previous");
    const r = await medg(["build", "bad.medg", "--target", "onnx"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("bad.medg:5:66: error MEDG201: unknown name 'gapp'");
    expect(readFileSync(join(dir, "bad.onnx"), "utf8")).toBe("previous");
    expect(readdirSync(dir).sort()).toEqual(["bad.medg", "bad.onnx", "medg.json"]);
  });

  it("reports an unwritable target with exit 1 and leaves no temporary file", async () => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    mkdirSync(join(dir, "taken.onnx"));
    const r = await medg(["build", "lesion.medg", "--target", "onnx", "-o", "taken.onnx"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^medg build: cannot write .*taken\.onnx: /);
    expect(readdirSync(dir).sort()).toEqual(["lesion.medg", "medg.json", "taken.onnx"]);
    const missing = await medg(["build", "lesion.medg", "--target", "onnx", "-o", "no/such/dir/m.onnx"], dir);
    expect(missing.code).toBe(1);
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  it.each([
    [["--target", "tfjs2"], "unknown --target 'tfjs2'"],
    [[], "--target is required (onnx)"],
    [["--target", "onnx", "--opset", "16"], "--opset must be an integer from 17 to 20, got '16'"],
    [["--target", "onnx", "--opset", "21"], "--opset must be an integer from 17 to 20, got '21'"],
    [["--target", "onnx", "--fixed-batch", "0"], "--fixed-batch must be an integer of 1 or more, got '0'"],
    [["--target", "onnx", "--seed", "x"], "--seed must be an integer"],
  ])("rejects %j with exit 2", async (args, message) => {
    const dir = project();
    writeFileSync(join(dir, "lesion.medg"), small);
    const r = await medg(["build", "lesion.medg", ...args], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(readdirSync(dir).sort()).toEqual(["lesion.medg", "medg.json"]);
  });

  it("needs a file, and reads only one", async () => {
    const dir = project();
    expect((await medg(["build", "--target", "onnx"], dir)).code).toBe(2);
    const r = await medg(["build", "missing.medg", "--target", "onnx"], dir);
    expect(r.code).toBe(1);
    expect(r.err).toBe("medg: cannot read missing.medg");
  });
});
