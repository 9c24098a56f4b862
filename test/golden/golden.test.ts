/**
 * Golden diagnostics: each `cases/*.medg` is compiled and its diagnostics rendered as `medg check`
 * prints them in text mode; the result must equal `cases/<name>.errors.txt`. `npm run accept`
 * (MEDG_ACCEPT=1) rewrites the baselines instead. Files under `cases/lib/` are helper modules that
 * the cases import; they have no baseline of their own.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderText } from "../../src/cli/render.js";
import { compileFile } from "../../src/compile.js";

const casesDir = fileURLToPath(new URL("./cases/", import.meta.url));
// Paths are shown relative to the repository root, as `medg check` run from there shows them.
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const accept = process.env.MEDG_ACCEPT === "1";

const cases = readdirSync(casesDir)
  .filter((f) => f.endsWith(".medg"))
  .sort();

function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** What `medg check` prints for one file, before its totals line. */
function renderCase(file: string): string {
  const result = compileFile(file, { root: casesDir });
  const shown = result.diagnostics.filter((d) => d.severity !== "info");
  const text = shown.map((d) => renderText(d, readSource, repoRoot)).join("\n");
  // Some messages quote absolute paths (import resolution); keep the baselines machine-independent.
  return `${text.split(repoRoot).join("<repo>/")}\n`;
}

describe("golden diagnostics", () => {
  it("has cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)("%s", (name) => {
    const file = join(casesDir, name);
    const baselineFile = join(casesDir, name.replace(/\.medg$/, ".errors.txt"));
    const actual = renderCase(file);
    if (accept) {
      writeFileSync(baselineFile, actual);
      return;
    }
    expect(existsSync(baselineFile), `no baseline for ${name}; run \`npm run accept\``).toBe(true);
    expect(actual).toBe(readFileSync(baselineFile, "utf8"));
    // A case exists to show a diagnostic; one that compiles clean has lost its point.
    expect(actual.trim()).not.toBe("");
  });

  it("has no baseline without a case", () => {
    const orphans = readdirSync(casesDir)
      .filter((f) => f.endsWith(".errors.txt"))
      .filter((f) => !cases.includes(f.replace(/\.errors\.txt$/, ".medg")));
    if (accept) for (const f of orphans) rmSync(join(casesDir, f));
    else expect(orphans).toEqual([]);
  });
});
