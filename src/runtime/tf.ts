/**
 * Choosing the tfjs runtime: @tensorflow/tfjs-node-gpu (CUDA), else @tensorflow/tfjs-node (native
 * CPU), else pure @tensorflow/tfjs. A package that is not installed is skipped quietly; one that
 * is installed but fails to load (tfjs-node-gpu without its CUDA libraries, a native binding
 * built for another Node) is reported in one line and the next is tried.
 *
 * Packages are resolved from the program's folder, then the working directory, then the runtime's
 * own location, so a user can add tfjs-node to the project that holds the program. The import is
 * by resolved path, which also keeps bundlers from trying to include optional native packages.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Tf } from "./types.js";

export const runtimeNames = ["tfjs-node-gpu", "tfjs-node", "tfjs"] as const;
export type RuntimeName = (typeof runtimeNames)[number];

export interface LoadedTf {
  tf: Tf;
  name: RuntimeName;
  /** One line saying what runs the program, for the log. */
  description: string;
}

export interface LoadTfOptions {
  /** `auto` (default) tries every runtime in order; a name asks for that one only. */
  prefer?: RuntimeName | "auto";
  /** Folders to resolve packages from, first match wins. */
  searchDirs?: readonly string[];
  /** Receives the one-line reports of runtimes that failed to load. */
  report?: (line: string) => void;
}

const packages: Record<RuntimeName, string> = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
  tfjs: "@tensorflow/tfjs",
};

function resolveFrom(dirs: readonly string[], pkg: string): string | undefined {
  for (const dir of dirs) {
    try {
      return createRequire(join(dir, "noop.js")).resolve(pkg);
    } catch {
      // not installed there
    }
  }
  return undefined;
}

/** The first line of a load error, with the usual CUDA failure said plainly. */
export function loadFailure(name: RuntimeName, error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  const cuda = /lib(cudart|cublas|cudnn|cufft|curand|cusolver|cusparse|nvinfer)[\w.]*|CUDA/i.exec(message);
  const why = cuda && name === "tfjs-node-gpu" ? `cannot load its CUDA libraries (${message})` : `failed to load (${message})`;
  return `${packages[name]} ${why}`;
}

async function importTf(path: string): Promise<Tf> {
  const mod = (await import(pathToFileURL(path).href)) as Tf & { default?: Tf };
  return typeof mod.tensor === "function" ? mod : mod.default!;
}

export async function loadTf(options: LoadTfOptions = {}): Promise<LoadedTf> {
  const prefer = options.prefer ?? "auto";
  const dirs = [...(options.searchDirs ?? []), process.cwd(), import.meta.dirname ?? "."];
  const order = prefer === "auto" ? runtimeNames : [prefer];
  const failures: string[] = [];
  for (const [i, name] of order.entries()) {
    const path = resolveFrom(dirs, packages[name]);
    if (!path) {
      if (prefer !== "auto") failures.push(`${packages[name]} is not installed (npm install ${packages[name]})`);
      continue;
    }
    try {
      const tf = await importTf(path);
      if (name === "tfjs") await tf.setBackend("cpu");
      await tf.ready();
      const version = tf.version?.tfjs ?? "";
      const description =
        name === "tfjs"
          ? `runtime: ${packages[name]} ${version} (pure JavaScript, ${tf.getBackend()} backend; @tensorflow/tfjs-node runs much faster)`
          : `runtime: ${packages[name]} ${version} (${tf.getBackend()} backend)`;
      return { tf, name, description };
    } catch (e) {
      const line = loadFailure(name, e);
      failures.push(line);
      const next = order[i + 1];
      options.report?.(next ? `${line}; trying ${packages[next]}` : line);
    }
  }
  throw new Error(failures.length ? failures.join("; ") : "no tfjs runtime is installed (npm install @tensorflow/tfjs)");
}
