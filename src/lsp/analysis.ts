/** One check of one document version: the same `compileFile` as `medg check`, plus what the editor features read. */
import { compileFile, type CompileResult } from "../compile.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Env } from "../semantics/env.js";
import type { SourceHost } from "../semantics/modules.js";
import { stdlibDir } from "../semantics/modules.js";
import type * as A from "../syntax/ast.js";
import { parse } from "../syntax/parse.js";
import type { LineMap } from "../syntax/span.js";
import { Capture } from "./capture.js";
import { NodeIndex } from "./node-index.js";

export interface Analysis {
  path: string;
  version: number;
  text: string;
  result: CompileResult;
  ast: A.Module;
  /** Lexing and parsing problems of the document itself. */
  syntaxErrors: readonly Diagnostic[];
  lines: LineMap;
  /** The document's names over its imports over the stdlib; absent only when the compiler threw. */
  env: Env | undefined;
  capture: Capture;
  /** Files (outside the stdlib) that the document imports, directly or not. */
  imports: Set<string>;
  /** Set when the compiler threw: the message, shown as a diagnostic instead of a crash. */
  failure?: string;
  /** Built on the first hover: most checks are never hovered. */
  index(): NodeIndex;
}

export function analyze(path: string, text: string, version: number, root: string, host: SourceHost): Analysis {
  let result: CompileResult;
  let capture = new Capture();
  let failure: string | undefined;
  try {
    result = compileFile(path, { root, host, text, trace: capture });
  } catch (e) {
    // The compiler promises never to throw; if it does, the editor keeps working on what parses.
    failure = e instanceof Error ? `${e.message}${e.stack ? `\n${e.stack.split("\n").slice(1, 4).join("\n")}` : ""}` : String(e);
    result = { file: path, models: [], diagnostics: [] };
    capture = new Capture();
  }
  const module = capture.modules.get(path);
  const parsed = module?.parsed ?? safeParse(text, path);
  const imports = new Set([...capture.modules.keys()].filter((p) => p !== path && !p.startsWith(stdlibDir)));
  let index: NodeIndex | undefined;
  const analysis: Analysis = {
    path,
    version,
    text,
    result,
    ast: parsed.module,
    syntaxErrors: parsed.diagnostics,
    lines: parsed.lines,
    env: module?.env,
    capture,
    imports,
    index: () => (index ??= new NodeIndex(result.models, capture)),
  };
  if (failure !== undefined) analysis.failure = failure;
  return analysis;
}

function safeParse(text: string, path: string) {
  try {
    return parse(text, path);
  } catch {
    return parse("", path);
  }
}
