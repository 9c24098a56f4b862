/**
 * Contracts between the pieces of the training runtime (what emitted programs import).
 * The tfjs namespace is passed in (`Tf`), never imported here, so one runtime module serves
 * @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node, the wasm backend and pure @tensorflow/tfjs alike.
 */
import type * as tfjs from "@tensorflow/tfjs";

export type Tf = typeof tfjs;
export type Tensor = tfjs.Tensor;
export type Variable = tfjs.Variable;

/** A registry entry as the plan holds it (src/policy/plan.ts PolicyCall, args with defaults filled). */
export interface Entry {
  name: string;
  args: Record<string, unknown>;
}

/** Weighted sum of loss entries: `0.5*dice + 0.5*ce` (a single loss is one term of weight 1). */
export interface LossSpec {
  terms: { weight: number; entry: Entry }[];
}

export interface LossContext {
  classes: number;
  multilabel: boolean;
  /** Per-class weights computed from the training set's class frequencies (weighted_ce without weights). */
  classFrequencies?: number[];
}

/** logits [B, K] (or [B, K, H, W] for segmentation), targets: class indices [B] int32 or multi-hot [B, K]. Returns a scalar. */
export type LossFn = (logits: Tensor, targets: Tensor) => Tensor;

export interface Optimizer {
  /** Applies one update in place; `lr` is this step's learning rate. Frozen variables are simply not passed. */
  step(variables: readonly Variable[], grads: readonly Tensor[], lr: number): void;
  /** Optimizer state as named float arrays (for checkpoints and --resume). */
  state(): Map<string, Float32Array>;
  loadState(state: Map<string, Float32Array>): void;
}

export interface ScheduleContext {
  baseLr: number;
  epochs: number;
  stepsPerEpoch: number;
}

export interface Schedule {
  /** Learning rate for a step (epoch 0-based, step within the epoch 0-based). */
  lr(epoch: number, step: number): number;
  /** Called with the epoch's validation metrics (ReduceLROnPlateau reads its metric). */
  endEpoch(metrics: Record<string, number>): void;
}

/** Per-epoch validation metrics: scalars by name, plus per-class values and the confusion matrix. */
export interface MetricReport {
  scalars: Record<string, number>;
  perClass: Record<string, number[]>;
  confusion?: number[][];
}

/** One image of a dataset before decoding. */
export interface Sample {
  path: string;
  /**
   * The image's path relative to the data root (`train/normal/img0.png`), or as the CSV lists it:
   * it names the sample's random streams, so a run does not depend on where the data folder lies.
   */
  id: string;
  /** Class index (single-label) or class indices (multi-label). */
  label: number | number[];
  split: "train" | "val" | "test";
}

export interface Dataset {
  classNames: string[];
  multilabel: boolean;
  samples: Sample[];
}

/** A decoded image: channels-first float32 [C, H, W] (or [C, D, H, W]), raw intensities. */
export interface Image {
  data: Float32Array;
  shape: number[];
}

/** A deterministic random source (each sample's augmentation draws from its own stream). */
export interface Rng {
  next(): number;
  normal(): number;
  int(n: number): number;
}
