/**
 * Adam and AdamW on the wasm backend run as one kernel per parameter (src/runtime/wasm/adam.ts):
 * the parameters and both moments after a few steps equal those of the op-by-op rule on pure JS.
 */
import { describe, expect, it } from "vitest";
import { makeOptimizer } from "../../src/runtime/optim.js";
import type { Tensor, Variable } from "../../src/runtime/types.js";
import { simdKernels } from "../../src/runtime/wasm/simd.js";
import { ADAM_STEP } from "../../src/runtime/wasm/adam.js";
import { relative, rng, tf, tfjs, type Backend } from "./harness.js";

const shapes = [[3, 4, 3, 3], [7], [5, 2]];

async function train(backend: Backend, name: string, args: Record<string, number>): Promise<Map<string, Float32Array>> {
  await tf.setBackend(backend);
  const r = rng(3);
  const vars = shapes.map((s, i) => tf.variable(tf.tensor(r.values(s.reduce((a, b) => a * b, 1)), s), true, `${backend}/${name}/${i}`));
  const optimizer = makeOptimizer(tfjs, { name, args }, { lr: 0.01 });
  for (let step = 0; step < 4; step++) {
    const grads = vars.map((v) => tf.tensor(r.values(v.size), v.shape));
    optimizer.step(vars as unknown as Variable[], grads as unknown as Tensor[], 0.01 / (step + 1));
    tf.dispose(grads);
  }
  const state = optimizer.state();
  vars.forEach((v, i) => state.set(`param ${i}`, Float32Array.from(v.dataSync())));
  optimizer.dispose();
  tf.dispose(vars);
  return state;
}

describe("Adam on the wasm backend", () => {
  // Sizes 108, 7 and 10: four lanes at a time in SIMD (simd.ts), the rest in JS.
  it("runs in WebAssembly SIMD on the backend's memory", async () => {
    await tf.setBackend("wasm");
    expect(simdKernels(tf.backend())).not.toBeNull();
  });

  it.each([
    ["adamw", { weight_decay: 0.1 }],
    ["adam", { weight_decay: 0.1 }],
    ["adam", {}],
  ] as const)("%s %j: parameters and moments as on pure JS", async (name, args) => {
    expect(tf.getKernel(ADAM_STEP, "wasm")).toBeDefined();
    const expected = await train("cpu", name, args);
    const actual = await train("wasm", name, args);
    const rename = (key: string) => key.replace(/^(cpu|wasm)\//, "");
    const want = new Map([...expected].map(([k, v]) => [rename(k), v]));
    const got = new Map([...actual].map(([k, v]) => [rename(k), v]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, values] of want) expect(relative(got.get(key)!, values), key).toBeLessThanOrEqual(1e-5);
  });
});
