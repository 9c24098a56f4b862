import { describe, expect, it } from "vitest";
import { readManifest, zooModel } from "../helpers/compile.js";
import { describeReplica } from "./replica.js";

describeReplica(["swin_t", "swin_s"], "torchvision");

describe("swin_t details", () => {
  const { model } = zooModel("swin_t", readManifest("swin_t"));
  const nodes = (op: string) => model.graph.nodes.filter((n) => n.op === op);

  it("shifts the windows by half a window on odd blocks", () => {
    const shifts = nodes("window_attention").map((n) => `${n.scope.replace(/^backbone\./, "")} ${String(n.attrs.shift)}`);
    expect(shifts.slice(0, 4)).toEqual(["features.1.0.attn 0,0", "features.1.1.attn 3,3", "features.3.0.attn 0,0", "features.3.1.attn 3,3"]);
  });
  it("raises the stochastic-depth rate linearly from 0 to 0.2 over the 12 blocks", () => {
    // Each block drops both of its residual branches at its own rate.
    const rates = nodes("stochastic_depth").map((n) => n.attrs.p as number).filter((_, i) => i % 2 === 0);
    expect(rates).toHaveLength(12);
    rates.forEach((p, i) => expect(p).toBeCloseTo((0.2 * i) / 11, 12));
  });
});
