/** Outputs at the input resolution for every accepted size, and the divisibility check for the others. */
import { describe, expect, it } from "vitest";
import { compileText, errors } from "../helpers/compile.js";
import { modelText, segModels } from "./unet-models.js";

describe.each(segModels)("$name", (m) => {
  it.each(m.sizes)("gives [N, classes, H, W] at %i", (size) => {
    const r = compileText(modelText(m, size));
    expect(errors(r)).toEqual([]);
    for (const o of r.models[0]!.graph.outputs) expect(o.type.shape).toEqual(["N", m.classes, size, size]);
  });
  it("gives [N, classes, H, W] for a non-square input", () => {
    const [h, w] = [m.sizes[0]!, m.sizes[1]!];
    const r = compileText(`model seg {\n  input image(${m.channels}, ${h}, ${w})\n  ${m.roles}\n}\n`);
    expect(errors(r)).toEqual([]);
    expect(r.models[0]!.graph.outputs[0]!.type.shape).toEqual(["N", m.classes, h, w]);
  });
  it("rejects a size that is not a multiple of its total stride, naming the nearest valid ones", () => {
    const { size, multiple } = m.bad;
    const r = compileText(modelText(m, size));
    const e = errors(r);
    expect(e.map((d) => d.code)).toEqual(["MEDG304"]);
    const lo = Math.floor(size / multiple) * multiple;
    expect(e[0]!.message).toContain(`divisible by ${multiple}`);
    expect(e[0]!.message).toContain(`nearest valid sizes: ${size} -> ${[lo, lo + multiple].filter((x) => x > 0).join(" or ")}`);
  });
});
