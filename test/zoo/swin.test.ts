import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";

describe.each(["swin_t", "swin_s"])("%s equals torchvision", (name) => {
  const manifest = readManifest(name);
  const { result, model, entries, reference } = zooModel(name, manifest);

  it("compiles clean", () => {
    expect(errors(result)).toEqual([]);
  });
  it("has the reference parameter count", () => {
    expect(model.params.total).toBe(manifest.params);
  });
  it("has the reference state_dict names and shapes", () => {
    expect([...entries].sort()).toEqual([...reference].sort());
  });
  it("has MACs within 2% of the reference", () => {
    expect(Math.abs(model.macs / manifest.macs - 1)).toBeLessThan(0.02);
  });
  it("ends at the pooled feature vector without classes", () => {
    const r = compileText(`model m {\n  input image(3, 224, 224)\n  backbone ${name}\n}\n`);
    expect(r.models[0]!.graph.outputs.map((o) => o.type.shape)).toEqual([["N", manifest.feature_width]]);
  });
});

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
