/**
 * The command line: `main(argv, io)` with a capturing io, and once the real binary as a process.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readManifest } from "../helpers/compile.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const examples = readdirSync(join(repoRoot, "examples"))
  .filter((f) => f.endsWith(".medg"))
  .sort()
  .map((f) => `examples/${f}`);

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process; `out` and `err` are the printed lines joined with newlines. */
async function run(argv: string[], cwd = repoRoot): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), cwd });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

// A scratch project of its own (medg.json marks the root) for files the tests write.
const scratch = mkdtempSync(join(tmpdir(), "medg-cli-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");

function write(name: string, text: string): string {
  writeFileSync(join(scratch, name), text);
  return name;
}

const badText = `model chest_xray {
  task classify(classes=["normal", "pneumonia"])
  input image(1, 224, 224) | gray_to_rgb
  backbone resnt50
  head mlp(512)
}
`;

const twoModels = `model small {
  task classify(classes=["benign", "malignant"])
  input image(3, 224, 224)
  backbone resnet18
  head mlp(256)
}

model large {
  task classify(classes=["benign", "malignant"])
  input image(3, 224, 224)
  backbone resnet50
  head mlp(512)
}
`;

/** The text a JSON diagnostic's 1-based range covers (single-line ranges). */
function covered(text: string, d: { line: number; col: number; endLine: number; endCol: number }): string {
  expect(d.endLine).toBe(d.line);
  return text.split("\n")[d.line - 1]!.slice(d.col - 1, d.endCol - 1);
}

describe("medg check", () => {
  it("exits 0 on every example", async () => {
    expect(examples.length).toBeGreaterThan(0);
    const r = await run(["check", ...examples]);
    expect(r.err).toBe("");
    expect(r.out).toMatch(new RegExp(`^${examples.length} files checked: 0 errors, \\d+ warnings?$`, "m"));
    expect(r.code).toBe(0);
  });

  it("exits 1 on a bad file and prints file:line:col, the code and the fix", async () => {
    const r = await run(["check", write("bad.medg", badText)], scratch);
    expect(r.code).toBe(1);
    expect(r.out).toContain("bad.medg:4:12: error MEDG201: unknown name 'resnt50' (did you mean 'resnet50'?)");
    expect(r.out).toContain("  fix: change to 'resnet50'");
    expect(r.out).toMatch(/^1 file checked: [1-9]\d* errors?, 0 warnings$/m);
  });

  it("prints exactly a golden baseline, then the totals", async () => {
    const name = "channel_mismatch_bn";
    const baseline = readFileSync(join(repoRoot, `test/golden/cases/${name}.errors.txt`), "utf8");
    const r = await run(["check", `test/golden/cases/${name}.medg`, "--root", "test/golden/cases"]);
    expect(r.out).toBe(`${baseline}1 file checked: 1 error, 0 warnings`);
    expect(r.code).toBe(1);
  });

  it("--format json gives the documented array with 1-based positions", async () => {
    const file = write("bad-json.medg", badText);
    const r = await run(["check", file, "--format", "json"], scratch);
    expect(r.code).toBe(1);
    const diagnostics = JSON.parse(r.out) as Record<string, unknown>[];
    expect(Array.isArray(diagnostics)).toBe(true);
    const unknown = diagnostics.find((d) => d.code === "MEDG201")!;
    expect(Object.keys(unknown).sort()).toEqual(["code", "col", "endCol", "endLine", "file", "line", "message", "severity"]);
    expect(unknown).toMatchObject({ file: "bad-json.medg", line: 4, col: 12, endLine: 4, endCol: 19, severity: "error" });
    expect(unknown.message).toBe("unknown name 'resnt50' (did you mean 'resnet50'?)");
    expect(covered(badText, unknown as never)).toBe("resnt50");
  });

  it("--format json points at the right text for several codes", async () => {
    const text = `model ham10000 {
  task classify(classes=["nv", "mel"])
  input image(3, 224, 224)
  backbone conv(64, 3) | bn(c=32) | gap
  head mlp(64)
  loss focal(gama=2)
}
`;
    const r = await run(["check", write("several.medg", text), "--format", "json"], scratch);
    const diagnostics = JSON.parse(r.out) as { code: string; line: number; col: number; endLine: number; endCol: number }[];
    const at = (code: string) => covered(text, diagnostics.find((d) => d.code === code)!);
    expect(at("MEDG301")).toBe("bn(c=32)");
    expect(at("MEDG202")).toBe("gama");
  });

  it("--format json prints [] for a clean file and exits 0", async () => {
    const r = await run(["check", "examples/dermoscopy.medg", "--format", "json"]);
    expect(JSON.parse(r.out)).toEqual([]);
    expect(r.code).toBe(0);
  });

  it("rejects an unknown --format with exit 2", async () => {
    const r = await run(["check", "examples/dermoscopy.medg", "--format", "xml"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--format must be text or json");
  });

  it("reports a missing file clearly and exits 1", async () => {
    const r = await run(["check", "no/such/model.medg"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("medg: cannot read no/such/model.medg");
  });

  it("still checks the other files when one is missing", async () => {
    const r = await run(["check", "missing.medg", "examples/dermoscopy.medg"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("medg: cannot read missing.medg");
    expect(r.out).toContain("2 files checked: 0 errors, 0 warnings");
  });

  it("asks for a file when none is given", async () => {
    const r = await run(["check"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("medg check: no file given");
  });
});

describe("medg summary", () => {
  it("prints the layer table and the totals", async () => {
    const r = await run(["summary", "examples/dermoscopy.medg"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^model ham10000$/m);
    expect(r.out).toMatch(/^layer +op +output +params +MACs$/m);
    for (const line of ["input ", "outputs ", "parameters ", "trainable ", "MACs "]) expect(r.out).toMatch(new RegExp(`^${line} *\\S`, "m"));
    expect(r.out).toMatch(/^outputs +\[N, 7\]$/m);
  });

  it("--json gives the summary object; resnet50 without classes has torchvision's count minus fc", async () => {
    const manifest = readManifest("resnet50");
    const fc = manifest.entries.filter(([name, , kind]) => name.startsWith("fc.") && kind === "param").reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
    const expected = manifest.params - fc;
    expect(expected).toBe(23_508_032);

    const file = write("r50.medg", "model r50 {\n  input image(3, 224, 224)\n  backbone resnet50\n}\n");
    const r = await run(["summary", file, "--json"], scratch);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as Record<string, unknown>;
    for (const key of ["model", "params", "trainableParams", "macs", "outputs", "layers"]) expect(s).toHaveProperty(key);
    expect(s.model).toBe("r50");
    expect(s.params).toBe(expected);
    expect(s.trainableParams).toBe(expected);
    expect(s.outputs).toEqual(["[N, 2048]"]);
    expect(Array.isArray(s.layers)).toBe(true);
    expect((s.layers as { path: string }[]).some((l) => l.path === "backbone.layer4.2.conv3")).toBe(true);
    expect(s.macs).toBeGreaterThan(4e9);
  });

  it("--json counts only the head as trainable while the first stage freezes the backbone", async () => {
    const file = write("frozen.medg", "model m {\n  task classify(classes=[\"a\", \"b\"])\n  input image(3, 224, 224)\n  backbone resnet50 | head mlp(512) | stage freeze 5 lr 1e-3\n}\n");
    const s = JSON.parse((await run(["summary", file, "--json"], scratch)).out) as { params: number; trainableParams: number };
    expect(s.params - s.trainableParams).toBe(23_508_032);
  });

  it("--model selects one model of several", async () => {
    const file = write("two.medg", twoModels);
    const all = JSON.parse((await run(["summary", file, "--json"], scratch)).out) as { model: string }[];
    expect(all.map((s) => s.model)).toEqual(["small", "large"]);
    const r = await run(["summary", file, "--model", "large", "--json"], scratch);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { model: string }).model).toBe("large");
    const text = await run(["summary", file, "--model", "small"], scratch);
    expect(text.out).toMatch(/^model small$/m);
    expect(text.out).not.toMatch(/^model large$/m);
  });

  it("an unknown --model is MEDG211 with a did-you-mean, exit 1", async () => {
    const file = write("two-unknown.medg", twoModels);
    const r = await run(["summary", file, "--model", "larg"], scratch);
    expect(r.code).toBe(1);
    expect(r.err).toContain("error MEDG211: no model named 'larg' in two-unknown.medg (did you mean 'large'?); models: small, large");
    expect(r.out).not.toMatch(/^model /m);
  });

  it("reports a missing file clearly and exits 1", async () => {
    const r = await run(["summary", "nowhere.medg"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("medg: cannot read nowhere.medg");
  });
});

describe("medg commands and flags", () => {
  it("an unknown command exits 2 with a did-you-mean", async () => {
    const r = await run(["chek", "examples/dermoscopy.medg"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("medg: unknown command 'chek' (did you mean 'check'?)");
    expect(r.err).toContain("usage:");
    expect((await run(["sumary", "examples/dermoscopy.medg"])).err).toContain("(did you mean 'summary'?)");
  });

  it("an unknown option exits 2", async () => {
    const r = await run(["check", "--colour", "examples/dermoscopy.medg"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("usage:");
  });

  it("no command prints the usage and exits 2; --help exits 0", async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.out).toContain("usage:");
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("medg check FILE...");
  });

  it("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(pkg.version);
  });
});

describe("bin/medg.js as a process", () => {
  const entry = join(repoRoot, "dist/cli/main.js");

  /** dist is stale when any source file is newer than its entry point. */
  function distIsStale(): boolean {
    if (!existsSync(entry)) return true;
    const built = statSync(entry).mtimeMs;
    const newest = (dir: string): number =>
      Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith(".ts") ? statSync(join(dir, e.name)).mtimeMs : 0)));
    return newest(join(repoRoot, "src")) > built;
  }

  beforeAll(() => {
    if (distIsStale()) execFileSync(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: repoRoot, stdio: "pipe" });
  }, 180_000);

  it("checks an example: exit 0 and the totals on stdout", () => {
    const p = spawnSync(process.execPath, ["bin/medg.js", "check", "examples/chest_xray.medg"], { cwd: repoRoot, encoding: "utf8" });
    expect(p.stderr).toBe("");
    expect(p.stdout).toBe("1 file checked: 0 errors, 0 warnings\n");
    expect(p.status).toBe(0);
  });

  it("checks a bad file: exit 1 and the diagnostic on stdout", () => {
    const file = join(scratch, "bad-process.medg");
    writeFileSync(file, badText);
    const p = spawnSync(process.execPath, [join(repoRoot, "bin/medg.js"), "check", "bad-process.medg"], { cwd: scratch, encoding: "utf8" });
    expect(p.status).toBe(1);
    expect(p.stdout).toContain("bad-process.medg:4:12: error MEDG201: unknown name 'resnt50'");
  });
});
