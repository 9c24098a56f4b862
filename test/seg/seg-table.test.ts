/**
 * The segmentation zoo against its reference figures in one table: parameters and MACs (batch 1,
 * at the resolution the reference was measured at) of each model, beside the reference's. The
 * reference parameters and conv MACs come from the manifests (test/reference/seg, test/seg/reference),
 * SegFormer's MACs from its paper (Table 1, ADE20K at 512 x 512, GFLOPs counted as MACs).
 *
 * `npm run seg-table` prints the table (MEDG_SEG_TABLE names the markdown file this test writes).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileText, errors } from "../helpers/compile.js";
import { readSegManifest, segModels } from "./unet-models.js";

interface Row {
  name: string;
  input: [number, number, number];
  roles: string;
  params: number;
  /** Reference MACs and where they come from; null where the reference publishes none. */
  macs: { value: number; source: string } | null;
  /** Reference parameters the medg model leaves out on purpose. */
  missing?: { params: number; what: string };
  source: string;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const fromManifests: Row[] = segModels.map((m) => {
  const manifest = readSegManifest(m.manifest);
  const [, c, h, w] = manifest.macs_input as [number, number, number, number];
  const dropped = manifest.entries.filter(([n, , kind]) => kind === "param" && m.missing?.test(n));
  return {
    name: m.name,
    input: [c, h, w],
    roles: m.roles,
    params: manifest.params,
    macs: { value: manifest.macs, source: "conv MACs, manifest" },
    ...(dropped.length ? { missing: { params: dropped.reduce((a, [, shape]) => a + numel(shape), 0), what: "unused deep-supervision heads" } } : {}),
    source: manifest.reference,
  };
});

const transformerManifest = (name: string) => JSON.parse(readFileSync(new URL(`./reference/${name}.json`, import.meta.url), "utf8")) as { params: number; source: string };

const segformer = (b: string, paperMacs: number): Row => ({
  name: `SegFormer-${b.toUpperCase()}`,
  input: [3, 512, 512],
  roles: `backbone segformer_${b}(classes=150)`,
  params: transformerManifest(`segformer_${b}`).params,
  macs: { value: paperMacs, source: "paper, Table 1" },
  source: transformerManifest(`segformer_${b}`).source,
});

const rows: Row[] = [
  ...fromManifests,
  segformer("b0", 8.4e9),
  segformer("b1", 15.9e9),
  segformer("b2", 62.4e9),
  {
    name: "Swin-UNet",
    input: [3, 224, 224],
    roles: "backbone swin_unet(classes=9)",
    params: transformerManifest("swin_unet").params,
    macs: null,
    source: transformerManifest("swin_unet").source,
  },
];

const thousands = (n: number) => n.toLocaleString("en-US");
const macsText = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(1)} M`);
const percent = (ours: number, theirs: number) => `${ours >= theirs ? "+" : "−"}${(Math.abs(ours / theirs - 1) * 100).toFixed(2)}%`;

describe("the segmentation table", () => {
  const measured = rows.map((row) => {
    const [c, h, w] = row.input;
    const r = compileText(`model m {\n  input image(${c}, ${h}, ${w})\n  ${row.roles}\n}\n`);
    return { row, r, model: r.models[0]! };
  });

  it.each(measured.map((m) => [m.row.name, m] as const))("%s has its reference's parameters and MACs", (_name, { row, r, model }) => {
    expect(errors(r)).toEqual([]);
    expect(model.params.total).toBe(row.params - (row.missing?.params ?? 0));
    // Conv MACs from a manifest agree within the unused heads' 1x1 convs; the paper's within rounding.
    if (row.macs) expect(Math.abs(model.macs / row.macs.value - 1)).toBeLessThan(row.macs.source.startsWith("paper") ? 0.01 : 0.002);
  });

  it("renders as markdown", () => {
    const lines = [
      "| model | input | parameters | reference | MACs | reference MACs | Δ MACs | reference |",
      "|---|---|---:|---:|---:|---:|---:|---|",
      ...measured.map(({ row, model }) => {
        const params = `${thousands(row.params)}${row.missing ? ` (${thousands(row.missing.params)} in ${row.missing.what})` : ""}`;
        const macs = row.macs ? `${macsText(row.macs.value)} (${row.macs.source})` : "not published";
        const delta = row.macs ? percent(model.macs, row.macs.value) : "";
        return `| ${row.name} | ${row.input.join("×")} | ${thousands(model.params.total)} | ${params} | ${macsText(model.macs)} | ${macs} | ${delta} | ${row.source} |`;
      }),
    ];
    expect(lines).toHaveLength(rows.length + 2);
    if (process.env.MEDG_SEG_TABLE) writeFileSync(process.env.MEDG_SEG_TABLE, `${lines.join("\n")}\n`);
  });
});
