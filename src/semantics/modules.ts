import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type * as A from "../syntax/ast.js";
import { packageRoot } from "../package-root.js";
import { parse, type ParseResult } from "../syntax/parse.js";
import { LineMap, type Span } from "../syntax/span.js";
import { EvalContext } from "./context.js";
import { Env } from "./env.js";
import { builtinEnv, callable } from "./evaluate.js";

/** Where source text comes from: the file system, or an editor's open buffers in front of it. */
export interface SourceHost {
  read(path: string): string | undefined;
}

export const fileHost: SourceHost = {
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
};

export const stdlibDir = join(packageRoot(), "stdlib");

export interface LoadedModule {
  path: string;
  text: string;
  parsed: ParseResult;
  /** The module's own top-level names, over its imports, over the stdlib prelude. */
  env: Env;
  diagnostics: Diagnostic[];
}

const emptySpan = (file: string): Span => new LineMap("").span(file, 0, 0);

/** Defines a module's defs and lets into `env`; duplicate names are MEDG209. */
export function defineItems(items: readonly (A.DefStmt | A.LetStmt)[], env: Env, diagnostics: Diagnostic[], firstSeen = new Map<string, Span>()): void {
  for (const item of items) {
    const name = item.kind === "def" ? item.name : item.binding.name;
    const span = item.kind === "def" ? item.nameSpan : item.binding.nameSpan;
    const previous = firstSeen.get(name);
    if (previous) {
      const where = previous.file === span.file ? `line ${previous.start.line}` : `${basename(previous.file)}:${previous.start.line}`;
      diagnostics.push(diagnostic("MEDG209", span, `'${name}' is already defined at ${where}`, { related: [{ span: previous, message: "first definition" }] }));
      continue;
    }
    firstSeen.set(name, span);
    if (item.kind === "def") env.define(name, { kind: "value", value: callable(name, item.nameSpan, { type: "def", def: item, env }), span });
    else env.define(name, { kind: "lazy", expr: item.binding.value, env, span, state: "pending" });
  }
}

interface Prelude {
  env: Env;
  diagnostics: Diagnostic[];
  files: string[];
}

const preludeCache = new Map<string, { stamp: string; prelude: Prelude }>();

function listMedg(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listMedg(p));
    else if (entry.name.endsWith(".medg")) out.push(p);
  }
  return out;
}

/**
 * The stdlib prelude: every def of every stdlib file, visible everywhere without an import.
 * Parsed once per process (and again only when a stdlib file changes).
 */
export function loadPrelude(dir = stdlibDir): Prelude {
  const files = listMedg(dir);
  const stamp = files.map((f) => `${f}:${statSync(f).mtimeMs}`).join("|");
  const cached = preludeCache.get(dir);
  if (cached && cached.stamp === stamp) return cached.prelude;
  const env = new Env(builtinEnv(emptySpan("<builtin>")));
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, Span>();
  for (const file of files) {
    const parsed = parse(readFileSync(file, "utf8"), file);
    diagnostics.push(...parsed.diagnostics);
    defineItems(parsed.module.items.filter((i): i is A.DefStmt | A.LetStmt => i.kind === "def" || i.kind === "let"), env, diagnostics, seen);
  }
  const prelude = { env, diagnostics, files };
  preludeCache.set(dir, { stamp, prelude });
  return prelude;
}

export interface ProgramOptions {
  /** Imports may not leave this directory (nor the stdlib). */
  root: string;
  host?: SourceHost;
  stdlib?: string;
  /** Called as each module finishes loading (after the modules it imports). */
  onLoad?: (module: LoadedModule) => void;
}

/** Loads a file and its imports, resolving names module by module. */
export class Program {
  private readonly modules_ = new Map<string, LoadedModule>();
  private readonly loading: string[] = [];
  readonly host: SourceHost;
  readonly root: string;
  readonly prelude: Prelude;
  private readonly onLoad: ((module: LoadedModule) => void) | undefined;

  constructor(options: ProgramOptions) {
    this.host = options.host ?? fileHost;
    this.root = resolve(options.root);
    this.prelude = loadPrelude(options.stdlib ?? stdlibDir);
    this.onLoad = options.onLoad;
  }

  /** Loads a module from text already in hand (or from the host). */
  load(path: string, text?: string): LoadedModule {
    const abs = resolve(path);
    const existing = this.modules_.get(abs);
    if (existing) return existing;
    const source = text ?? this.host.read(abs) ?? "";
    const parsed = parse(source, abs);
    const diagnostics = [...parsed.diagnostics];
    const importsEnv = new Env(this.prelude.env);
    const env = new Env(importsEnv);
    const module: LoadedModule = { path: abs, text: source, parsed, env, diagnostics };
    this.modules_.set(abs, module);
    this.loading.push(abs);
    try {
      for (const item of parsed.module.items) if (item.kind === "import") this.resolveImport(module, item, importsEnv);
    } finally {
      this.loading.pop();
    }
    defineItems(parsed.module.items.filter((i): i is A.DefStmt | A.LetStmt => i.kind === "def" || i.kind === "let"), env, diagnostics);
    this.onLoad?.(module);
    return module;
  }

  private resolveImport(module: LoadedModule, item: A.ImportStmt, importsEnv: Env): void {
    const target = resolve(dirname(module.path), item.path);
    const inside = (dir: string) => {
      const r = relative(dir, target);
      return r !== "" && !r.startsWith("..") && !r.startsWith(sep) && !/^[A-Za-z]:/.test(r);
    };
    if (!inside(this.root) && !inside(resolve(stdlibDir))) {
      module.diagnostics.push(diagnostic("MEDG208", item.pathSpan, `import "${item.path}" leaves the project root (${basename(this.root)}/); imports may only reach files inside it or the stdlib`));
      return;
    }
    if (!item.path.endsWith(".medg")) {
      module.diagnostics.push(diagnostic("MEDG206", item.pathSpan, `import "${item.path}": only .medg files can be imported`));
      return;
    }
    if (this.loading.includes(target)) {
      const cycle = [...this.loading.slice(this.loading.indexOf(target)), target].map((p) => relative(this.root, p) || p);
      module.diagnostics.push(diagnostic("MEDG207", item.pathSpan, `import cycle: ${cycle.join(" -> ")}`));
      return;
    }
    if (!this.modules_.has(target) && this.host.read(target) === undefined) {
      module.diagnostics.push(diagnostic("MEDG206", item.pathSpan, `import "${item.path}": no such file (${relative(this.root, target)} in the project)`));
      return;
    }
    const imported = this.load(target);
    for (const name of imported.env.ownNames()) {
      const binding = imported.env.ownBinding(name)!;
      if (!importsEnv.has(name)) importsEnv.define(name, binding);
    }
  }

  modules(): LoadedModule[] {
    return [...this.modules_.values()];
  }

  /** Diagnostics of a module and every module it imports (each once). */
  allDiagnostics(): Diagnostic[] {
    return [...this.modules_.values()].flatMap((m) => m.diagnostics);
  }
}

/** A fresh evaluation context (one per model). */
export function newContext(): EvalContext {
  return new EvalContext();
}
