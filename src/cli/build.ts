/**
 * `medg build FILE --target onnx`: compiles the file, exports each model (or the one named by
 * --model) and writes it atomically — a temporary file beside the target, then a rename — so a
 * reader never sees a half-written model.
 */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from "../backends/onnx/emit.js";
import { encodeModel, exportOnnx } from "../backends/onnx/export.js";
import type { CompileResult } from "../compile.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { displayPath } from "./render.js";
import { selectModels } from "./select-models.js";

export const targets = ["onnx"] as const;

export interface BuildOptions {
  target: string | undefined;
  output: string | undefined;
  model: string | undefined;
  opset: string | undefined;
  seed: string | undefined;
  keepBn: boolean;
  fixedBatch: string | undefined;
  weights: { role?: string; file: string }[];
}

export interface BuildIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  compile(file: string): CompileResult | string;
  print(diagnostics: readonly Diagnostic[]): void;
  readSource(file: string): string | undefined;
}

/** An integer option in [min, max], or the message saying why not. */
function intOption(name: string, raw: string | undefined, fallback: number | null, min: number, max: number): number | null | string {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min || v > max)
    return `${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`}, got '${raw}'`;
  return v;
}

/** Writes next to the target first, so the rename stays on one file system and is atomic. */
export function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function megabytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function build(file: string, options: BuildOptions, io: BuildIo): number {
  if (options.target === undefined) {
    io.err(`medg build: --target is required (${targets.join(", ")})`);
    return 2;
  }
  if (!(targets as readonly string[]).includes(options.target)) {
    const s = didYouMean(options.target, targets);
    io.err(`medg build: unknown --target '${options.target}'${s ? ` (did you mean '${s}'?)` : ""}; targets: ${targets.join(", ")}`);
    return 2;
  }
  const opset = intOption("--opset", options.opset, DEFAULT_OPSET, MIN_OPSET, MAX_OPSET);
  const seed = intOption("--seed", options.seed, 0, 0, Number.MAX_SAFE_INTEGER);
  const fixedBatch = intOption("--fixed-batch", options.fixedBatch, null, 1, Number.MAX_SAFE_INTEGER);
  for (const v of [opset, seed, fixedBatch])
    if (typeof v === "string") {
      io.err(`medg build: ${v}`);
      return 2;
    }

  const selected = selectModels(file, options.model, io, "build");
  if (!selected) return 1;
  const { result: r, models } = selected;
  if (options.output !== undefined && models.length > 1) {
    io.err(`medg build: -o names one file, but ${file} has ${models.length} models (${models.map((m) => m.name).join(", ")}); choose one with --model`);
    return 2;
  }

  const source = io.readSource(r.file) ?? "";
  const stem = join(dirname(r.file), basename(r.file, extname(r.file)));
  for (const model of models) {
    const out = options.output !== undefined ? resolve(io.cwd, options.output) : models.length > 1 || r.models.length > 1 ? `${stem}.${model.name}.onnx` : `${stem}.onnx`;
    const result = exportOnnx(model, {
      sourceText: source,
      opset: opset as number,
      seed: seed as number,
      keepBn: options.keepBn,
      fixedBatch: fixedBatch as number | null,
      weights: options.weights,
    });
    io.print(result.diagnostics);
    if (!result.model || hasErrors(result.diagnostics)) return 1;
    const bytes = encodeModel(result.model);
    try {
      writeAtomically(out, bytes);
    } catch (e) {
      io.err(`medg build: cannot write ${out}: ${(e as Error).message}`);
      return 1;
    }
    const graph = result.model.graph!;
    const folded = result.inference.folded ? `, ${result.inference.folded} bn folded` : "";
    io.out(`wrote ${displayPath(out, io.cwd)}: ${model.name}, ONNX opset ${opset as number}, ${graph.node!.length} nodes, ${graph.initializer!.length} initializers, ${megabytes(bytes.length)}${folded}`);
  }
  return 0;
}
