#!/usr/bin/env node
// Per-call times of the runtime's 2-d convolution on the wasm backend, each direction, on the layer
// shapes of ResNet-18 at 64×64 (batch 16): medg's SIMD matrix products (wasm/products.ts) against
// XNNPACK's convolution and the convolution-based gradients of wasm/conv.ts (the path taken where
// the SIMD module cannot run). The best of several rounds of a few calls each, in ms, and GFLOP/s.
//
//   npm run bench:convs                 # one thread
//   node bench/convs.js --threads 2     # the products on 2 threads (the multi-threaded build)
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { bundleSource, root } from "./source.js";

const { values: opts } = parseArgs({ options: { threads: { type: "string", default: "1" }, rounds: { type: "string", default: "6" } } });

const bundle = await bundleSource("convs", [
  `export { loadTf } from "./src/runtime/tf.ts";`,
  `export { conv2dOihw, conv2dOihwGradient } from "./src/runtime/wasm/layers.ts";`,
  `export { CONV2D_OIHW_INPUT_GRADIENT, CONV2D_OIHW_FILTER_GRADIENT } from "./src/runtime/wasm/conv.ts";`,
  `export { simdKernels, useSimdKernels } from "./src/runtime/wasm/simd.ts";`,
]);
const m = await import(pathToFileURL(bundle).href);
const { tf } = await m.loadTf({ prefer: "wasm", threads: Number(opts.threads), searchDirs: [root] });

/** [name, image size, in channels, out channels, kernel, stride] of ResNet-18 at 64×64. */
const layers = [
  ["stem 7×7/2", 64, 3, 64, 7, 2],
  ["16×16×64", 16, 64, 64, 3, 1],
  ["16→8, 64→128 /2", 16, 64, 128, 3, 2],
  ["8×8×128", 8, 128, 128, 3, 1],
  ["4×4×256", 4, 256, 256, 3, 1],
  ["2×2×512", 2, 512, 512, 3, 1],
];

function best(call) {
  for (let i = 0; i < 2; i++) tf.dispose(call());
  let ms = Infinity;
  for (let round = 0; round < Number(opts.rounds); round++) {
    const t = performance.now();
    for (let i = 0; i < 3; i++) {
      const out = call();
      out.dataSync();
      tf.dispose(out);
    }
    ms = Math.min(ms, (performance.now() - t) / 3);
  }
  return ms;
}

const rows = [];
for (const [name, size, c, o, k, s] of layers) {
  const pad = (k - 1) >> 1;
  const pads = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  const out = Math.floor((size + 2 * pad - k) / s) + 1;
  const x = tf.randomUniform([16, size, size, c], -1, 1);
  const w = tf.randomUniform([o, c, k, k], -0.1, 0.1);
  const dy = tf.randomUniform([16, out, out, o], -1, 1);
  const flops = 2 * 16 * out * out * o * c * k * k;
  const attrs = { strides: [s, s], pad: pads };
  const directions = {
    forward: () => m.conv2dOihw(tf, x, w, [s, s], pads),
    input: () => tf.engine().runKernel(m.CONV2D_OIHW_INPUT_GRADIENT, { dy, filter: w }, { ...attrs, inputShape: x.shape }),
    filter: () => tf.engine().runKernel(m.CONV2D_OIHW_FILTER_GRADIENT, { x, dy }, { ...attrs, filterShape: [k, k, c, o] }),
  };
  for (const [direction, call] of Object.entries(directions)) {
    m.useSimdKernels(false);
    const xnnpack = best(call);
    m.useSimdKernels(true);
    const products = best(call);
    rows.push([name, direction, xnnpack, products, flops]);
  }
  tf.dispose([x, w, dy]);
}

const simd = m.simdKernels(tf.backend());
console.log(`ResNet-18 layers at 64×64, batch 16, ${opts.threads} thread(s); products ${simd.fused ? "with fused multiply-adds (relaxed SIMD)" : "with separate multiplies and adds"}, on ${simd.threads} thread(s)`);
console.log("| layer | direction | XNNPACK path ms | products ms | products GFLOP/s | × faster |");
console.log("|---|---|---:|---:|---:|---:|");
for (const [name, direction, xnnpack, products, flops] of rows)
  console.log(`| ${name} | ${direction} | ${xnnpack.toFixed(1)} | ${products.toFixed(1)} | ${(flops / products / 1e6).toFixed(1)} | ${(xnnpack / products).toFixed(2)} |`);
