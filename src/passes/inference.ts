import type { Graph } from "../ir/graph.js";
import { removeDeadNodes } from "./dead-nodes.js";
import { dropInferenceNoops } from "./drop-inference-noops.js";
import { foldBatchNorm } from "./fold-batchnorm.js";

export interface InferenceOptions {
  /** Keep bn nodes (for a backend or a check that wants the unfolded graph). */
  keepBn?: boolean;
}

export interface InferenceReport {
  /** Nodes removed as no-ops or as dead. */
  removed: number;
  /** bn nodes folded into the layer before them. */
  folded: number;
}

/**
 * Rewrites `graph` and `values` in place for inference: drops training-only no-ops first (so
 * a conv | dropout | bn chain becomes foldable), folds bns, removes dead nodes, and repeats
 * until a round changes nothing.
 */
export function prepareForInference(graph: Graph, values: Map<string, Float32Array>, options: InferenceOptions = {}): InferenceReport {
  const report: InferenceReport = { removed: 0, folded: 0 };
  for (;;) {
    const removed = dropInferenceNoops(graph, values);
    const folded = options.keepBn ? 0 : foldBatchNorm(graph, values);
    const dead = removeDeadNodes(graph, values);
    report.removed += removed + dead;
    report.folded += folded;
    if (removed + folded + dead === 0) return report;
  }
}
