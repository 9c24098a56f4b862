import * as prettier from "prettier";
import { parse } from "../syntax/parse.js";
import { plugin } from "./plugin.js";
import { commentTexts, sameProgram } from "./same-ast.js";

export { plugin, languages, parsers, printers, options, defaultOptions, MedgSyntaxError, parseForFormat, type MedgRoot } from "./plugin.js";
export { printModule } from "./print.js";
export { programOf, sameProgram, commentTexts } from "./same-ast.js";

export interface FormatOptions {
  /** Line width to aim for (default 100). */
  printWidth?: number;
  /** Indentation width (default 2). */
  tabWidth?: number;
  /** Used in syntax error messages. */
  filepath?: string;
}

/**
 * Formats medg source. Throws `MedgSyntaxError` on a syntax error. The result is checked to parse
 * to the same program with the same comments; a mismatch (a formatter bug) throws rather than
 * returning text that means something else.
 */
export async function format(text: string, options: FormatOptions = {}): Promise<string> {
  const out = await prettier.format(text, { ...options, parser: "medg", plugins: [plugin] });
  const file = options.filepath ?? "<input>";
  // The text prettier formatted: without a byte order mark, with LF line ends.
  const before = parse(text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n"), file);
  const after = parse(out, file);
  if (
    after.diagnostics.length ||
    !sameProgram(before.module, after.module) ||
    commentTexts(before.module).join("\n") !== commentTexts(after.module).join("\n")
  ) {
    throw new Error(
      `${file}: not formatted: the result would not mean the same program (a \`##\` comment after code on the line of a def or model decides its doc by line; otherwise this is a formatter bug)`,
    );
  }
  return out;
}
