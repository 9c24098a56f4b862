import type { Val } from "../semantics/values.js";
import type { Span } from "../syntax/span.js";

/**
 * The training recipe beside the graph. Every part keeps the span it was written at, so later
 * checks (stage targets, loss against task, input against backbone) point at user text.
 * Absent statements are null / empty; backends choose their own fallbacks.
 */

/** One registry entry as written, arguments bound with defaults filled in. */
export interface PolicyCall {
  name: string;
  args: Record<string, Val>;
  span: Span;
}

/** `0.5*dice + 0.5*ce`: a weighted sum of registry losses. A single loss is one term of weight 1. */
export interface LossTerm {
  weight: number;
  entry: PolicyCall;
}

export interface LossExpr {
  terms: LossTerm[];
  span: Span;
}

export interface InputSpec {
  kind: "image" | "volume";
  /** Channels-first sample shape without the batch dimension: [c, h, w] or [c, d, h, w]. */
  shape: number[];
  /** Input-handling steps written after the kind (`| gray_to_rgb`), in order. */
  steps: PolicyCall[];
  span: Span;
  /** The `image(…)` / `volume(…)` part, where input handling such as `| gray_to_rgb` is inserted. */
  kindSpan?: Span;
}

export interface Stage {
  name: string;
  span: Span;
  /** Label paths or roles (`backbone`, `backbone.features.0-5`, `all`), as written. */
  freeze: string[];
  unfreeze: string[];
  /** Null: the plan's `epochs`. */
  epochs: number | null;
  /** Null: the optimizer's lr. */
  lr: number | null;
  schedule?: PolicyCall;
  optimizer?: PolicyCall;
  batch?: number;
}

export interface TrainingPlan {
  task: PolicyCall | null;
  input: InputSpec | null;
  normalize: PolicyCall | null;
  loss: LossExpr | null;
  optimizer: PolicyCall | null;
  schedule: PolicyCall | null;
  /** Applied in order to training samples only. */
  augment: PolicyCall[];
  data: PolicyCall | null;
  metrics: PolicyCall[];
  stages: Stage[];
  /** Whole-run settings; null when not written. */
  epochs: number | null;
  batch: number | null;
  seed: number | null;
}

export function emptyPlan(): TrainingPlan {
  return {
    task: null,
    input: null,
    normalize: null,
    loss: null,
    optimizer: null,
    schedule: null,
    augment: [],
    data: null,
    metrics: [],
    stages: [],
    epochs: null,
    batch: null,
    seed: null,
  };
}

export function policyCall(name: string, args: Record<string, Val>, span: Span): PolicyCall {
  return { name, args, span };
}

export function lossOf(terms: LossTerm[], span: Span): LossExpr {
  return { terms, span };
}

/** A loss written as one entry (`loss focal(gamma=2)`). */
export function singleLoss(entry: PolicyCall): LossExpr {
  return { terms: [{ weight: 1, entry }], span: entry.span };
}

export function inputSpec(kind: InputSpec["kind"], shape: number[], span: Span, steps: PolicyCall[] = []): InputSpec {
  return { kind, shape, steps, span };
}

export function stage(name: string, span: Span, fields: Partial<Omit<Stage, "name" | "span">> = {}): Stage {
  return { name, span, freeze: [], unfreeze: [], epochs: null, lr: null, ...fields };
}

/** The plan's task name, or "classify" when no task statement was written (the compact form). */
export function taskName(plan: TrainingPlan): string {
  return plan.task?.name ?? "classify";
}
