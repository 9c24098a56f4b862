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
  out.push(...headOnFeatureMap(model));
  return out;
}

/** `head linear` fed a feature map would mix spatial positions: it needs the pooled vector. */
function headOnFeatureMap(model: CompiledModel): Diagnostic[] {
  const first = model.graph.nodes.find((n) => n.params.some((p) => p.role === "head"));
  const input = first?.inputs[0];
  if (!first || first.op !== "linear" || !input || input.type.shape.length < 4) return [];
  const source = input.producer ? input.producer.scope || input.producer.op : "the input";
  return [
    diagnostic("MEDG302", first.span, `head linear expects 1 input of rank 2, got [${input.type.shape.join(", ")}] from ${source} (add a pooling op such as gap)`, {
      fixes: [{ title: "add gap", edits: [{ span: { ...first.span, end: first.span.start }, text: "gap | " }] }],
    }),
  ];
}
