import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fmtCommand } from "../../src/cli/fmt.js";

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "medg-fmt-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function capture(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), cwd }, out, err };
}

const clean = "def f = a | b\n";
const messy = "def   f =a|b";
const broken = "def f = (a | b\n";

describe("medg fmt", () => {
  it("rewrites files in place and lists them", async () => {
    const dir = project({ "a.medg": messy, "b.medg": clean });
    const { io, out, err } = capture(dir);
    expect(await fmtCommand(["a.medg", "b.medg"], { check: false }, io)).toBe(0);
    expect(readFileSync(join(dir, "a.medg"), "utf8")).toBe(clean);
    expect(readFileSync(join(dir, "b.medg"), "utf8")).toBe(clean);
    expect(out).toEqual(["a.medg"]);
    expect(err).toEqual([]);
    // The temporary file of the atomic write is gone.
    expect(readdirSync(dir).sort()).toEqual(["a.medg", "b.medg"]);
  });

  it("with --check lists the files that would change, exits 1 and writes nothing", async () => {
    const dir = project({ "a.medg": messy, "b.medg": clean });
    const { io, out } = capture(dir);
    expect(await fmtCommand(["a.medg", "b.medg"], { check: true }, io)).toBe(1);
    expect(out).toEqual(["a.medg"]);
    expect(readFileSync(join(dir, "a.medg"), "utf8")).toBe(messy);
  });

  it("with --check exits 0 when every file is formatted", async () => {
    const dir = project({ "b.medg": clean });
    const { io, out } = capture(dir);
    expect(await fmtCommand(["b.medg"], { check: true }, io)).toBe(0);
    expect(out).toEqual([]);
  });

  it("prints the diagnostics of a file with syntax errors, exits 1 and leaves it untouched", async () => {
    const dir = project({ "bad.medg": broken, "a.medg": messy });
    const { io, err } = capture(dir);
    expect(await fmtCommand(["bad.medg", "a.medg"], { check: false }, io)).toBe(1);
    expect(readFileSync(join(dir, "bad.medg"), "utf8")).toBe(broken);
    expect(err.join("\n")).toMatch(/^bad\.medg:2:1: error MEDG101/);
    // The other file is still formatted.
    expect(readFileSync(join(dir, "a.medg"), "utf8")).toBe(clean);
  });

  it("reports unreadable files and a missing file argument", async () => {
    const dir = project({});
    const { io, err } = capture(dir);
    expect(await fmtCommand(["nope.medg"], { check: false }, io)).toBe(1);
    expect(err).toEqual(["medg fmt: cannot read nope.medg"]);
    expect(await fmtCommand([], { check: false }, capture(dir).io)).toBe(2);
  });
});
