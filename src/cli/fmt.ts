import { chmodSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "../syntax/parse.js";
import { displayPath, renderText } from "./render.js";

export interface FmtIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
}

/**
 * `medg fmt [--check] FILE…`: rewrites each file in its formatted layout, or with `check` lists the
 * files whose layout would change. A file with syntax errors gets its diagnostics and is left
 * untouched. Exit status: 0 done (or all formatted), 1 a file would change, has errors or could
 * not be read or written, 2 no file given.
 */
export async function fmtCommand(files: string[], options: { check: boolean }, io: FmtIo): Promise<number> {
  if (files.length === 0) {
    io.err("medg fmt: no file given\n\nusage: medg fmt [--check] FILE...");
    return 2;
  }
  // Loaded here so that other commands do not load prettier.
  const { format } = await import("../format/index.js");
  let status = 0;
  for (const file of files) {
    const abs = resolve(io.cwd, file);
    const shown = displayPath(abs, io.cwd);
    let text: string;
    try {
      text = readFileSync(abs, "utf8");
    } catch {
      io.err(`medg fmt: cannot read ${file}`);
      status = 1;
      continue;
    }
    const parsed = parse(text, abs);
    if (parsed.diagnostics.length) {
      for (const d of parsed.diagnostics) io.err(renderText(d, (f) => (f === abs ? text : undefined), io.cwd));
      status = 1;
      continue;
    }
    let formatted: string;
    try {
      formatted = await format(text, { filepath: shown });
    } catch (e) {
      io.err(`medg fmt: ${(e as Error).message}`);
      status = 1;
      continue;
    }
    if (formatted === text) continue;
    if (options.check) {
      io.out(shown);
      status = 1;
      continue;
    }
    try {
      writeAtomically(abs, formatted);
      io.out(shown);
    } catch (e) {
      io.err(`medg fmt: cannot write ${file}: ${(e as Error).message}`);
      status = 1;
    }
  }
  return status;
}

/** Writes a sibling temporary file and renames it over the target, so a crash never leaves half a file. */
function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, text, "utf8");
    chmodSync(tmp, statSync(file).mode & 0o7777);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw e;
  }
}
