import type { Parser, Plugin, Printer, SupportLanguage, SupportOptions } from "prettier";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type * as A from "../syntax/ast.js";
import { parse } from "../syntax/parse.js";
import { printModule } from "./print.js";

/** What the medg parser hands to prettier: the module and the text its spans point into. */
export interface MedgRoot {
  type: "medg-root";
  module: A.Module;
  text: string;
}

/** A syntax error in prettier's shape (`loc` with 1-based columns), so prettier shows a code frame. */
export class MedgSyntaxError extends SyntaxError {
  readonly loc: { start: { line: number; column: number }; end: { line: number; column: number } };
  constructor(readonly diagnostics: Diagnostic[]) {
    const first = diagnostics[0]!;
    const { start, end } = first.span;
    super(`${first.code}: ${first.message} (${start.line}:${start.col})`);
    this.name = "SyntaxError";
    this.loc = { start: { line: start.line, column: start.col }, end: { line: end.line, column: end.col } };
  }
}

/** Parses for formatting; any diagnostic (the parser only reports syntax errors) is thrown. */
export function parseForFormat(text: string, file = "<input>"): MedgRoot {
  const r = parse(text, file);
  if (r.diagnostics.length) throw new MedgSyntaxError(r.diagnostics);
  return { type: "medg-root", module: r.module, text };
}

export const languages: SupportLanguage[] = [{ name: "medg", parsers: ["medg"], extensions: [".medg"], vscodeLanguageIds: ["medg"] }];

export const parsers: Record<string, Parser<MedgRoot>> = {
  medg: {
    parse: (text, options) => parseForFormat(text, (options as { filepath?: string }).filepath),
    astFormat: "medg-ast",
    locStart: () => 0,
    locEnd: (node) => node.text.length,
  },
};

// Comments are attached and printed by print.ts (the root exposes no `comments` to prettier).
export const printers: Record<string, Printer<MedgRoot>> = {
  "medg-ast": {
    print: (path, options) =>
      printModule(path.node.module, path.node.text, {
        printWidth: options.printWidth,
        tabWidth: options.tabWidth,
        keepParentheses: (options as { medgKeepParentheses?: boolean }).medgKeepParentheses !== false,
      }),
  },
};

export const defaultOptions = { printWidth: 100, tabWidth: 2, useTabs: false };

export const options: SupportOptions = {
  medgKeepParentheses: {
    type: "boolean",
    category: "medg",
    default: true,
    description: "Keep parentheses the grammar does not need (false: print only the needed ones).",
  },
};

/** The prettier plugin for `.medg` files. */
export const plugin: Plugin<MedgRoot> = { languages, parsers, printers, options, defaultOptions };

export default plugin;
