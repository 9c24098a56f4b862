import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** The installed package's folder (holding package.json and stdlib/), from sources or a bundle alike. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "medg") return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error("medg: cannot find the package folder (package.json named medg) above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}
