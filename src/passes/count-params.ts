import { frozenAfter, type CompiledModel } from "../semantics/model.js";

export interface ParamCounts {
  /** Learnable parameters (what torchvision's parameter counts count). */
  total: number;
  /** Learnable parameters trained in the first stage (all of them when there are no stages). */
  trainable: number;
  /** Buffer elements (BN running statistics, index tables). */
  buffers: number;
  /** Parameters per role. */
  byRole: Record<string, number>;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function countParams(model: CompiledModel): ParamCounts {
  const frozen = model.plan.stages.length ? frozenAfter(model.plan.stages, model.graph)[0]! : new Set<string>();
  const counts: ParamCounts = { total: 0, trainable: 0, buffers: 0, byRole: {} };
  for (const p of model.graph.params.values()) {
    const n = numel(p.shape);
    if (p.buffer) {
      counts.buffers += n;
      continue;
    }
    counts.total += n;
    if (!frozen.has(p.name)) counts.trainable += n;
    counts.byRole[p.role] = (counts.byRole[p.role] ?? 0) + n;
  }
  return counts;
}
