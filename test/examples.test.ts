import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileFile } from "../src/compile.js";
import { compileText, describeDiagnostics } from "./helpers/compile.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const examples = join(root, "examples");
const files = readdirSync(examples).filter((f) => f.endsWith(".medg"));

describe("every example", () => {
  it("exists in number (chest X-ray, dermoscopy, MRI, CT, ultrasound and more)", () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)("%s checks clean and builds a complete graph per model", (file) => {
    const r = compileFile(join(examples, file), { root });
    expect(r.diagnostics.filter((d) => d.severity !== "info").map((d) => `${d.code} ${d.message}`)).toEqual([]);
    expect(r.models.length).toBeGreaterThan(0);
    for (const m of r.models) {
      expect(m.complete).toBe(true);
      expect(m.graph.outputs.length).toBeGreaterThan(0);
      expect(m.params.total).toBeGreaterThan(0);
    }
  });

  it("cover several backbone families", () => {
    // Each family leaves a recognisable parameter name in its backbone.
    const signatures: Record<string, RegExp> = {
      resnet: /^backbone\.layer1\.0\.conv1\.weight$/,
      densenet: /^backbone\.features\.denseblock1\./,
      efficientnet: /^backbone\.features\.1\.0\.block\./,
      convnext: /\.layer_scale$/,
      vit: /^backbone\.encoder\.layers\.encoder_layer_0\./,
      swin: /relative_position_bias_table$/,
    };
    const found = new Set<string>();
    for (const file of files)
      for (const m of compileFile(join(examples, file), { root }).models)
        for (const name of m.graph.params.keys()) for (const [family, re] of Object.entries(signatures)) if (re.test(name)) found.add(family);
    expect([...found].sort()).toEqual(Object.keys(signatures).sort());
  });
});

describe("the product card", () => {
  it("checks clean exactly as written", () => {
    const card = `model chest_xray {
  input image(1, 224, 224)
  backbone efficientnet_b0 | head mlp(512, dropout=.3) | stage freeze 5 lr 1e-3
}
`;
    const r = compileText(card);
    expect(describeDiagnostics(r).filter((d) => !d.startsWith("MEDG502"))).toEqual([]);
    const m = r.models[0]!;
    // Freeze the backbone, 5 epochs at 1e-3: only the head trains in that stage.
    expect(m.plan.stages).toMatchObject([{ freeze: ["backbone"], unfreeze: [], epochs: 5, lr: 1e-3 }]);
    expect(m.params.trainable).toBe(m.params.byRole["head"]);
    expect(m.graph.outputs.map((o) => o.type.shape)).toEqual([["N", 2]]);
  });
});
