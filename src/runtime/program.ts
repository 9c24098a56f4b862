/**
 * What a built tfjs program is made of, as the runtime reads it: `model.js` (the graph as code),
 * `plan.json` (the training recipe and the parameter table) and `init.safetensors` (initial
 * values by IR name). The tfjs backend writes these; the training loop consumes them.
 */
import type { Tensor } from "./types.js";
import type { ForwardContext } from "./kernels/context.js";
import type { Entry, LossSpec } from "./types.js";

export const PROGRAM_FORMAT = 1;

export interface ProgramStage {
  name: string;
  /** Label paths, roles or `all`, as written; stages are cumulative. */
  freeze: string[];
  unfreeze: string[];
  epochs: number | null;
  lr: number | null;
  batch: number | null;
  optimizer: Entry | null;
  schedule: Entry | null;
}

export interface ProgramParameter {
  name: string;
  shape: number[];
  /** Buffers (bn running statistics, index tables) are saved but never trained. */
  buffer: boolean;
  role: string;
}

export interface ProgramPlan {
  format: number;
  model: string;
  /** The .medg file the program was built from. */
  source: string;
  medg: string;
  input: { kind: "image" | "volume"; shape: number[] };
  outputs: (number | string)[][];
  task: Entry;
  /** Class names when the task lists them, a count when it gives one, null to take them from the data. */
  classes: string[] | number | null;
  multilabel: boolean;
  normalize: Entry | null;
  loss: LossSpec | null;
  optimizer: Entry | null;
  schedule: Entry | null;
  augment: Entry[];
  /** The data source; a path in it is absolute (resolved against the .medg file's folder). */
  data: Entry | null;
  metrics: Entry[];
  stages: ProgramStage[];
  epochs: number | null;
  batch: number | null;
  seed: number | null;
  parameters: ProgramParameter[];
}

/** The module an emitted `model.js` is. */
export interface ModelModule {
  name: string;
  forward(params: Readonly<Record<string, Tensor>>, x: Tensor, ctx: ForwardContext): Tensor | Tensor[];
}

/**
 * The parameters frozen in each stage: a `freeze` path freezes the parameters under it until an
 * `unfreeze` covering them (the same rule as the compiler's `frozenAfter`).
 */
export function frozenPerStage(stages: readonly Pick<ProgramStage, "freeze" | "unfreeze">[], names: readonly string[]): Set<string>[] {
  const frozen = new Set<string>();
  const matches = (name: string, path: string) => path === "all" || name === path || name.startsWith(`${path}.`);
  return stages.map((s) => {
    for (const name of names) {
      if (s.freeze.some((p) => matches(name, p))) frozen.add(name);
      if (s.unfreeze.some((p) => matches(name, p))) frozen.delete(name);
    }
    return new Set(frozen);
  });
}
