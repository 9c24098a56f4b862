import type { CheckedModel } from "../compile.js";
import { nodeMacs } from "../passes/count-macs.js";
import { liveNodes } from "../passes/live-nodes.js";
import { formatShape } from "../ir/types.js";

export interface LayerRow {
  path: string;
  op: string;
  output: string;
  params: number;
  macs: number;
}

export interface SummaryJson {
  model: string;
  params: number;
  trainableParams: number;
  buffers: number;
  macs: number;
  input: { kind: string; shape: number[] } | null;
  outputs: string[];
  roles: Record<string, number>;
  weights: { file: string; role?: string; matched: number; adapted: number; missing: number; unused: number }[];
  layers: LayerRow[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function summarize(m: CheckedModel): SummaryJson {
  // A node no output uses costs nothing, as in the total.
  const live = liveNodes(m.graph);
  const layers = m.graph.nodes.map((n) => ({
    path: n.scope,
    op: n.op,
    output: n.outputs.map((o) => formatShape(o.type.shape)).join(" "),
    params: n.params.filter((p) => !p.buffer).reduce((s, p) => s + numel(p.shape), 0),
    macs: live.has(n) ? nodeMacs(n) : 0,
  }));
  return {
    model: m.name,
    params: m.params.total,
    trainableParams: m.params.trainable,
    buffers: m.params.buffers,
    macs: m.macs,
    input: m.plan.input ? { kind: m.plan.input.kind, shape: m.plan.input.shape } : null,
    outputs: m.graph.outputs.map((o) => formatShape(o.type.shape)),
    roles: m.params.byRole,
    weights: m.weights.map((w) => ({ file: w.file, ...(w.role ? { role: w.role } : {}), matched: w.matched, adapted: w.adapted.length, missing: w.missing.length, unused: w.unused.length })),
    layers,
  };
}

export const thousands = (n: number) => n.toLocaleString("en-US");

export function formatMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

/** A fixed-width table: label path, op, output shape, params, MACs; then totals. */
export function renderSummary(s: SummaryJson): string {
  const header = ["layer", "op", "output", "params", "MACs"];
  const rows = s.layers.map((l) => [l.path || "(input)", l.op, l.output, l.params ? thousands(l.params) : "-", l.macs ? formatMacs(l.macs) : "-"]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [`model ${s.model}`, "", line(header), rule, ...rows.map(line), rule];
  if (s.input) out.push(`input             ${s.input.kind} ${formatShape(["N", ...s.input.shape])}`);
  out.push(`outputs           ${s.outputs.join(" ") || "(none)"}`);
  out.push(`parameters        ${thousands(s.params)}${Object.keys(s.roles).length > 1 ? `  (${Object.entries(s.roles).map(([r, n]) => `${r} ${thousands(n)}`).join(", ")})` : ""}`);
  out.push(`trainable         ${thousands(s.trainableParams)}${s.trainableParams !== s.params ? " (first stage)" : ""}`);
  if (s.buffers) out.push(`buffers           ${thousands(s.buffers)}`);
  out.push(`MACs              ${formatMacs(s.macs)} (${thousands(s.macs)})`);
  for (const w of s.weights)
    out.push(`weights           ${w.role ? `${w.role} <- ` : ""}${w.file}: ${w.matched} tensors loaded${w.adapted ? ` (${w.adapted} adapted)` : ""}, ${w.missing} missing, ${w.unused} unused`);
  return out.join("\n");
}
