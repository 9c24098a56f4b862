// The project's TypeScript source bundled with esbuild into dist/bench/NAME.mjs for the benchmarks
// that run it without a build (bench/train.js, bench/convs.js). Packages stay external; `require`
// works inside the bundle.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** Bundles `exports` (lines of `export … from "./src/…"`) into dist/bench/NAME.mjs; its path. */
export async function bundleSource(name, exports) {
  const { build } = await import("esbuild");
  const outfile = join(root, "dist", "bench", `${name}.mjs`);
  mkdirSync(join(root, "dist", "bench"), { recursive: true });
  await build({
    stdin: { contents: exports.join("\n"), resolveDir: root, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    external: ["@tensorflow/*", "prettier", "onnxruntime-node"],
    banner: { js: "import { createRequire as __medgRequire } from 'node:module'; const require = __medgRequire(import.meta.url);" },
    logLevel: "warning",
  });
  return outfile;
}
