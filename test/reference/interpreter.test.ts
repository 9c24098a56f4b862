/**
 * The reference interpreter on cases small enough to work out by hand, plus two cross-checks of
 * its Swin ops against the independent loops of test/onnx/reference.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import type { Graph } from "../../src/ir/graph.js";
import { swinRelativePositionIndex } from "../../src/ir/ops/transformer.js";
import { initialValues } from "../../src/weights/init.js";
import * as loops from "../onnx/reference.js";
import { erf, relativePositionIndex, runReference } from "./interpreter.js";

const scratch = mkdtempSync(join(tmpdir(), "medg-interp-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
let counter = 0;

function graphOf(input: string, backbone: string): Graph {
  const file = join(scratch, `m${counter++}.medg`);
  writeFileSync(file, `model m {\n  input ${input}\n  backbone ${backbone}\n}\n`);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.models[0]!.graph;
}

/** Runs `backbone` on `x` with the given parameters (by name under `backbone.`); others keep their init values. */
function run(input: string, backbone: string, x: number[], params: Record<string, number[]> = {}): number[][] {
  const graph = graphOf(input, backbone);
  const values = initialValues(graph, { seed: 1 });
  for (const [name, v] of Object.entries(params)) {
    const full = `backbone.${name}`;
    if (!graph.params.has(full)) throw new Error(`no parameter ${full}; have ${[...graph.params.keys()].join(", ")}`);
    values.set(full, Float32Array.from(v));
  }
  return runReference(graph, values, Float32Array.from(x)).map((y) => [...y]);
}

const one = (input: string, backbone: string, x: number[], params: Record<string, number[]> = {}) => run(input, backbone, x, params)[0]!;

function close(actual: number[], expected: number[], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v, `element ${i} of [${actual.join(", ")}]`).toBeCloseTo(expected[i]!, digits));
}

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

describe("reference interpreter", () => {
  it("conv 2d, padding 1: each output is the sum of its 3x3 neighbourhood", () => {
    const y = one("image(1, 3, 3)", "c: conv(1, 3, bias=false)", range(9), { "c.weight": new Array(9).fill(1) });
    close(y, [12, 21, 16, 27, 45, 33, 24, 39, 28]);
  });

  it("conv 1d with dilation 2, and with stride 2 and a bias", () => {
    // a 1d map [N, 1, 5] from a 1x5 image
    close(one("image(1, 1, 5)", "reshape([1, 5]) | c: conv(1, 2, d=2, p=0, bias=false)", range(5), { "c.weight": [1, -1] }), [-2, -2, -2]);
    close(one("image(1, 1, 5)", "reshape([1, 5]) | c: conv(1, 3, s=2)", range(5), { "c.weight": [1, 0, 2], "c.bias": [10] }), [10 + 0 + 0 + 4, 10 + 2 + 8, 10 + 4 + 0]);
  });

  it("grouped conv keeps groups apart; 3d conv sums the 2x2x2 cube", () => {
    // 2 groups: out 0 sees channel 0 only, out 1 channel 1 only
    close(one("image(2, 1, 2)", "c: conv(2, 1, g=2, bias=false)", [1, 2, 3, 4], { "c.weight": [10, 100] }), [10, 20, 300, 400]);
    close(one("volume(1, 2, 2, 2)", "c: conv(1, 2, p=0, bias=false)", range(8), { "c.weight": new Array(8).fill(1) }), [36]);
  });

  it("conv_transpose scatters each input through the kernel, padding trims both ends", () => {
    close(one("image(1, 1, 2)", "reshape([1, 2]) | c: conv_transpose(1, 2, 2, bias=false)", [1, 2], { "c.weight": [1, 10] }), [1, 10, 2, 20]);
    // k=3, s=2, p=1, output_padding=1: full [1, 10, 100+2, 20, 200] minus one at each end, plus one at the far end
    close(one("image(1, 1, 2)", "reshape([1, 2]) | c: conv_transpose(1, 3, 2, p=1, output_padding=1, bias=false)", [1, 2], { "c.weight": [1, 10, 100] }), [10, 102, 20, 200]);
  });

  it("bn in eval mode uses the running statistics", () => {
    const y = one("image(1, 1, 2)", "b: bn(eps=0)", [1, 2], { "b.weight": [2], "b.bias": [1], "b.running_mean": [0.5], "b.running_var": [4] });
    close(y, [1.5, 2.5]);
  });

  it("gn, instance_norm, ln and ln2d normalise over their groups", () => {
    const s = 1 / Math.sqrt(1 + 1e-5);
    close(one("image(2, 1, 2)", "g: gn(2)", [1, 3, 5, 9]), [-s, s, -s, s]);
    close(one("image(2, 1, 2)", "instance_norm", [1, 3, 5, 9]), [-s, s, -s, s]);
    // channels [0, 2] per position; weight/bias per channel
    const s6 = 1 / Math.sqrt(1 + 1e-6);
    close(one("image(2, 1, 1)", "l: ln2d", [0, 2], { "l.weight": [1, 3], "l.bias": [0, 1] }), [-s6, 3 * s6 + 1]);
    close(one("image(1, 1, 2)", "flatten | l: ln", [0, 2], { "l.weight": [2, 1], "l.bias": [1, 0] }), [1 - 2 * s, s]);
  });

  it("activations", () => {
    const x = [-4, -1, 0, 0.5, 3];
    const act = (name: string) => one("image(1, 1, 5)", name, x);
    close(act("relu"), [0, 0, 0, 0.5, 3]);
    close(act("relu6"), [0, 0, 0, 0.5, 3]);
    close(act("leaky_relu(0.1)"), [-0.4, -0.1, 0, 0.5, 3]);
    close(one("image(1, 1, 5)", "a: prelu", x, { "a.weight": [0.5] }), [-2, -0.5, 0, 0.5, 3]);
    // One slope per channel: channel 0 keeps 0.5, channel 1 takes 2.
    close(one("image(2, 1, 2)", "a: prelu(2)", [-1, 1, -1, 3], { "a.weight": [0.5, 2] }), [-0.5, 1, -2, 3]);
    close(act("hardswish"), [0, -1 / 3, 0, (0.5 * 3.5) / 6, 3]);
    close(act("hardsigmoid"), [0, 2 / 6, 0.5, 3.5 / 6, 1]);
    close(act("sigmoid"), x.map((v) => 1 / (1 + Math.exp(-v))));
    close(act("silu"), x.map((v) => v / (1 + Math.exp(-v))));
    close(act("tanh"), x.map(Math.tanh));
    // Φ(-1) = 0.158655…, Φ(0.5) = 0.691462…, Φ(3) = 0.998650…
    close(act("gelu"), [-4 * 3.167124183e-5, -0.158655254, 0, 0.5 * 0.691462461, 3 * 0.998650102], 6);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 14);
    close(act("gelu(approximate=\"tanh\")"), x.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))));
    close(one("image(2, 1, 1)", "softmax", [0, Math.log(3)]), [0.25, 0.75]);
  });

  it("max and average pooling, ceil mode and count_include_pad", () => {
    // windows [0,1] [2,3] [4]
    close(one("image(1, 1, 5)", "maxpool([1, 2], s=2, ceil=true)", [1, 5, 2, 4, 3]), [5, 4, 3]);
    // length 4, k 2, s 2, p 1, ceil: windows [-1,1) [1,3) [3,5)
    const x = [1, 2, 3, 4];
    close(one("image(1, 1, 4)", "reshape([1, 4]) | avgpool(2, s=2, p=1, ceil=true)", x), [0.5, 2.5, 2]);
    close(one("image(1, 1, 4)", "reshape([1, 4]) | avgpool(2, s=2, p=1, ceil=true, count_include_pad=false)", x), [1, 2.5, 4]);
    // ceil past the end without padding: the last window [4, 6) is clipped to [4, 5) and divides by 1
    close(one("image(1, 1, 5)", "reshape([1, 5]) | avgpool(2, s=2, ceil=true)", range(5)), [1.5, 3.5, 5]);
    // dilation 2: positions 0, 2 then 1, 3 (stride 1)
    close(one("image(1, 1, 4)", "reshape([1, 4]) | maxpool(2, s=1, d=2)", [3, 1, 2, 4]), [3, 4]);
  });

  it("global and adaptive pools", () => {
    close(one("image(2, 1, 2)", "gap", [1, 3, 5, 9]), [2, 7]);
    close(one("image(2, 1, 2)", "gmp", [1, 3, 5, 9]), [3, 9]);
    // 5 → 3: windows [0,2) [1,4) [3,5)
    close(one("image(1, 1, 5)", "adaptive_avgpool([1, 3])", range(5)), [1.5, 3, 4.5]);
    close(one("image(1, 1, 5)", "adaptive_maxpool([1, 3])", [5, 1, 2, 9, 0]), [5, 9, 9]);
  });

  it("linear, and add/mul broadcasting channels-first", () => {
    close(one("image(1, 1, 2)", "flatten | f: linear(2)", [1, 2], { "f.weight": [1, 1, 2, -1], "f.bias": [0, 10] }), [3, 10]);
    // [N, C] against [N, C, H, W]: the pooled vector scales every position of its channel
    close(one("image(2, 1, 2)", "mul(gap, identity)", [1, 2, 3, 4]), [1.5, 3, 10.5, 14]);
    // [N, 1, H, W] against [N, C, H, W]
    close(one("image(2, 1, 2)", "add(identity, c: conv(1, 1, bias=false))", [1, 2, 3, 4], { "c.weight": [1, 1] }), [5, 8, 7, 10]);
  });

  it("concat, split, reshape, flatten, permute, transpose", () => {
    close(one("image(2, 1, 2)", "split(2) | concat(axis=3)", [1, 2, 3, 4]), [1, 2, 3, 4]);
    const [a, b] = run("image(3, 1, 1)", "split([1, 2])", [1, 2, 3]);
    close(a!, [1]);
    close(b!, [2, 3]);
    close(one("image(2, 2, 1)", "permute([0, 2, 3, 1])", [1, 2, 3, 4]), [1, 3, 2, 4]);
    close(one("image(1, 2, 3)", "transpose(2, 3)", range(6)), [1, 4, 2, 5, 3, 6]);
    close(one("image(1, 2, 2)", "flatten(2) | transpose(1, 2)", range(4)), range(4));
  });

  it("resize: nearest, bilinear with and without align_corners, to a size or by a scale", () => {
    close(one("image(1, 1, 2)", "resize(scale=[1, 2])", [0, 1]), [0, 0, 1, 1]);
    close(one("image(1, 1, 2)", "resize(size=[1, 4], mode=\"bilinear\")", [0, 1]), [0, 0.25, 0.75, 1]);
    close(one("image(1, 1, 2)", "resize(size=[1, 4], mode=\"bilinear\", align_corners=true)", [0, 1]), [0, 1 / 3, 2 / 3, 1]);
    // downscale 4 → 2 bilinear: sources 0.5 and 2.5
    close(one("image(1, 1, 4)", "resize(size=[1, 2], mode=\"bilinear\")", [0, 1, 2, 3]), [0.5, 2.5]);
    // nearest 3 → 2 by size: sources ⌊0·1.5⌋ = 0, ⌊1·1.5⌋ = 1
    close(one("image(1, 1, 3)", "resize(size=[1, 2])", [7, 8, 9]), [7, 8]);
  });

  it("pad: constant with a value, reflect, replicate", () => {
    close(one("image(1, 1, 3)", "pad([2, 1], value=9)", [1, 2, 3]), [9, 9, 1, 2, 3, 9]);
    close(one("image(1, 1, 3)", "pad([2, 1], mode=\"reflect\")", [1, 2, 3]), [3, 2, 1, 2, 3, 2]);
    close(one("image(1, 1, 3)", "pad([2, 1], mode=\"replicate\")", [1, 2, 3]), [1, 1, 1, 2, 3, 3]);
    close(one("image(1, 1, 3)", "pad([-1, 0])", [1, 2, 3]), [2, 3]);
  });

  it("gray_to_rgb and repeat_channels tile the channels", () => {
    close(one("image(1, 1, 2)", "gray_to_rgb", [1, 2]), [1, 2, 1, 2, 1, 2]);
    close(one("image(2, 1, 1)", "repeat_channels(2)", [1, 2]), [1, 2, 1, 2]);
  });

  it("tokens: class_token, pos_embedding, token, mean_tokens, layer_scale", () => {
    const tokens = "flatten(2) | transpose(1, 2)"; // [N, 2, 2] from a 2-channel 1x2 image: tokens (1, 3), (2, 4)
    close(one("image(2, 1, 2)", `${tokens} | class_token: class_token`, [1, 2, 3, 4], { class_token: [7, 8] }), [7, 8, 1, 3, 2, 4]);
    close(one("image(2, 1, 2)", `${tokens} | e: pos_embedding`, [1, 2, 3, 4], { e: [10, 20, 30, 40] }), [11, 23, 32, 44]);
    close(one("image(2, 1, 2)", `${tokens} | token(1)`, [1, 2, 3, 4]), [2, 4]);
    close(one("image(2, 1, 3)", `${tokens} | mean_tokens(1)`, range(6)), [2.5, 5.5]);
    close(one("image(2, 1, 1)", "s: layer_scale", [1, 2], { "s": [3, 5] }), [3, 10]);
    close(one("image(2, 1, 2)", `${tokens} | s: layer_scale(axis=-1, param="gamma")`, [1, 2, 3, 4], { "s.gamma": [10, 100] }), [10, 300, 20, 400]);
  });

  it("mhsa: one head, width 1, identity projections", () => {
    const y = one("image(1, 1, 2)", "flatten(2) | transpose(1, 2) | a: mhsa(1)", [0, 1], {
      "a.in_proj_weight": [1, 1, 1],
      "a.in_proj_bias": [0, 0, 0],
      "a.out_proj.weight": [1],
      "a.out_proj.bias": [0],
    });
    // token 0 scores [0, 0] → mean of v = 0.5; token 1 scores [0, 1] → e / (1 + e)
    close(y, [0.5, Math.E / (1 + Math.E)]);
  });

  it("relative_position_index equals the stored buffer's rule", () => {
    for (const [h, w] of [[2, 2], [3, 2], [7, 7]] as const) expect(relativePositionIndex(h, w)).toEqual(swinRelativePositionIndex([h, w]));
  });

  it.each([
    [5, 5, 3, 1],
    [4, 6, 2, 1],
    [7, 9, 3, 1],
    [3, 3, 4, 2],
  ])("window_attention on %ix%i, window %i, shift %i agrees with test/onnx/reference.ts", (h, w, window, shift) => {
    const c = 4;
    const graph = graphOf(`image(${c}, ${h}, ${w})`, `permute([0, 2, 3, 1]) | attn: window_attention(2, ${window}, ${shift})`);
    const values = initialValues(graph, { seed: 3 });
    // a bias table far from zero so that indexing mistakes show
    const table = values.get("backbone.attn.relative_position_bias_table")!;
    table.forEach((_, i) => (table[i] = Math.sin(i)));
    const x = Float32Array.from({ length: 2 * h * w * c }, (_, i) => Math.cos(i * 0.7));
    const y = runReference(graph, values, x)[0]!;
    const last = new Float32Array(x.length);
    for (let b = 0; b < 2; b++) for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) last[(b * h * w + i) * c + k] = x[(b * c + k) * h * w + i]!;
    const expected = loops.windowAttention(last, [2, h, w, c], 2, [window, window], [shift, shift], values, "backbone.attn");
    expect(Math.max(...y.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
  });

  it("patch_merging agrees with test/onnx/reference.ts on an odd map", () => {
    const [h, w, c] = [3, 5, 2];
    const graph = graphOf(`image(${c}, ${h}, ${w})`, "permute([0, 2, 3, 1]) | m: patch_merging");
    const values = initialValues(graph, { seed: 4 });
    const x = Float32Array.from({ length: h * w * c }, (_, i) => Math.sin(i * 1.3));
    const y = runReference(graph, values, x)[0]!;
    const last = new Float32Array(x.length);
    for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) last[i * c + k] = x[k * h * w + i]!;
    const expected = loops.patchMerging(last, [1, h, w, c], values, "backbone.m");
    expect(Math.max(...y.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
  });

  it("rejects a shape that disagrees with the IR's", () => {
    const graph = graphOf("image(1, 2, 2)", "relu");
    graph.nodes[0]!.outputs[0]!.type = { dtype: "float32", shape: ["N", 1, 2, 3] };
    expect(() => runReference(graph, new Map(), new Float32Array(4))).toThrow(/the IR infers/);
  });
});
