/**
 * The multi-threaded wasm backend in Node: started in a process of its own on 2 threads, it reports
 * them, runs the runtime's SIMD kernels on 2 threads over its shared memory, computes convolutions'
 * gradients (tfjs's and the runtime's own) and batch norm's as pure JS does, runs AdamW as the float64 rule does, and
 * lets the process exit.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the wasm backend on several threads", () => {
  it("runs the runtime's kernels on the threads asked for and exits when done", () => {
    const child = spawnSync(process.execPath, [fileURLToPath(new URL("../../node_modules/vite-node/vite-node.mjs", import.meta.url)), fileURLToPath(new URL("./threads-child.ts", import.meta.url)), "2"], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(child.status, `${child.stdout}\n${child.stderr}`).toBe(0);
    const line = child.stdout.trim().split("\n").at(-1)!;
    const result = JSON.parse(line) as { threads: number; simdThreads: number; simd: boolean; gap: number; runtimeGap: number; batchNormGap: number; adam: { simd: boolean; gap: number } };
    expect(result.threads).toBe(2);
    expect(result.simdThreads).toBe(2);
    expect(result.simd).toBe(true);
    expect(result.gap).toBeLessThanOrEqual(1e-4);
    expect(result.runtimeGap).toBeLessThanOrEqual(1e-4);
    expect(result.batchNormGap).toBeLessThanOrEqual(1e-4);
    expect(result.adam.simd).toBe(true);
    expect(result.adam.gap).toBeLessThanOrEqual(1e-6);
  }, 150_000);
});
