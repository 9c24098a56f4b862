/**
 * Choosing the WebAssembly runtime, and the README's main job on it: demo data, then `medg train
 * examples/demo_lesion.medg --runtime wasm` to well above chance.
 */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { demoDataCommand, trainCommand } from "../../src/cli/train.js";
import type { RunRecord } from "../../src/runtime/train.js";
import { loadTf } from "../../src/runtime/tf.js";
import { commandIo, runtimeUrl, scratch } from "../tfjs/program.js";
import "./harness.js";


describe("the wasm runtime", () => {
  it("loads by name and says what runs", async () => {
    const loaded = await loadTf({ prefer: "wasm" });
    expect(loaded.name).toBe("wasm");
    expect(loaded.tf.getBackend()).toBe("wasm");
    expect(loaded.description).toMatch(/^runtime: @tensorflow\/tfjs-backend-wasm 4\.\d+\.\d+ \(WebAssembly SIMD, 1 thread;/);
  });

  it("refuses a second thread count in the same process", async () => {
    await expect(loadTf({ prefer: "wasm", threads: 2 })).rejects.toThrow(/already runs on 1 thread/);
  });

  it("trains the README's demo model on demo data", async () => {
    const log = commandIo();
    copyFileSync(fileURLToPath(new URL("../../examples/demo_lesion.medg", import.meta.url)), join(scratch, "demo_lesion.medg"));
    expect(await demoDataCommand("wasm-demo", { size: "32", count: "120", seed: "2" }, log)).toBe(0);
    const code = await trainCommand("demo_lesion.medg", { data: "wasm-demo", out: "runs/wasm-demo", runtime: "wasm", runtimeModule: runtimeUrl }, log);
    expect(code, log.lines.join("\n")).toBe(0);
    expect(log.lines.some((l) => l.startsWith("runtime: @tensorflow/tfjs-backend-wasm"))).toBe(true);
    const run = JSON.parse(readFileSync(join(scratch, "runs", "wasm-demo", "run.json"), "utf8")) as RunRecord;
    expect(run.status).toBe("completed");
    expect(run.runtime).toMatch(/tfjs-backend-wasm/);
    expect(run.best!.value).toBeGreaterThanOrEqual(0.75);
  }, 300_000);
});
