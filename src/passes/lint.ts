import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { frozenAfter, type CompiledModel } from "../semantics/model.js";
import { isChannelsLast } from "./channel-axis.js";

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
  out.push(...freezeOnSegmentation(model));
  return out;
}

/**
 * `head linear` fed a channels-first feature map [N, C, H, W] acts on its width: the head needs
 * the pooled vector. On a channels-last map [N, H, W, C] (Swin, SegFormer) it is the intended
 * per-position projection of the features.
 */
function headOnFeatureMap(model: CompiledModel): Diagnostic[] {
  const first = model.graph.nodes.find((n) => n.params.some((p) => p.role === "head"));
  const input = first?.inputs[0];
  if (!first || first.op !== "linear" || !input || input.type.shape.length < 4 || isChannelsLast(input)) return [];
  const source = input.producer ? input.producer.scope || input.producer.op : "the input";
  return [
    diagnostic("MEDG302", first.span, `head linear expects 1 input of rank 2, got [${input.type.shape.join(", ")}] from ${source} (add a pooling op such as gap)`, {
      fixes: [{ title: "add gap", edits: [{ span: { ...first.span, end: first.span.start }, text: "gap | " }] }],
    }),
  ];
}

/**
 * Segmentation fine-tunes every parameter: the decoder learns from the encoder's features at
 * every scale, and the task differs from ImageNet classification at every scale too.
 */
function freezeOnSegmentation(model: CompiledModel): Diagnostic[] {
  if (model.plan.task?.name !== "segment") return [];
  return model.plan.stages
    .filter((s) => s.freeze.length > 0)
    .map((s) =>
      diagnostic(
        "MEDG406",
        s.span,
        `stage ${s.name} freezes ${s.freeze.join(", ")}, but segmentation models are fine-tuned in full (the segmentation recipe: every parameter trained, AdamW at 1e-4, small batches); drop the freeze unless the data is too small to train the ${s.freeze.includes("all") ? "model" : "encoder"}`,
      ),
    );
}
