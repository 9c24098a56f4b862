/** The cpu backend's fast ops agree with tfjs's own, in value and gradient. */
import { describe, expect, it } from "vitest";
import { accelerate } from "../../src/runtime/kernels/cpu.js";
import { tf, tfjs } from "./harness.js";

const fast = accelerate(tfjs) as unknown as typeof tf;

function rand(shape: number[], seed: number): tf.Tensor {
  let s = seed * 7919 + 1;
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    }),
    shape,
  );
}

/** Same value and same gradient of ⟨f(x…), g⟩ for every input. */
function agree(f: (t: typeof tf, ...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][]): void {
  const xs = shapes.map((s, i) => rand(s, i + 1));
  const a = f(tf, ...xs);
  const b = f(fast, ...xs);
  expect(b.shape).toEqual(a.shape);
  const g = rand(a.shape, 99);
  const grads = (t: typeof tf) => tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(t, ...ys), g)))(xs);
  const [ga, gb] = [grads(tf), grads(fast)];
  for (const [x, y] of [[a, b], ...ga.map((t, i) => [t, gb[i]!] as const)] as const) {
    const [u, v] = [x.dataSync(), y.dataSync()];
    let err = 0;
    for (let i = 0; i < u.length; i++) err = Math.max(err, Math.abs(u[i]! - v[i]!));
    expect(err).toBeLessThan(1e-5);
  }
}

describe("accelerate(tf) on the cpu backend", () => {
  it("is used on the cpu backend only", () => {
    expect(fast.transpose).not.toBe(tf.transpose);
  });
  it.each([
    [[0, 2, 3, 1], [2, 3, 4, 5]],
    [[3, 1, 2, 0], [2, 3, 4, 5]],
    [[1, 0], [3, 7]],
    [[0, 2, 1, 3, 4], [2, 3, 2, 2, 3]],
  ])("transpose %j of %j", (perm, shape) => agree((t, x) => t.transpose(x!, perm), [shape]));
  it("slice", () => agree((t, x) => t.slice(x!, [1, 0, 2, 1], [1, 3, 2, -1]), [[2, 3, 5, 4]]));
  it("pad", () => agree((t, x) => t.pad(x!, [[0, 0], [1, 2], [0, 1], [3, 0]], 0.5), [[2, 3, 2, 4]]));
  // A copy before reversing: the tape keeps the very array split returns.
  it("split along an inner axis", () => agree((t, x) => t.concat([...t.split(x!, [1, 3, 2], 2)].reverse(), 2), [[2, 3, 6]]));
  it.each([
    ["add", [2, 3, 4, 5], [1, 1, 1, 5]],
    ["mul", [2, 3, 4, 5], [2, 1, 1, 5]],
    ["sub", [2, 1, 4, 1], [2, 3, 4, 5]],
    ["mul", [6, 5], [5]],
    ["add", [2, 3, 4], [2, 3, 1]],
  ] as const)("%s %j with %j", (op, a, b) => agree((t, x, y) => t[op](x!, y!), [[...a], [...b]]));
  it.each([
    [false, false, [3, 4], [4, 5]],
    [true, false, [4, 3], [4, 5]],
    [false, true, [3, 4], [5, 4]],
    [true, true, [4, 3], [5, 4]],
    [false, true, [2, 3, 3, 4], [2, 3, 5, 4]],
    [false, false, [17, 9], [9, 3]],
    [true, false, [2, 4, 11], [2, 4, 6]],
  ] as const)("matMul transposeA %s transposeB %s, %j · %j", (ta, tb, a, b) => agree((t, x, y) => t.matMul(x!, y!, ta, tb), [[...a], [...b]]));
  it.each([
    [[0, 1, 2], true],
    [[1, 2], false],
    [[0], false],
    [[0, 2], true],
  ] as const)("mean, sum and moments over %j (keepDims %s)", (axes, keep) => {
    agree((t, x) => t.mean(x!, [...axes], keep), [[2, 3, 4, 5]]);
    agree((t, x) => t.sum(x!, [...axes], keep), [[2, 3, 4, 5]]);
    agree((t, x) => t.moments(x!, [...axes], keep).variance, [[2, 3, 4, 5]]);
    agree((t, x) => t.moments(x!, [...axes], keep).mean, [[2, 3, 4, 5]]);
  });
});
