/**
 * Chains the op rules through torchvision's resnet18 and compares parameter count and MACs
 * with the reference manifest, so the MAC convention is the one of torchvision's GFLOPS.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import type { Shape } from "../../src/ir/types.js";
import { apply } from "./op-harness.js";

const reference = JSON.parse(readFileSync(new URL("../reference/resnet18.json", import.meta.url), "utf8")) as {
  params: number;
  macs: number;
};

it("resnet18's params and MACs match torchvision", () => {
  let macs = 0;
  let params = 0;
  const step = (name: string, args: Record<string, unknown>, ...inputs: Shape[]): Shape => {
    const r = apply(name, args, ...inputs);
    macs += r.macs;
    for (const p of r.params) if (!p.buffer) params += p.shape.reduce((a, b) => a * b, 1);
    return r.outputs[0]!;
  };
  let x: Shape = ["N", 3, 224, 224];
  x = step("conv", { out: 64, k: 7, s: 2, p: 3, bias: false }, x);
  x = step("bn", {}, x);
  x = step("relu", {}, x);
  x = step("maxpool", { k: 3, s: 2, p: 1 }, x);
  let c = 64;
  for (const [width, stride] of [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ] as const) {
    for (let block = 0; block < 2; block++) {
      const s = block === 0 ? stride : 1;
      let y = step("conv", { out: width, k: 3, s, bias: false }, x);
      y = step("bn", {}, y);
      y = step("relu", {}, y);
      y = step("conv", { out: width, k: 3, bias: false }, y);
      y = step("bn", {}, y);
      let shortcut = x;
      if (s !== 1 || c !== width) shortcut = step("bn", {}, step("conv", { out: width, k: 1, s, bias: false }, x));
      x = step("relu", {}, step("add", {}, y, shortcut));
      c = width;
    }
  }
  x = step("gap", {}, x);
  x = step("linear", { out: 1000 }, x);
  expect(x).toEqual(["N", 1000]);
  expect(params).toBe(reference.params);
  expect(macs).toBe(reference.macs);
});
