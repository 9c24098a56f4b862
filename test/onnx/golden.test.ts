/**
 * Golden ONNX dumps: each `golden/*.medg` is exported (options from an `# export: opset=18
 * fixed_batch=1` comment line) and its `dumpModel` text must equal `golden/<name>.onnx.txt`.
 * MEDG_ACCEPT=1 rewrites the baselines instead. Each model also runs in onnxruntime.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { dumpModel } from "../../src/backends/onnx/dump.js";
import { compileFile } from "../../src/compile.js";
import { exportModel, run, withBatch } from "./helpers.js";

const dir = fileURLToPath(new URL("./golden/", import.meta.url));
const accept = process.env.MEDG_ACCEPT === "1";
const cases = readdirSync(dir)
  .filter((f) => f.endsWith(".medg"))
  .sort();

function exportOptions(text: string): { opset?: number; fixedBatch?: number } {
  const line = /^# export: (.*)$/m.exec(text)?.[1] ?? "";
  const options: { opset?: number; fixedBatch?: number } = {};
  for (const [, key, value] of line.matchAll(/(\w+)=(\d+)/g)) {
    if (key === "opset") options.opset = Number(value);
    if (key === "fixed_batch") options.fixedBatch = Number(value);
  }
  return options;
}

describe("golden ONNX dumps", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(4));

  it.each(cases)("%s", async (name) => {
    const file = join(dir, name);
    const text = readFileSync(file, "utf8");
    const r = compileFile(file, { root: dir });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const options = exportOptions(text);
    const exported = exportModel(r.models[0]!, text, options);
    const actual = dumpModel(exported.model!, { volatile: ["medg.version"] });
    const baseline = join(dir, name.replace(/\.medg$/, ".onnx.txt"));
    if (accept) writeFileSync(baseline, actual);
    else {
      expect(existsSync(baseline), `no baseline for ${name}; run with MEDG_ACCEPT=1`).toBe(true);
      expect(actual).toBe(readFileSync(baseline, "utf8"));
    }
    const batch = options.fixedBatch ?? 2;
    const outputs = await run(exported.bytes, withBatch(r.models[0]!.graph.inputs[0]!.type.shape, batch));
    r.models[0]!.graph.outputs.forEach((v, i) => {
      const out = Object.values(outputs)[i]!;
      expect(out.dims).toEqual(withBatch(v.type.shape, batch));
      expect(out.data.every(Number.isFinite)).toBe(true);
    });
  });
});
