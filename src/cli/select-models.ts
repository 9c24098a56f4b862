/**
 * What `medg build` and `medg train` share: compile the file and pick its models — all of them, or
 * the one `--model` names (MEDG211 with a did-you-mean when none has that name). Diagnostics of the
 * models not picked stay out of the way.
 */
import type { CheckedModel, CompileResult } from "../compile.js";
import { diagnostic, hasErrors } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { BuildIo } from "./build.js";

export interface SelectedModels {
  result: CompileResult;
  models: CheckedModel[];
}

/** The compile result and the models to build; null after printing why there are none. */
export function selectModels(file: string, modelName: string | undefined, io: BuildIo, command: string): SelectedModels | null {
  const r = io.compile(file);
  if (typeof r === "string") {
    io.err(r);
    return null;
  }
  const diagnostics = [...r.diagnostics];
  let models = r.models;
  if (modelName !== undefined) {
    models = models.filter((m) => m.name === modelName);
    if (models.length === 0) {
      const names = r.models.map((m) => m.name);
      const s = didYouMean(modelName, names);
      const span = r.models[0]?.span ?? { file: r.file, start: { offset: 0, line: 1, col: 1 }, end: { offset: 0, line: 1, col: 1 } };
      diagnostics.push(diagnostic("MEDG211", span, `no model named '${modelName}' in ${file}${s ? ` (did you mean '${s}'?)` : ""}; models: ${names.join(", ") || "none"}`));
    }
  }
  const others = r.models.filter((m) => !models.includes(m));
  const relevant = diagnostics.filter((d) => !others.some((m) => m.diagnostics.includes(d)));
  io.print(relevant);
  if (hasErrors(relevant)) return null;
  if (models.length === 0) {
    io.err(`medg ${command}: ${file} has no model to build`);
    return null;
  }
  return { result: r, models };
}
