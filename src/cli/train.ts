/**
 * The tfjs commands: `medg build FILE --target tfjs` writes a program folder, `medg train FILE`
 * builds one into the run folder and runs it in this process, `medg demo-data DIR` writes a small
 * synthetic dataset to try it on. The runtime (and tfjs) load only when a program runs.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CheckedModel } from "../compile.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { BuildIo } from "./build.js";
import { displayPath } from "./render.js";
import { selectModels } from "./select-models.js";

const runtimes = ["auto", "tfjs-node-gpu", "tfjs-node", "wasm", "cpu", "tfjs"];

export interface TfjsBuildCommandOptions {
  output?: string;
  model?: string;
  /** The tfjs runtime train.js prefers (`auto` tries tfjs-node-gpu, tfjs-node, wasm, cpu). */
  runtime?: string;
  seed?: string;
  weights?: { role?: string; file: string }[];
  /** Import specifier of the runtime in the emitted files (default: medg/runtime or dist's file URL). */
  runtimeModule?: string;
}

export interface TrainCommandOptions extends TfjsBuildCommandOptions {
  data?: string;
  out?: string;
  resume?: boolean;
  epochs?: string;
  batch?: string;
  monitor?: string;
  patience?: string;
  /** Threads of the wasm runtime. */
  threads?: string;
}

export interface DemoDataCommandOptions {
  task?: string;
  size?: string;
  count?: string;
  seed?: string;
}

/** The main.ts Io, with an optional in-place progress line for training. */
export interface TrainCommandIo extends BuildIo {
  progress?(text: string): void;
}

function seedOf(raw: string | undefined, io: { err(t: string): void }, command: string): number | null {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    io.err(`medg ${command}: --seed must be a non-negative integer, got '${raw}'`);
    return null;
  }
  return Number(raw);
}

/** Compiles and picks the models to build; null after printing why not. */
function modelsOf(file: string, options: TfjsBuildCommandOptions, io: BuildIo, command: string): { models: CheckedModel[]; all: number; file: string } | null {
  const selected = selectModels(file, options.model, io, command);
  return selected && { models: selected.models, all: selected.result.models.length, file: selected.result.file };
}

function checkRuntime(runtime: string | undefined, io: BuildIo, command: string): boolean {
  if (runtime === undefined || runtimes.includes(runtime)) return true;
  const s = didYouMean(runtime, runtimes);
  io.err(`medg ${command}: unknown --runtime '${runtime}'${s ? ` (did you mean '${s}'?)` : ""}; runtimes: ${runtimes.join(", ")}`);
  return false;
}

async function writeProgram(model: CheckedModel, outDir: string, options: TfjsBuildCommandOptions, seed: number, io: BuildIo): Promise<boolean> {
  const { buildTfjsProgram } = await import("../backends/tfjs/build.js");
  const result = await buildTfjsProgram(model, {
    outDir,
    seed,
    sourceText: io.readSource(model.span.file) ?? "",
    sourceName: displayPath(model.span.file, io.cwd),
    ...(options.weights ? { weights: options.weights } : {}),
    ...(options.runtimeModule ? { runtime: options.runtimeModule } : {}),
    ...(options.runtime && options.runtime !== "auto" ? { defaultRuntime: options.runtime } : {}),
  });
  io.print(result.diagnostics);
  return !hasErrors(result.diagnostics);
}

/** `medg build FILE --target tfjs [-o DIR] [--model NAME] [--runtime R] [--seed N] [--weights …]`. */
export async function buildTfjsCommand(file: string, options: TfjsBuildCommandOptions, io: BuildIo): Promise<number> {
  const seed = seedOf(options.seed, io, "build");
  if (seed === null || !checkRuntime(options.runtime, io, "build")) return 2;
  const picked = modelsOf(file, options, io, "build");
  if (!picked) return 1;
  if (options.output !== undefined && picked.models.length > 1) {
    io.err(`medg build: -o names one folder, but ${file} has ${picked.models.length} models (${picked.models.map((m) => m.name).join(", ")}); choose one with --model`);
    return 2;
  }
  const stem = join(dirname(picked.file), basename(picked.file, extname(picked.file)));
  for (const model of picked.models) {
    const out = options.output !== undefined ? resolve(io.cwd, options.output) : picked.all > 1 ? `${stem}.${model.name}-tfjs` : `${stem}-tfjs`;
    if (existsSync(out) && !statSync(out).isDirectory()) {
      io.err(`medg build: ${displayPath(out, io.cwd)} exists and is not a folder`);
      return 1;
    }
    if (!(await writeProgram(model, out, options, seed, io))) return 1;
    const shown = displayPath(out, io.cwd);
    io.out(`wrote ${shown}/: ${model.name} as a tfjs program (model.js, train.js, plan.json, init.safetensors, ${model.graph.nodes.length} nodes, ${model.graph.params.size} parameter tensors)`);
    io.out(`  train it: node ${join(shown, "train.js")} --data DIR`);
  }
  return 0;
}

/** runs/NAME, or runs/NAME-2, -3 … when NAME already holds a run. */
function defaultRunDir(cwd: string, model: string): string {
  const base = resolve(cwd, "runs", model);
  if (!existsSync(join(base, "run.json"))) return base;
  for (let n = 2; ; n++) if (!existsSync(join(`${base}-${n}`, "run.json"))) return `${base}-${n}`;
}

/** `medg train FILE [--data DIR] [--out runs/NAME] [--runtime R] [--resume] [--epochs N] …`: build, then train in this process. */
export async function trainCommand(file: string, options: TrainCommandOptions, io: TrainCommandIo): Promise<number> {
  const seed = seedOf(options.seed, io, "train");
  if (seed === null || !checkRuntime(options.runtime, io, "train")) return 2;
  const picked = modelsOf(file, options, io, "train");
  if (!picked) return 1;
  if (picked.models.length > 1) {
    io.err(`medg train: ${file} has ${picked.models.length} models (${picked.models.map((m) => m.name).join(", ")}); choose one with --model`);
    return 2;
  }
  const model = picked.models[0]!;
  const out = options.out !== undefined ? resolve(io.cwd, options.out) : options.resume ? resolve(io.cwd, "runs", model.name) : defaultRunDir(io.cwd, model.name);
  if (!options.resume && existsSync(join(out, "run.json"))) {
    io.err(`medg train: ${displayPath(out, io.cwd)} already holds a run; continue it with --resume or choose another --out`);
    return 1;
  }
  // The run folder keeps the program that produced it.
  const programDir = join(out, "program");
  if (!(await writeProgram(model, programDir, options, seed, io))) return 1;
  const argv = ["--out", out];
  if (options.data !== undefined) argv.push("--data", resolve(io.cwd, options.data));
  if (options.resume) argv.push("--resume");
  if (options.runtime !== undefined) argv.push("--runtime", options.runtime);
  if (options.seed !== undefined) argv.push("--seed", options.seed);
  for (const key of ["epochs", "batch", "monitor", "patience", "threads"] as const) if (options[key] !== undefined) argv.push(`--${key}`, options[key]!);
  const program = (await import(pathToFileURL(join(programDir, "train.js")).href)) as { main(argv: string[], io?: unknown): Promise<number> };
  return program.main(argv, { out: io.out, err: io.err, ...(io.progress ? { progress: io.progress } : {}) });
}

/** `medg demo-data DIR [--task classify|segment] [--size 64] [--count N] [--seed N]`. */
export async function demoDataCommand(dir: string, options: DemoDataCommandOptions, io: { out(t: string): void; err(t: string): void; cwd: string }): Promise<number> {
  const task = options.task ?? "classify";
  if (task !== "classify" && task !== "segment") {
    io.err(`medg demo-data: --task must be classify or segment, got '${task}'`);
    return 2;
  }
  const ints: Record<string, number | undefined> = {};
  for (const key of ["size", "count", "seed"] as const) {
    const raw = options[key];
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw)) {
      io.err(`medg demo-data: --${key} must be a non-negative integer, got '${raw}'`);
      return 2;
    }
    ints[key] = Number(raw);
  }
  const { writeDemoData } = await import("../runtime/demo-data.js");
  const target = resolve(io.cwd, dir);
  try {
    const summary = writeDemoData(target, { task, ...(ints.size !== undefined ? { size: ints.size } : {}), ...(ints.count !== undefined ? { count: ints.count } : {}), ...(ints.seed !== undefined ? { seed: ints.seed } : {}) });
    if (summary.task === "segment") {
      const n = summary.files.length / 2;
      io.out(`wrote ${n} images and ${n} masks to ${displayPath(target, io.cwd)} (segment; images/ and masks/, classes ${summary.classNames.join(", ")})`);
      return 0;
    }
    const counts = Object.entries(summary.counts)
      .map(([split, c]) => `${split}: ${Object.entries(c).map(([k, n]) => `${n} ${k}`).join(", ")}`)
      .join("; ");
    io.out(`wrote ${summary.files.length} images to ${displayPath(target, io.cwd)} (${task}; ${counts})`);
    return 0;
  } catch (e) {
    io.err(`medg demo-data: ${(e as Error).message}`);
    return 1;
  }
}
