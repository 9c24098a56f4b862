import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compileFile, type CompileResult } from "../compile.js";
import { packageRoot } from "../package-root.js";
import { diagnostic, hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from "../backends/onnx/emit.js";
import { build } from "./build.js";
import { renderText, toJson } from "./render.js";
import { renderSummary, summarize } from "./summary.js";

const usage = `medg — a compiler for medical-imaging model files

usage:
  medg check FILE... [--format text|json]     diagnostics; exit 1 when any error
  medg summary FILE [--model NAME] [--json]   layers, parameters and MACs of each model
  medg build FILE --target onnx [-o OUT] [--model NAME]
                                              export each model (OUT default: FILE's name, .onnx)
  medg build FILE --target tfjs [-o DIR] [--model NAME] [--runtime R]
                                              a trainable tfjs program (model.js, train.js, plan.json)
  medg train FILE --data DIR [--out runs/NAME] [--runtime R] [--resume] [--epochs N]
                                              build and train; checkpoints, metrics and curves in --out
  medg demo-data DIR [--task classify] [--size 64] [--count N]
                                              a small synthetic dataset (16-bit PNG, ImageFolder layout)
  medg fmt FILE... [--check]                  format in place; --check lists files that would change
  medg lsp                                    the language server, on stdio
  medg --version

options:
  --weights [ROLE=]FILE   pretrained weights (.safetensors) to check against the model's names and
                          shapes (build exports them); names in FILE are relative to ROLE
                          (e.g. backbone=resnet50.safetensors)
  --root DIR              imports may not leave DIR (default: nearest folder with package.json, medg.json or .git)

train options:
  --runtime R             tfjs runtime: auto (tfjs-node-gpu, then tfjs-node, then wasm, then cpu), tfjs-node-gpu,
                          tfjs-node, wasm (@tensorflow/tfjs-backend-wasm), cpu (pure JavaScript)
  --threads N             threads of the wasm runtime (default 1)
  --data DIR              ImageFolder (DIR/train/<class>/…, DIR/val/<class>/…) when the model has no data statement
  --out DIR, --resume     the run folder (default runs/MODEL); continue its last checkpoint
  --epochs N, --batch N   override the recipe's epochs per stage and batch size (quick runs)
  --monitor METRIC, --patience N   the metric that picks the best checkpoint; early stopping

build options:
  --opset N               ONNX opset, ${MIN_OPSET} to ${MAX_OPSET} (default ${DEFAULT_OPSET})
  --seed N                seed of the init rules for parameters no weights file gives (default 0)
  --keep-bn               keep BatchNormalization nodes instead of folding them into the conv before
  --fixed-batch N         a fixed batch size instead of the symbolic N`;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
}

const processIo: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`), cwd: process.cwd() };

/** The nearest folder holding package.json, medg.json or .git; else the file's own folder. */
export function projectRoot(file: string): string {
  let dir = dirname(resolve(file));
  for (;;) {
    if (["package.json", "medg.json", ".git"].some((m) => existsSync(join(dir, m)))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(resolve(file));
    dir = up;
  }
}

function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

interface Options {
  root: string | undefined;
  weights: { role?: string; file: string }[];
}

/** `backbone=w.safetensors` or `w.safetensors` (full names). */
function parseWeights(specs: readonly string[], cwd: string): { role?: string; file: string }[] {
  return specs.map((s) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(s);
    return m ? { role: m[1]!, file: resolve(cwd, m[2]!) } : { file: resolve(cwd, s) };
  });
}

function compile(file: string, options: Options, io: Io): CompileResult | string {
  const abs = resolve(io.cwd, file);
  if (readSource(abs) === undefined) return `medg: cannot read ${file}`;
  return compileFile(abs, { root: options.root ? resolve(io.cwd, options.root) : projectRoot(abs), weights: options.weights });
}

function printDiagnostics(diagnostics: readonly Diagnostic[], io: Io, to: (t: string) => void): void {
  for (const d of diagnostics) if (d.severity !== "info") to(renderText(d, readSource, io.cwd));
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        json: { type: "boolean" },
        model: { type: "string" },
        root: { type: "string" },
        weights: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        target: { type: "string" },
        output: { type: "string", short: "o" },
        opset: { type: "string" },
        seed: { type: "string" },
        "keep-bn": { type: "boolean" },
        "fixed-batch": { type: "string" },
        check: { type: "boolean" },
        runtime: { type: "string" },
        threads: { type: "string" },
        data: { type: "string" },
        out: { type: "string" },
        resume: { type: "boolean" },
        epochs: { type: "string" },
        batch: { type: "string" },
        monitor: { type: "string" },
        patience: { type: "string" },
        task: { type: "string" },
        size: { type: "string" },
        count: { type: "string" },
      },
    });
  } catch (e) {
    io.err(`medg: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...files] = positionals;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
    io.out(pkg.version);
    return 0;
  }
  if (values.help || !command) {
    io.out(usage);
    return command || values.help ? 0 : 2;
  }
  if (files.length === 0 && ["check", "summary", "build", "fmt", "train", "demo-data"].includes(command)) {
    io.err(`medg ${command}: no file given\n\n${usage}`);
    return 2;
  }
  const options: Options = { root: values.root, weights: parseWeights(values.weights ?? [], io.cwd) };
  switch (command) {
    case "check":
      return check(files, values.format ?? "text", options, io);
    case "lsp": {
      const { lspCommand } = await import("./lsp.js");
      return lspCommand();
    }
    case "fmt": {
      // prettier is loaded only for formatting: the other commands start without it.
      const { fmtCommand } = await import("./fmt.js");
      return fmtCommand(files, { check: values.check ?? false }, io);
    }
    case "summary":
      return summary(files, values.model, values.json ?? false, options, io);
    case "demo-data": {
      const { demoDataCommand } = await import("./train.js");
      const demo: { task?: string; size?: string; count?: string; seed?: string } = {};
      for (const k of ["task", "size", "count", "seed"] as const) if (values[k] !== undefined) demo[k] = values[k];
      return demoDataCommand(files[0]!, demo, io);
    }
    case "train": {
      const { trainCommand } = await import("./train.js");
      const buildIo = { ...io, compile: (file: string) => compile(file, options, io), print: (d: readonly Diagnostic[]) => printDiagnostics(d, io, io.err), readSource };
      const progress = process.stdout.isTTY ? { progress: (t: string) => process.stdout.write(`\r\x1b[K${t}`) } : {};
      const train: Record<string, unknown> = { weights: options.weights };
      for (const k of ["data", "out", "epochs", "batch", "monitor", "patience", "runtime", "threads", "model", "seed"] as const) if (values[k] !== undefined) train[k] = values[k];
      if (values.resume) train["resume"] = true;
      return trainCommand(files[0]!, train, { ...buildIo, ...progress });
    }
    case "build": {
      if (files.length > 1) {
        io.err(`medg build: one file at a time, got ${files.length}\n\n${usage}`);
        return 2;
      }
      if (values.target === "tfjs") {
        const { buildTfjsCommand } = await import("./train.js");
        const tfjsOptions: Record<string, unknown> = { weights: options.weights };
        for (const k of ["output", "model", "runtime", "seed"] as const) if (values[k] !== undefined) tfjsOptions[k] = values[k];
        return buildTfjsCommand(files[0]!, tfjsOptions, { ...io, compile: (file) => compile(file, options, io), print: (d) => printDiagnostics(d, io, io.err), readSource });
      }
      const buildOptions = {
        target: values.target,
        output: values.output,
        model: values.model,
        opset: values.opset,
        seed: values.seed,
        keepBn: values["keep-bn"] ?? false,
        fixedBatch: values["fixed-batch"],
        weights: options.weights,
      };
      return build(files[0]!, buildOptions, {
        ...io,
        compile: (file) => compile(file, options, io),
        print: (diagnostics) => printDiagnostics(diagnostics, io, io.err),
        readSource,
      });
    }
    default: {
      const s = didYouMean(command, ["check", "summary", "build", "train", "demo-data", "fmt", "lsp"]);
      io.err(`medg: unknown command '${command}'${s ? ` (did you mean '${s}'?)` : ""}\n\n${usage}`);
      return 2;
    }
  }
}

function check(files: string[], format: string, options: Options, io: Io): number {
  if (format !== "text" && format !== "json") {
    io.err(`medg check: --format must be text or json, got '${format}'`);
    return 2;
  }
  const all: Diagnostic[] = [];
  let failed = false;
  for (const file of files) {
    const r = compile(file, options, io);
    if (typeof r === "string") {
      io.err(r);
      failed = true;
      continue;
    }
    all.push(...r.diagnostics);
  }
  const shown = all.filter((d) => d.severity !== "info");
  if (format === "json") io.out(JSON.stringify(shown.map((d) => toJson(d, io.cwd)), null, 2));
  else {
    printDiagnostics(shown, io, io.out);
    const errors = shown.filter((d) => d.severity === "error").length;
    const warnings = shown.length - errors;
    io.out(`${files.length} file${files.length === 1 ? "" : "s"} checked: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
  }
  return failed || hasErrors(all) ? 1 : 0;
}

function summary(files: string[], modelName: string | undefined, json: boolean, options: Options, io: Io): number {
  let status = 0;
  const outputs: unknown[] = [];
  for (const file of files) {
    const r = compile(file, options, io);
    if (typeof r === "string") {
      io.err(r);
      status = 1;
      continue;
    }
    const diagnostics = [...r.diagnostics];
    let models = r.models;
    if (modelName !== undefined) {
      models = models.filter((m) => m.name === modelName);
      if (models.length === 0) {
        const s = didYouMean(modelName, r.models.map((m) => m.name));
        const span = r.models[0]?.span ?? { file: r.file, start: { offset: 0, line: 1, col: 1 }, end: { offset: 0, line: 1, col: 1 } };
        diagnostics.push(diagnostic("MEDG211", span, `no model named '${modelName}' in ${file}${s ? ` (did you mean '${s}'?)` : ""}; models: ${r.models.map((m) => m.name).join(", ") || "none"}`));
      }
    }
    // Diagnostics of models not asked for stay out of the way.
    const others = r.models.filter((m) => !models.includes(m));
    const relevant = diagnostics.filter((d) => !others.some((m) => m.diagnostics.includes(d)));
    printDiagnostics(relevant, io, io.err);
    if (hasErrors(relevant)) status = 1;
    for (const m of models) {
      const s = summarize(m);
      if (json) outputs.push(s);
      else io.out(`${renderSummary(s)}\n`);
    }
  }
  if (json) io.out(JSON.stringify(outputs.length === 1 ? outputs[0] : outputs, null, 2));
  return status;
}
