import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { frozenAfter, type CompiledModel } from "../semantics/model.js";

/** Domain lints over a compiled model and its plan (MEDG4xx/5xx warnings). */
export function lintModel(model: CompiledModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const learnable = [...model.graph.params.values()].filter((p) => !p.buffer);
  if (model.plan.stages.length && learnable.length) {
    const frozen = frozenAfter(model.plan.stages, model.graph);
    model.plan.stages.forEach((s, i) => {
      if (learnable.every((p) => frozen[i]!.has(p.name)))
        out.push(diagnostic("MEDG406", s.span, `stage ${s.name} freezes every parameter, so it trains nothing`));
    });
  }
  return out;
}
