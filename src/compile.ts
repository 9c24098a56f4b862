import { sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import { countParams, type ParamCounts } from "./passes/count-params.js";
import { countMacs } from "./passes/count-macs.js";
import { lintModel } from "./passes/lint.js";
import { compileModel, type CompiledModel } from "./semantics/model.js";
import { Program, type SourceHost } from "./semantics/modules.js";

export interface CheckedModel extends CompiledModel {
  params: ParamCounts;
  macs: number;
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
}

/**
 * The pipeline, top to bottom: parse and resolve imports, then for each model evaluate (expand defs,
 * infer shapes and channels as nodes are built), count parameters and MACs, lint.
 */
export function compileFile(file: string, options: CompileOptions): CompileResult {
  const program = new Program({ root: options.root, ...(options.host ? { host: options.host } : {}) });
  const module = program.load(file, options.text);
  const diagnostics: Diagnostic[] = [...program.prelude.diagnostics, ...program.allDiagnostics()];
  const models: CheckedModel[] = [];
  for (const item of module.parsed.module.items) {
    if (item.kind !== "model") continue;
    const model = compileModel(item, module.env);
    const checked: CheckedModel = { ...model, params: countParams(model), macs: countMacs(model.graph) };
    checked.diagnostics.push(...lintModel(checked));
    diagnostics.push(...checked.diagnostics);
    models.push(checked);
  }
  return { file: module.path, models, diagnostics: sortDiagnostics(diagnostics) };
}
