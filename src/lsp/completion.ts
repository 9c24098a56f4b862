/**
 * Completion. The context comes from the tokens before the cursor, not from the AST: the text being
 * typed rarely parses. Names come from the latest check of the document (one keystroke old at most).
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { IToken } from "chevrotain";
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Range } from "vscode-languageserver/node.js";
import { policy, policyNouns, type PolicyKind } from "../policy/registry.js";
import type { Binding, Env } from "../semantics/env.js";
import type { Target } from "../semantics/evaluate.js";
import { stdlibDir } from "../semantics/modules.js";
import { formatSignature } from "../semantics/signature.js";
import { isCallable } from "../semantics/values.js";
import { medgLexer, policyWords, roleWords, stageClauseWords } from "../syntax/tokens.js";
import type { Analysis } from "./analysis.js";
import { bindingArgs, defOrigin, defSignature, sourceOf, specArgs, wiringSignatures } from "./describe.js";
import { policyKindOfKeyword } from "./resolve.js";

export interface CompletionRequest {
  /** The document's current text and the cursor's offset in it. */
  text: string;
  offset: number;
  /** The latest check of the document, possibly of an older version. */
  analysis: Analysis | undefined;
  /** Set when the client asked because a trigger character was typed. */
  triggerCharacter?: string;
  open: (file: string) => string | undefined;
  toRange: (start: number, end: number) => Range;
  root: string;
}

const statementWords = ["input", ...roleWords, ...policyWords, "stage", "let", "def"] as const;
const topWords = ["model", "def", "let", "import"];
const expressionKeywords = ["if", "else", "for", "in", "and", "or", "not", "true", "false", "none", "tap", "from", "let"];
const isStatementWord = (w: string) => (statementWords as readonly string[]).includes(w) && w !== "let" && w !== "def";
const isClauseWord = (w: string) => (stageClauseWords as readonly string[]).includes(w);
const inFields = ["c", "d", "h", "w", "last", "rank", "shape"];

interface Frame {
  open: string;
  /** The name called with this parenthesis (`conv` in `conv(`). */
  callee?: string;
  /** The statement the callee's arguments belong to, for policy entries (`loss focal(`). */
  statement?: string;
  clause?: string;
  model?: boolean;
}

interface Statement {
  word: string;
  clause?: string;
}

/** What the tokens before the cursor say about where it is. */
interface Scan {
  tokens: IToken[];
  last: IToken | undefined;
  stack: Frame[];
  statement: Statement | undefined;
  /** `def name(params)` being written at the top level or in a model: its parameters are in scope. */
  params: string[];
  /** Names bound by `let` and `for` before the cursor in the current item. */
  locals: string[];
  modelName?: string;
  topItem?: string;
}

export function complete(req: CompletionRequest): CompletionItem[] {
  const { text, offset } = req;
  const start = itemStart(text, offset);
  const before = text.slice(start, offset);
  const lexed = medgLexer.tokenize(before);
  const comments = lexed.groups["comments"] ?? [];
  const lastComment = comments[comments.length - 1];
  if (lastComment && (lastComment.endOffset ?? 0) + 1 >= before.length) return [];
  let tokens = lexed.tokens;
  const lastTok = tokens[tokens.length - 1];
  if (lastTok?.tokenType.name === "UnterminatedString" && (lastTok.endOffset ?? 0) + 1 >= before.length) {
    const prev = tokens[tokens.length - 2];
    return prev?.image === "import" ? importPaths(req, start + lastTok.startOffset + 1, lastTok.image.slice(1)) : [];
  }
  // The word being typed is the client's to filter by; the context is what comes before it.
  const prefix = /[A-Za-z_][A-Za-z0-9_]*$/.exec(before)?.[0] ?? "";
  if (prefix && lastTok && (lastTok.endOffset ?? 0) + 1 === before.length && /^[A-Za-z_]/.test(lastTok.image)) tokens = tokens.slice(0, -1);
  // Typing a number, or its exponent (`1e`), asks for nothing.
  if (/[0-9.]$/.test(before.slice(0, before.length - prefix.length)) && /\d[A-Za-z_]*$/.test(before)) return [];
  const scan = scanTokens(tokens);
  const line = lineOf(before, before.length);
  const space = req.triggerCharacter === " ";
  const items = suggestions(req, scan, line, space);
  return dedupe(items);
}

function lineOf(text: string, offset: number): number {
  let n = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** The start of the top-level item around the cursor: the last line starting with a top-level keyword. */
function itemStart(text: string, offset: number): number {
  const re = /^(?:model|def|let|import)\b/gm;
  let start = 0;
  for (let m = re.exec(text); m && m.index < offset; m = re.exec(text)) start = m.index;
  return start;
}

function scanTokens(tokens: IToken[]): Scan {
  const scan: Scan = { tokens, last: tokens[tokens.length - 1], stack: [], statement: undefined, params: [], locals: [] };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    const top = scan.stack[scan.stack.length - 1];
    const image = t.image;
    if (i === 0 && topWords.includes(image)) scan.topItem = image;
    if (image === "(" || image === "[" || image === "{") {
      const frame: Frame = { open: image };
      if (image === "(" && prev && /^[A-Za-z_]/.test(prev.image)) frame.callee = prev.image;
      if (image === "{" && tokens[i - 2]?.image === "model") {
        frame.model = true;
        scan.modelName = prev?.image;
      }
      if (scan.statement) {
        frame.statement = scan.statement.word;
        if (scan.statement.clause) frame.clause = scan.statement.clause;
      }
      scan.stack.push(frame);
      continue;
    }
    if (image === ")" || image === "]" || image === "}") {
      const want = image === ")" ? "(" : image === "]" ? "[" : "{";
      const at = scan.stack.map((f) => f.open).lastIndexOf(want);
      if (at >= 0) {
        if (scan.stack[at]!.model) scan.statement = undefined;
        scan.stack.length = at;
      }
      continue;
    }
    if ((image === "let" || image === "for") && next && /^[A-Za-z_]/.test(next.image)) scan.locals.push(next.image);
    if (image === "def" && next && tokens[i + 2]?.image === "(") {
      scan.params = [];
      let depth = 0;
      for (let j = i + 2; j < tokens.length; j++) {
        const u = tokens[j]!;
        if (u.image === "(" || u.image === "[") depth++;
        else if (u.image === ")" || u.image === "]") {
          if (--depth === 0) break;
        } else if (depth === 1 && /^[A-Za-z_]/.test(u.image) && (tokens[j - 1]?.image === "(" || tokens[j - 1]?.image === ",")) scan.params.push(u.image);
      }
    }
    if (top?.model && /^[A-Za-z_]/.test(image) && next?.image !== ":") {
      const sameLine = prev !== undefined && prev.endLine === t.startLine;
      if (scan.statement?.word === "stage" && isClauseWord(image) && (sameLine || prev?.image === ",")) {
        scan.statement.clause = image;
        continue;
      }
      const starts = !prev || prev.image === "{" || prev.image === ";" || prev.image === "|" || !sameLine;
      if (starts && (isStatementWord(image) || image === "let" || image === "def") && prev?.image !== "." && prev?.image !== "=") scan.statement = { word: image };
    }
  }
  return scan;
}

function suggestions(req: CompletionRequest, scan: Scan, line: number, space: boolean): CompletionItem[] {
  const { last, stack, statement } = scan;
  const top = stack[stack.length - 1];
  const lastImage = last?.image;
  if (lastImage === ".") return memberItems(req, scan);
  if (lastImage === "from") return tapItems(req);
  if (lastImage === "tap" || lastImage === "import" || lastImage === "def" || lastImage === "model" || lastImage === "let" || lastImage === "for") return [];
  // A space completes only right after a word that asks for something (`loss `, `freeze `, `from `).
  const afterWord = lastImage !== undefined && (isStatementWord(lastImage) || isClauseWord(lastImage) || lastImage === "stage");
  if (space && !afterWord) return [];

  if (top && !top.model) {
    if (top.open === "(" && top.callee) {
      if (lastImage === "(" || lastImage === ",") return [...argumentItems(req, scan, top), ...expressionItems(req, scan, top.statement)];
      if (lastImage === "=") {
        const argName = scan.tokens[scan.tokens.length - 2]?.image;
        const before = scan.tokens[scan.tokens.length - 3]?.image;
        if (argName && (before === "(" || before === ",")) {
          const choices = argumentChoices(req, top, argName);
          if (choices.length) return choices;
        }
      }
    }
    return expressionItems(req, scan, top.statement);
  }
  if (top?.model) {
    const atStart = !statement || lastImage === "{" || lastImage === ";";
    if (atStart) return keywordItems(statementWords, "statement");
    const word = statement!.word;
    // A new line after a complete expression starts the next statement (an expression goes on only after an operator).
    const fresh = last !== undefined && lineIndex(last) < line && endsExpression(lastImage) && lastImage !== word && lastImage !== statement!.clause ? keywordItems(statementWords, "statement") : [];
    if (word === "stage") {
      const clause = statement!.clause;
      if (lastImage === "stage") return keywordItems(stageClauseWords, "stage clause");
      if ((clause === "freeze" || clause === "unfreeze") && (lastImage === clause || lastImage === ",")) return [...labelPathItems(req, scan, []), ...(lastImage === "," ? keywordItems(stageClauseWords, "stage clause") : [])];
      if ((clause === "schedule" || clause === "optimizer") && lastImage === clause) return policyItems(clause);
      if ((clause === "lr" || clause === "epochs" || clause === "batch") && lastImage === clause) return [];
      return [...keywordItems(stageClauseWords, "stage clause"), ...fresh];
    }
    const kind = policyKindOfKeyword(word);
    if (kind) {
      const continues =
        lastImage === word ||
        (word === "loss" && (lastImage === "+" || lastImage === "*")) ||
        (word === "augment" && lastImage === "|") ||
        (word === "metrics" && lastImage === ",");
      if (continues) return [...policyItems(kind), ...(lastImage === "|" ? keywordItems(statementWords, "statement") : [])];
      return fresh;
    }
    if (word === "epochs" || word === "batch" || word === "seed") return fresh;
    if (word === "input") {
      if (lastImage === "input") return policyItems("input");
      if (lastImage === "|") return [...expressionItems(req, scan, word), ...keywordItems(statementWords, "statement")];
      return fresh;
    }
    // Roles, and lets and defs inside the model: blocks.
    if (lastImage === "|") return [...expressionItems(req, scan, word), ...keywordItems(statementWords, "statement")];
    return fresh.length ? fresh : expressionItems(req, scan, word);
  }
  // Top level.
  if (!last) return keywordItems(topWords, "top-level");
  if (lineIndex(last) < line && endsExpression(lastImage)) return [...keywordItems(topWords, "top-level"), ...(scan.topItem === "import" ? [] : expressionItems(req, scan, undefined))];
  if (scan.topItem === "import") return [];
  return expressionItems(req, scan, undefined);
}

/** 0-based line of a token's end in the scanned text. */
function lineIndex(t: IToken): number {
  return (t.endLine ?? 1) - 1;
}

/** Whether a token can end an expression (so a new line after it likely starts a new statement). */
function endsExpression(image: string | undefined): boolean {
  if (!image) return true;
  return /^[A-Za-z_0-9.'"]/.test(image) || image === ")" || image === "]" || image === "}";
}

function keywordItems(words: readonly string[], what: string): CompletionItem[] {
  return words.map((w, i) => ({ label: w, kind: CompletionItemKind.Keyword, detail: what, sortText: `0${String(i).padStart(3, "0")}` }));
}

function policyItems(kind: PolicyKind): CompletionItem[] {
  return [...policy[kind].values()].map((e) => ({
    label: e.name,
    kind: CompletionItemKind.EnumMember,
    detail: `${policyNouns[kind]}: ${formatSignature(e)}`,
    documentation: { kind: "markdown", value: e.doc },
    sortText: `1${e.name}`,
  }));
}

/** Ops, defs, builtins and locals, ordered for the statement (backbones first after `backbone`…). */
function expressionItems(req: CompletionRequest, scan: Scan, statement: string | undefined): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const p of scan.params) out.push({ label: p, kind: CompletionItemKind.Variable, detail: "parameter", sortText: `0${p}` });
  for (const l of scan.locals) out.push({ label: l, kind: CompletionItemKind.Variable, detail: "local", sortText: `0${l}` });
  if (scan.params.length || scan.topItem === "def") out.push({ label: "in", kind: CompletionItemKind.Keyword, detail: "the tensor entering the def", sortText: "0in" });
  const env = req.analysis?.env;
  if (env) out.push(...envItems(env, statement, req));
  for (const w of expressionKeywords) out.push({ label: w, kind: CompletionItemKind.Keyword, sortText: `9${w}` });
  return out;
}

const preludeCache = new WeakMap<Env, CompletionItem[]>();

function envItems(env: Env, statement: string | undefined, req: CompletionRequest): CompletionItem[] {
  const seen = new Set<string>();
  const out: CompletionItem[] = [];
  // The stdlib and builtins sit at the root of every environment: their items are made once.
  let root: Env = env;
  while (root.parent?.parent) root = root.parent;
  for (let e: Env | undefined = env; e && e !== root; e = e.parent) {
    for (const name of e.ownNames()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const item = bindingItem(name, e.ownBinding(name)!, req);
      if (item) out.push(item);
    }
  }
  let shared = preludeCache.get(root);
  if (!shared) {
    shared = [];
    for (let e: Env | undefined = root; e; e = e.parent) for (const name of e.ownNames()) {
      const item = bindingItem(name, e.ownBinding(name)!, req);
      if (item) shared.push(item);
    }
    preludeCache.set(root, shared);
  }
  for (const item of shared) if (!seen.has(item.label)) out.push(item);
  return out.map((item) => ({ ...item, sortText: `${rank(item, statement)}${item.label}` }));
}

/** 2: what the statement asks for first, 3: user definitions, 4: other stdlib defs, 5: ops and builtins. */
function rank(item: CompletionItem, statement: string | undefined): number {
  const origin = (item.data as { origin?: string } | undefined)?.origin ?? "";
  if (statement === "backbone" && origin === "stdlib backbone") return 2;
  if (statement === "head" && origin === "stdlib head") return 2;
  if (origin === "user") return 3;
  if (origin.startsWith("stdlib")) return 4;
  return 5;
}

function bindingItem(name: string, binding: Binding, req: CompletionRequest): CompletionItem | undefined {
  if (binding.kind === "lazy") return { label: name, kind: CompletionItemKind.Variable, detail: "let", data: { origin: binding.span.file.startsWith(stdlibDir) ? "stdlib" : "user" } };
  const v = binding.value;
  if (!isCallable(v)) return { label: name, kind: CompletionItemKind.Variable };
  const target = v.target as Target;
  switch (target.type) {
    case "def": {
      const file = target.def.span.file;
      const lib = file.startsWith(stdlibDir);
      const origin = lib ? defOrigin(file).replace(/ \(.*$/, "") : "user";
      const item: CompletionItem = { label: name, kind: CompletionItemKind.Class, detail: `${defSignature(target.def, sourceOf(file, req.open))}  — ${defOrigin(file, req.root)}`, data: { origin } };
      if (target.def.doc) item.documentation = { kind: "markdown", value: target.def.doc };
      return item;
    }
    case "op":
      return { label: name, kind: CompletionItemKind.Function, detail: `operator ${formatSignature({ ...target.op, name })}`, documentation: { kind: "markdown", value: target.op.doc }, data: { origin: "op" } };
    case "builtin":
      return { label: name, kind: CompletionItemKind.Function, detail: `builtin ${formatSignature(target.builtin)}`, documentation: { kind: "markdown", value: target.builtin.doc }, data: { origin: "builtin" } };
    case "combinator":
    case "task_classes": {
      const sig = wiringSignatures[target.type === "combinator" ? target.name : "task_classes"];
      return { label: name, kind: CompletionItemKind.Function, detail: sig ? formatSignature(sig) : name, ...(sig ? { documentation: { kind: "markdown" as const, value: sig.doc } } : {}), data: { origin: "builtin" } };
    }
  }
}

/** `name=` for each argument of the callee not given yet, by name or by position. */
function argumentItems(req: CompletionRequest, scan: Scan, frame: Frame): CompletionItem[] {
  const tokens = scan.tokens;
  const given = new Set<string>();
  let positional = 0;
  let depth = 0;
  // Walking back to the call's parenthesis, argument by argument; the one at the cursor does not count.
  let current = true;
  let named = false;
  let empty = true;
  const endArgument = () => {
    if (!current && !empty && !named) positional++;
    current = false;
    named = false;
    empty = true;
  };
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i]!.image;
    if (t === ")" || t === "]") depth++;
    else if (t === "(" || t === "[") {
      if (depth === 0) {
        endArgument();
        break;
      }
      depth--;
    } else if (depth === 0 && t === ",") {
      endArgument();
      continue;
    } else if (depth === 0 && t === "=" && (tokens[i - 2]?.image === "(" || tokens[i - 2]?.image === ",")) {
      given.add(tokens[i - 1]!.image);
      named = true;
    }
    empty = false;
  }
  return argsOf(req, frame)
    .filter((a, i) => i >= positional && !given.has(a.name))
    .map((a, i) => {
      const item: CompletionItem = { label: `${a.name}=`, kind: CompletionItemKind.Field, detail: a.detail, insertText: `${a.name}=`, insertTextFormat: InsertTextFormat.PlainText, filterText: a.name, sortText: `00${String(i).padStart(2, "0")}` };
      if (a.doc) item.documentation = a.doc;
      return item;
    });
}

function argsOf(req: CompletionRequest, frame: Frame): { name: string; detail: string; doc?: string; choices?: readonly string[] }[] {
  const callee = frame.callee!;
  const kind = frame.clause === "schedule" || frame.clause === "optimizer" ? frame.clause : frame.statement === "input" ? "input" : frame.statement ? policyKindOfKeyword(frame.statement) : undefined;
  const entry = kind ? policy[kind].get(callee) : undefined;
  if (entry) return entry.args.map((a, i) => ({ ...specArgs(entry.args)[i]!, ...(a.choices ? { choices: a.choices } : {}) }));
  const binding = req.analysis?.env?.lookup(callee);
  if (binding?.kind === "value" && isCallable(binding.value)) {
    const target = binding.value.target as Target;
    const specs = target.type === "op" ? target.op.args : target.type === "builtin" ? target.builtin.args : undefined;
    if (specs) return specs.map((a, i) => ({ ...specArgs(specs)[i]!, ...(a.choices ? { choices: a.choices } : {}) }));
  }
  return bindingArgs(binding, req.open);
}

function argumentChoices(req: CompletionRequest, frame: Frame, argName: string): CompletionItem[] {
  const arg = argsOf(req, frame).find((a) => a.name === argName);
  return (arg?.choices ?? []).map((c, i) => ({ label: c, kind: CompletionItemKind.EnumMember, detail: `${argName} of ${frame.callee}`, sortText: `0${i}` }));
}

function memberItems(req: CompletionRequest, scan: Scan): CompletionItem[] {
  const tokens = scan.tokens;
  if (tokens[tokens.length - 2]?.image === "in") return inFields.map((f) => ({ label: f, kind: CompletionItemKind.Field, detail: "field of in" }));
  const clause = scan.statement?.clause;
  if (scan.statement?.word === "stage" && (clause === "freeze" || clause === "unfreeze")) {
    const segments: string[] = [];
    for (let i = tokens.length - 2; i >= 0; i -= 2) {
      const t = tokens[i]!;
      if (!/^[A-Za-z_0-9]/.test(t.image) || isClauseWord(t.image)) break;
      segments.unshift(t.image);
      if (tokens[i - 1]?.image !== ".") break;
    }
    return labelPathItems(req, scan, segments);
  }
  return [];
}

/** Label paths of the model's parameters one level under `parent` (`backbone.` gives `layer1`, …). */
function labelPathItems(req: CompletionRequest, scan: Scan, parent: string[]): CompletionItem[] {
  const model = req.analysis?.result.models.find((m) => m.name === scan.modelName) ?? req.analysis?.result.models[0];
  if (!model) return parent.length ? [] : [{ label: "all", kind: CompletionItemKind.Reference }];
  const prefix = parent.length ? `${parent.join(".")}.` : "";
  const children = new Map<string, number>();
  for (const p of model.graph.params.values()) {
    if (p.buffer || !p.name.startsWith(prefix)) continue;
    const rest = p.name.slice(prefix.length).split(".");
    if (rest.length < 2) continue;
    children.set(rest[0]!, (children.get(rest[0]!) ?? 0) + p.shape.reduce((a, b) => a * b, 1));
  }
  const items: CompletionItem[] = [...children].map(([name, count], i) => ({ label: name, kind: CompletionItemKind.Reference, detail: `${prefix}${name}: ${count.toLocaleString("en-US")} parameters`, sortText: `1${String(i).padStart(5, "0")}` }));
  if (!parent.length) items.unshift({ label: "all", kind: CompletionItemKind.Reference, detail: "every parameter", sortText: "0" });
  return items;
}

/** `from NAME`: the taps written in this file and the files it imports. */
function tapItems(req: CompletionRequest): CompletionItem[] {
  const out: CompletionItem[] = [];
  const add = (text: string, where: string) => {
    for (const m of text.matchAll(/\btap\s+([A-Za-z_][A-Za-z0-9_]*)/g)) out.push({ label: m[1]!, kind: CompletionItemKind.Reference, detail: `tap in ${where}`, sortText: `${where === "this file" ? 0 : 1}${String(m.index).padStart(8, "0")}` });
  };
  add(req.text, "this file");
  for (const [path, module] of req.analysis?.capture.modules ?? []) if (path !== req.analysis?.path && !path.startsWith(stdlibDir)) add(module.text, relative(req.root, path));
  return out;
}

/** `.medg` files for an `import "…"`, relative to the importing file. */
function importPaths(req: CompletionRequest, contentStart: number, typed: string): CompletionItem[] {
  const from = dirname(req.analysis?.path ?? join(req.root, "x.medg"));
  const files: string[] = [];
  const visit = (dir: string, depth: number) => {
    if (depth > 4 || files.length > 200 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith(".") || e.name === "node_modules" || e.name === "dist") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p, depth + 1);
      else if (e.name.endsWith(".medg") && p !== req.analysis?.path) files.push(p);
    }
  };
  try {
    visit(req.root, 0);
  } catch {
    return [];
  }
  const range = req.toRange(contentStart, contentStart + typed.length);
  return files.map((f) => {
    const rel = relative(from, f).split(sep).join("/");
    return { label: rel, kind: CompletionItemKind.File, textEdit: { range, newText: rel } };
  });
}

function dedupe(items: CompletionItem[]): CompletionItem[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const key = `${i.label}\u0000${i.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
