import { diagnostic, sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import type { Span } from "./syntax/span.js";
import { countParams, type ParamCounts } from "./passes/count-params.js";
import { countMacs } from "./passes/count-macs.js";
import { lintModel } from "./passes/lint.js";
import { compileModel, type CompiledModel } from "./semantics/model.js";
import type { EvalTrace } from "./semantics/context.js";
import { Program, stdlibDir, type LoadedModule, type SourceHost } from "./semantics/modules.js";
import { checkWeights, weightSources, type WeightsReport } from "./weights/match.js";

export interface CheckedModel extends CompiledModel {
  params: ParamCounts;
  /** Multiply-accumulates per sample of the nodes that feed an output. */
  macs: number;
  weights: WeightsReport[];
}

export interface CompileResult {
  file: string;
  models: CheckedModel[];
  diagnostics: Diagnostic[];
}

export interface CompileOptions {
  root: string;
  host?: SourceHost;
  /** Source text of `file` when it is not (yet) on disk, e.g. an editor buffer. */
  text?: string;
  /** `--weights [ROLE=]FILE`, applied to every model of the file. */
  weights?: readonly { role?: string; file: string }[];
  /** Observes the compile (the language server's hovers); it changes nothing of the result. */
  trace?: CompileTrace;
}

/** Evaluation's trace (blocks applied, nodes added, for every model), and each module as it loads. */
export interface CompileTrace extends EvalTrace {
  /** The file or one it imports (directly or not) has been loaded: parsed, imports resolved, names defined. */
  module(module: LoadedModule): void;
}

/**
 * The pipeline, top to bottom: parse and resolve imports, then for each model evaluate (expand defs,
 * infer shapes and channels as nodes are built), count parameters and MACs, lint, check weights
 * files against the graph's names and shapes.
 */
export function compileFile(file: string, options: CompileOptions): CompileResult {
  try {
    return compileUnguarded(file, options);
  } catch (e) {
    // Bounds in the parser and evaluator should make this unreachable; if a pathological text still
    // exhausts the stack, it is a diagnostic like any other.
    if (!(e instanceof RangeError)) throw e;
    const span = { file, start: { offset: 0, line: 1, col: 1 }, end: { offset: 0, line: 1, col: 1 } };
    return { file, models: [], diagnostics: [diagnostic("MEDG212", span, `the file is nested too deeply to compile (${e.message})`)] };
  }
}

function compileUnguarded(file: string, options: CompileOptions): CompileResult {
  const trace = options.trace;
  const program = new Program({ root: options.root, ...(options.host ? { host: options.host } : {}), ...(trace ? { onLoad: (m: LoadedModule) => trace.module(m) } : {}) });
  const module = program.load(file, options.text);
  const diagnostics: Diagnostic[] = [...program.prelude.diagnostics, ...program.allDiagnostics()];
  const models: CheckedModel[] = [];
  const names = new Map<string, Span>();
  for (const item of module.parsed.module.items) {
    if (item.kind !== "model") continue;
    const previous = names.get(item.name);
    if (previous) diagnostics.push(diagnostic("MEDG209", item.nameSpan, `a second model named '${item.name}'; the first is at line ${previous.start.line}`, { related: [{ span: previous, message: "first model" }] }));
    else names.set(item.name, item.nameSpan);
    const model = compileModel(item, module.env, (f) => f.startsWith(stdlibDir), trace ?? null);
    const weights = model.complete ? checkWeights(model, weightSources(model, options.weights ?? [])) : { diagnostics: [], reports: [] };
    const checked: CheckedModel = { ...model, params: countParams(model), macs: countMacs(model.graph), weights: weights.reports };
    checked.diagnostics.push(...lintModel(checked), ...weights.diagnostics);
    diagnostics.push(...checked.diagnostics);
    models.push(checked);
  }
  const repairs = new Map(program.modules().map((m) => [m.path, m.parsed.repairs] as const));
  return { file: module.path, models, diagnostics: sortDiagnostics(withoutSyntaxConsequences(diagnostics, repairs)) };
}

/** Other diagnostics inside a region the parser repaired after a syntax error would only describe the repair. */
function withoutSyntaxConsequences(diagnostics: readonly Diagnostic[], repairs: ReadonlyMap<string, [number, number][]>): Diagnostic[] {
  return diagnostics.filter((d) => {
    if (d.code.startsWith("MEDG1")) return true;
    const regions = repairs.get(d.span.file) ?? [];
    return !regions.some(([start, end]) => d.span.start.offset >= start && d.span.start.offset < end);
  });
}
