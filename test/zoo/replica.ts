import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";

/**
 * The checks every zoo backbone passes against its reference manifest (`test/reference/NAME.json`):
 * clean compile, parameter count, state_dict names and shapes, MACs within 2%, and the pooled
 * feature vector as the output when no `classes` is given.
 */
export function describeReplica(names: readonly string[], reference: string): void {
  describe.each(names)(`%s equals ${reference}`, (name) => {
    const manifest = readManifest(name);
    const { result, model, entries, reference: expected } = zooModel(name, manifest);

    it("compiles clean", () => {
      expect(errors(result)).toEqual([]);
    });
    it("has the reference parameter count", () => {
      expect(model.params.total).toBe(manifest.params);
    });
    it("has the reference state_dict names and shapes", () => {
      expect([...entries].sort()).toEqual([...expected].sort());
    });
    it("has MACs within 2% of the reference", () => {
      expect(Math.abs(model.macs / manifest.macs - 1)).toBeLessThan(0.02);
    });
    it("ends at the pooled feature vector without classes", () => {
      const r = compileText(`model m {\n  input image(3, 224, 224)\n  backbone ${name}\n}\n`);
      expect(r.models[0]!.graph.outputs.map((o) => o.type.shape)).toEqual([["N", manifest.feature_width]]);
    });
  });
}
