/** Signatures and documentation of everything a name can denote: ops, defs, builtins, wiring, policy entries. */
import { readFileSync } from "node:fs";
import { relative, sep } from "node:path";
import { formatShape } from "../ir/types.js";
import type { Binding } from "../semantics/env.js";
import { checkSignatures, type Target } from "../semantics/evaluate.js";
import { stdlibDir } from "../semantics/modules.js";
import type { ArgSpec, Signature } from "../semantics/signature.js";
import { formatSignature } from "../semantics/signature.js";
import { isCallable } from "../semantics/values.js";
import type * as A from "../syntax/ast.js";
import type { PolicyKind } from "../policy/registry.js";
import { policyNouns } from "../policy/registry.js";

/**
 * Signatures of the wiring callables for hover and completion: the checks' are the evaluator's own;
 * the others take blocks, which the evaluator applies without binding arguments.
 */
export const wiringSignatures: Record<string, Signature> = {
  residual: {
    name: "residual",
    doc: "`body(x) + shortcut(x)`, or `body(x) + x` without a shortcut. Wiring: its parts name themselves in the enclosing scope.",
    args: [
      { name: "body", type: "block", doc: "the main branch" },
      { name: "shortcut", type: "block", default: null, doc: "the projection on the skip path (none: the input itself)" },
    ],
  },
  parallel: { name: "parallel", doc: "Applies each branch to the same input; the results are several outputs.", args: [] },
  ...checkSignatures,
  task_classes: { name: "task_classes", doc: "The model's class count, from its `task` (2 when the model has no task).", args: [] },
};

const sources = new Map<string, string>();

/** Source text of a file, for default expressions of defs (stdlib files are read once). */
export function sourceOf(file: string, open?: (file: string) => string | undefined): string {
  const text = open?.(file);
  if (text !== undefined) return text;
  let cached = sources.get(file);
  if (cached === undefined) {
    try {
      cached = readFileSync(file, "utf8");
    } catch {
      cached = "";
    }
    if (file.startsWith(stdlibDir)) sources.set(file, cached);
  }
  return cached;
}

export function formatDefault(v: unknown): string {
  if (v === null) return "none";
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(formatDefault).join(", ")}]`;
  return String(v);
}

function argLine(a: ArgSpec): string {
  const parts: string[] = [a.type === "enum" && a.choices ? a.choices.join(" | ") : a.type];
  if (a.default !== undefined) parts.push(`default ${formatDefault(a.default)}`);
  else parts.push("required");
  if (a.keywordOnly) parts.push("by name only");
  if (a.min !== undefined || a.max !== undefined) parts.push(`${a.min ?? "…"} to ${a.max ?? "…"}`);
  return `- \`${a.name}\` (${parts.join(", ")})${a.doc ? ` — ${a.doc}` : ""}`;
}

export function signatureMarkdown(sig: Signature, what: string): string {
  const out = ["```medg", formatSignature(sig), "```", `*${what}*`];
  if (sig.doc) out.push("", sig.doc);
  if (sig.args.length) out.push("", ...sig.args.map(argLine));
  return out.join("\n");
}

/** `def name(a, b=1)` with default expressions as written. */
export function defSignature(def: A.DefStmt, text: string): string {
  const params = (def.params ?? []).map((p) => (p.default ? `${p.name}=${text.slice(p.default.span.start.offset, p.default.span.end.offset)}` : p.name));
  return `def ${def.name}${params.length ? `(${params.join(", ")})` : ""}`;
}

/** "stdlib backbone (resnet.medg)", or the file relative to the project. */
export function defOrigin(file: string, root?: string): string {
  const lib = relative(stdlibDir, file);
  if (lib && !lib.startsWith("..")) {
    const [folder, name] = lib.split(sep);
    const kind = folder === "backbones" ? "backbone" : folder === "heads" ? "head" : folder === "blocks" ? "block" : folder;
    return name ? `stdlib ${kind} (${name})` : `stdlib (${lib})`;
  }
  return root ? relative(root, file) || file : file;
}

export function defMarkdown(def: A.DefStmt, open?: (file: string) => string | undefined, root?: string): string {
  const out = ["```medg", defSignature(def, sourceOf(def.span.file, open)), "```", `*${defOrigin(def.span.file, root)}*`];
  if (def.doc) out.push("", def.doc);
  return out.join("\n");
}

/** Markdown for whatever a binding of the environment holds. */
export function bindingMarkdown(name: string, binding: Binding, open?: (file: string) => string | undefined, root?: string): string | undefined {
  if (binding.kind === "lazy") {
    const text = sourceOf(binding.span.file, open);
    return ["```medg", `let ${name} = ${text.slice(binding.expr.span.start.offset, binding.expr.span.end.offset)}`, "```", `*${defOrigin(binding.span.file, root)}*`].join("\n");
  }
  const v = binding.value;
  if (!isCallable(v)) return undefined;
  const target = v.target as Target;
  switch (target.type) {
    case "def":
      return defMarkdown(target.def, open, root);
    case "op":
      return signatureMarkdown(name === target.op.name ? target.op : { ...target.op, name }, name === "drop" ? "operator (`dropout` under a name that defs' `dropout` parameters leave free)" : "operator");
    case "builtin":
      return signatureMarkdown(target.builtin, "builtin function");
    case "combinator":
      return wiringSignatures[target.name] ? signatureMarkdown(wiringSignatures[target.name]!, "wiring") : undefined;
    case "task_classes":
      return signatureMarkdown(wiringSignatures.task_classes!, "builtin function");
  }
}

export function policyMarkdown(kind: PolicyKind, entry: Signature): string {
  return signatureMarkdown(entry, `${policyNouns[kind]} (training policy)`);
}

/** Argument specs of a callable binding, for completion of `name=` inside a call. */
export function bindingArgs(binding: Binding | undefined, open?: (file: string) => string | undefined): { name: string; detail: string; doc?: string }[] {
  if (!binding || binding.kind !== "value" || !isCallable(binding.value)) return [];
  const target = binding.value.target as Target;
  switch (target.type) {
    case "def": {
      const text = sourceOf(target.def.span.file, open);
      return (target.def.params ?? []).map((p) => ({ name: p.name, detail: p.default ? `= ${text.slice(p.default.span.start.offset, p.default.span.end.offset)}` : "required" }));
    }
    case "op":
      return specArgs(target.op.args);
    case "builtin":
      return specArgs(target.builtin.args);
    case "combinator":
      return specArgs(wiringSignatures[target.name]?.args ?? []);
    case "task_classes":
      return [];
  }
}

export function specArgs(args: readonly ArgSpec[]): { name: string; detail: string; doc?: string }[] {
  return args.map((a) => {
    const out: { name: string; detail: string; doc?: string } = { name: a.name, detail: a.default === undefined ? `${a.type}, required` : `${a.type} = ${formatDefault(a.default)}` };
    if (a.doc) out.doc = a.doc;
    return out;
  });
}

export const shapes = (values: readonly { type: { shape: readonly (number | string)[] } }[]) => values.map((v) => formatShape(v.type.shape)).join(", ");
