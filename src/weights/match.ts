import { diagnostic, type Diagnostic, type Fix } from "../diagnostics/diagnostic.js";
import type { Graph, Param } from "../ir/graph.js";
import { formatShape } from "../ir/types.js";
import type { CompiledModel, RoleInfo } from "../semantics/model.js";
import type { Span } from "../syntax/span.js";
import { readSafetensorsHeaderSync, readSafetensorsSync, type TensorHeader } from "./safetensors.js";

/** A weights file and where its names live: relative to a role (`backbone`), or full names. */
export interface WeightsSource {
  file: string;
  role?: string;
  /** Where the user named the file (`weights="…"`); CLI sources point at the model. */
  span: Span;
}

export interface WeightsReport {
  file: string;
  role?: string;
  matched: number;
  adapted: string[];
  missing: string[];
  unused: string[];
}

/** How a file tensor becomes a model parameter: as is, or with its input channels adapted. */
interface Binding {
  param: Param;
  fileName: string;
  adaptTo?: number;
}

interface Matched {
  bindings: Binding[];
  report: WeightsReport & { used: Set<string> };
}

/**
 * Parameters that no source provides, reported once per role (or once for full-name sources) at
 * the first source that covers them, so several files may together fill one role.
 */
function reportMissing(model: CompiledModel, matched: readonly { source: WeightsSource; report: Matched["report"] }[], diagnostics: Diagnostic[]): void {
  const used = new Set(matched.flatMap((m) => [...m.report.used]));
  const done = new Set<string>();
  for (const { source, report } of matched) {
    const prefix = source.role ? `${source.role}.` : "";
    if (done.has(prefix)) continue;
    done.add(prefix);
    const missing = [...model.graph.params.keys()].filter((n) => n.startsWith(prefix) && !used.has(n));
    report.missing = missing;
    if (missing.length) diagnostics.push(diagnostic("MEDG603", source.span, `${missing.length} parameter${missing.length === 1 ? "" : "s"} not in the weights${prefix ? ` given for '${source.role}'` : ""}: ${list(missing)}`));
  }
}

const classifierScopes = new Set(["fc", "classifier", "heads", "head"]);
// Counters and masks the reference computes from its configuration: not weights.
const ignored = (name: string) => name.endsWith("num_batches_tracked") || name.endsWith(".attn_mask");
const list = (xs: string[]) => `${xs.slice(0, 5).join(", ")}${xs.length > 5 ? `, … (${xs.length} in all)` : ""}`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The first convolution's weight of a role: the one whose input channels follow the image's. */
function firstConvWeight(graph: Graph, role: string): Param | undefined {
  for (const node of graph.nodes) {
    if (node.op !== "conv") continue;
    const p = node.params.find((x) => x.name.endsWith(".weight") && x.role === role);
    if (p) return p;
  }
  return undefined;
}

/** Sources named on roles (`weights=`) followed by those given on the command line. */
export function weightSources(model: CompiledModel, cli: readonly { role?: string; file: string }[]): WeightsSource[] {
  const out: WeightsSource[] = [];
  for (const r of model.roles) if (r.weights) out.push({ file: r.weights.file, role: r.role, span: r.weights.span });
  for (const c of cli) out.push({ ...c, span: c.role ? (model.roles.find((r) => r.role === c.role)?.span ?? model.span) : model.span });
  return out;
}

function match(model: CompiledModel, source: WeightsSource, tensors: Map<string, TensorHeader>, diagnostics: Diagnostic[]): Matched {
  const prefix = source.role ? `${source.role}.` : "";
  const role = source.role ? model.roles.find((r) => r.role === source.role) : undefined;
  const first = source.role ? firstConvWeight(model.graph, source.role) : undefined;
  const report: WeightsReport & { used: Set<string> } = { file: source.file, matched: 0, adapted: [], missing: [], unused: [], used: new Set() };
  if (source.role) report.role = source.role;
  const bindings: Binding[] = [];
  const used = new Set<string>();
  for (const [name, t] of tensors) {
    if (ignored(name)) continue;
    const param = model.graph.params.get(prefix + name);
    if (!param) {
      report.unused.push(name);
      continue;
    }
    used.add(param.name);
    if (sameShape(param.shape, t.shape)) {
      bindings.push({ param, fileName: name });
      report.matched++;
      continue;
    }
    const channelsOnly = param === first && t.shape.length === param.shape.length && t.shape.every((d, i) => i === 1 || d === param.shape[i]);
    if (channelsOnly && role?.inChannels) {
      bindings.push({ param, fileName: name, adaptTo: param.shape[1]! });
      report.adapted.push(param.name);
      report.matched++;
      diagnostics.push(diagnostic("MEDG606", source.span, `${param.name}: pretrained weights for ${t.shape[1]} input channels adapted to ${param.shape[1]} (${param.shape[1] === 1 ? "summed over channels" : "repeated and scaled"})`));
    } else if (channelsOnly && role) {
      diagnostics.push(inputChannelsDiagnostic(model, role, param, t, source));
    } else {
      diagnostics.push(diagnostic("MEDG602", source.span, `weight '${param.name}' has shape ${formatShape(t.shape)} in ${source.file}, but the model's is ${formatShape(param.shape)}`));
    }
  }
  for (const name of used) report.used.add(name);
  const classifier = report.unused.filter((n) => classifierScopes.has(n.split(".")[0]!) && ![...model.graph.params.keys()].some((k) => k.startsWith(`${prefix}${n.split(".")[0]}.`)));
  const unused = report.unused.filter((n) => !classifier.includes(n));
  if (classifier.length)
    diagnostics.push(diagnostic("MEDG605", source.span, `the reference classifier (${list(classifier)}) is not loaded: the ${source.role ?? "model"} has no \`classes\`, so it ends at the pooled features`));
  if (unused.length) diagnostics.push(diagnostic("MEDG604", source.span, `${unused.length} tensor${unused.length === 1 ? "" : "s"} of ${source.file} match no parameter${prefix ? ` under '${source.role}'` : ""}: ${list(unused)}`));
  return { bindings, report };
}

/** A grayscale input meeting RGB pretrained weights: offer `gray_to_rgb` or `in_channels=`. */
function inputChannelsDiagnostic(model: CompiledModel, role: RoleInfo, param: Param, t: TensorHeader, source: WeightsSource): Diagnostic {
  const c = param.shape[1]!;
  const fixes: Fix[] = [];
  const input = model.plan.input;
  if (c === 1 && t.shape[1] === 3 && input?.kindSpan)
    fixes.push({ title: "repeat the grayscale channel: add `| gray_to_rgb` to the input", edits: [{ span: { ...input.kindSpan, start: input.kindSpan.end }, text: " | gray_to_rgb" }] });
  const end = role.head.span.end;
  const at = { ...role.head.span, start: { ...end, offset: end.offset - (role.head.isCall ? 1 : 0), col: end.col - (role.head.isCall ? 1 : 0) } };
  fixes.push({
    title: `adapt the first conv's pretrained weights: add \`in_channels=${c}\``,
    edits: [{ span: { ...at, end: at.start }, text: role.head.isCall ? `, in_channels=${c}` : `(in_channels=${c})` }],
  });
  return diagnostic(
    "MEDG501",
    source.span,
    `the ${role.role}'s first conv '${param.name}' receives ${c} channel${c === 1 ? "" : "s"}, but the pretrained weights in ${source.file} expect ${t.shape[1]} (${formatShape(t.shape)}); repeat the channel with \`gray_to_rgb\` or adapt the weights with \`in_channels=${c}\``,
    { fixes },
  );
}

/** Checks every weights source against the model by names and shapes, reading file headers only. */
export function checkWeights(model: CompiledModel, sources: readonly WeightsSource[]): { diagnostics: Diagnostic[]; reports: WeightsReport[] } {
  const diagnostics: Diagnostic[] = [];
  const matched: { source: WeightsSource; report: Matched["report"] }[] = [];
  for (const source of sources) {
    const header = readSafetensorsHeaderSync(source.file);
    if (!header.ok) {
      diagnostics.push(diagnostic("MEDG601", source.span, header.error.message));
      continue;
    }
    matched.push({ source, report: match(model, source, header.value.tensors, diagnostics).report });
  }
  reportMissing(model, matched, diagnostics);
  return { diagnostics, reports: matched.map(({ report: { used: _, ...r } }) => r) };
}

/** timm's rule: sum the RGB filters for one channel; otherwise repeat them and scale by 3 / channels. */
export function adaptInputChannels(data: Float32Array, shape: readonly number[], channels: number): Float32Array {
  const [out, cin] = [shape[0]!, shape[1]!];
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const result = new Float32Array(out * channels * inner);
  for (let o = 0; o < out; o++)
    for (let c = 0; c < channels; c++)
      for (let k = 0; k < inner; k++) {
        const dst = (o * channels + c) * inner + k;
        if (channels === 1) {
          let sum = 0;
          for (let s = 0; s < cin; s++) sum += data[(o * cin + s) * inner + k]!;
          result[dst] = sum;
        } else result[dst] = (data[(o * cin + (c % cin)) * inner + k]! * cin) / channels;
      }
  return result;
}

/** Loads the tensors of every source as parameter values (by the model's names). */
export function loadWeights(model: CompiledModel, sources: readonly WeightsSource[]): { values: Map<string, Float32Array>; diagnostics: Diagnostic[] } {
  const values = new Map<string, Float32Array>();
  const diagnostics: Diagnostic[] = [];
  for (const source of sources) {
    const file = readSafetensorsSync(source.file);
    if (!file.ok) {
      diagnostics.push(diagnostic("MEDG601", source.span, file.error.message));
      continue;
    }
    const headers = new Map([...file.value.tensors].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, dataOffsets: [0, 0] as [number, number] }]));
    const { bindings } = match(model, source, headers, diagnostics);
    for (const b of bindings) {
      const t = file.value.tensors.get(b.fileName)!;
      values.set(b.param.name, b.adaptTo ? adaptInputChannels(t.data, t.shape, b.adaptTo) : t.data);
    }
  }
  return { values, diagnostics };
}
