/**
 * Checkpoints of a run: parameters and buffers by their IR names (so ONNX export reads them with
 * `--weights`), optimizer state by `<parameter>/<slot>`, and `run.json`. Every file is written to
 * a temporary sibling and renamed, so a crash never leaves a half-written checkpoint.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readSafetensorsSync, writeSafetensorsSync } from "../weights/safetensors.js";
import type { Variable } from "./types.js";

export const LAST = "last.safetensors";
export const BEST = "best.safetensors";
export const LAST_OPTIMIZER = "last.optimizer.safetensors";
export const RUN = "run.json";

export interface Checkpoint {
  values: Map<string, Float32Array>;
  metadata: Record<string, string>;
}

export function saveTensors(file: string, tensors: Iterable<[string, { data: Float32Array; shape: readonly number[] }]>, metadata: Record<string, string> = {}): void {
  const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  const r = writeSafetensorsSync(file, list, metadata);
  if (!r.ok) throw new Error(r.error.message);
}

/** Parameters and buffers, read back from the variables. */
export function saveVariables(file: string, variables: ReadonlyMap<string, Variable>, metadata: Record<string, string> = {}): void {
  saveTensors(
    file,
    [...variables].map(([name, v]) => [name, { data: Float32Array.from(v.dataSync() as Float32Array), shape: v.shape }] as [string, { data: Float32Array; shape: number[] }]),
    metadata,
  );
}

export function saveOptimizerState(file: string, state: ReadonlyMap<string, Float32Array>, metadata: Record<string, string> = {}): void {
  saveTensors(
    file,
    [...state].map(([k, data]) => [k, { data, shape: [data.length] }] as [string, { data: Float32Array; shape: number[] }]),
    metadata,
  );
}

export function loadCheckpoint(file: string): Checkpoint {
  const r = readSafetensorsSync(file);
  if (!r.ok) throw new Error(r.error.message);
  return { values: new Map([...r.value.tensors].map(([k, t]) => [k, t.data])), metadata: r.value.metadata };
}

export function writeJsonAtomically(file: string, value: unknown): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as T;
}
