/**
 * Choosing the tfjs runtime: @tensorflow/tfjs-node-gpu (CUDA), else @tensorflow/tfjs-node (native
 * CPU), else @tensorflow/tfjs on the WebAssembly backend (@tensorflow/tfjs-backend-wasm, which needs
 * no download at install time), else pure-JavaScript @tensorflow/tfjs ("cpu"; "tfjs" is its older
 * name). A package that is not installed is skipped quietly; one that is installed but fails to
 * load (tfjs-node-gpu without its CUDA libraries, a native binding built for another Node) is
 * reported in one line and the next is tried.
 *
 * Packages are resolved from the program's folder, then the working directory, then the runtime's
 * own location, so a user can add tfjs-node to the project that holds the program. The import is
 * by resolved path, which also keeps bundlers from trying to include optional native packages.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Tf } from "./types.js";

export const runtimeNames = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu", "tfjs"] as const;
export type RuntimeName = (typeof runtimeNames)[number];

/** What `auto` tries, in order ("tfjs" is "cpu" by its older name). */
const autoOrder: readonly RuntimeName[] = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"];

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
  /** Threads of the wasm backend (default 1; see wasm/backend.ts). */
  threads?: number;
}

/** The package that must be installed for each runtime (wasm also needs @tensorflow/tfjs). */
const packages: Record<RuntimeName, string> = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
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
  const order = prefer === "auto" ? autoOrder : [prefer];
  const failures: string[] = [];
  for (const [i, name] of order.entries()) {
    const path = resolveFrom(dirs, packages[name]);
    const core = name === "wasm" ? resolveFrom(dirs, packages.cpu) : path;
    if (!path || !core) {
      const missing = path ? packages.cpu : packages[name];
      if (prefer !== "auto") failures.push(`${missing} is not installed (npm install ${missing})`);
      continue;
    }
    try {
      const tf = await importTf(core);
      let description: string;
      const version = () => tf.version?.tfjs ?? "";
      if (name === "wasm") {
        const { startWasm } = await import("./wasm/backend.js");
        const wasm = await startWasm(tf, path, options.threads ?? 1);
        const threads = `${wasm.threads} thread${wasm.threads === 1 ? "" : "s"}`;
        description = `runtime: ${packages.wasm} ${wasm.version || version()} (WebAssembly${wasm.simd ? " SIMD" : ""}, ${threads}; @tensorflow/tfjs-node runs faster where it installs)`;
      } else {
        if (name === "cpu" || name === "tfjs") await tf.setBackend("cpu");
        await tf.ready();
        description =
          name === "cpu" || name === "tfjs"
            ? `runtime: ${packages[name]} ${version()} (pure JavaScript, ${tf.getBackend()} backend; @tensorflow/tfjs-backend-wasm or @tensorflow/tfjs-node run much faster)`
            : `runtime: ${packages[name]} ${version()} (${tf.getBackend()} backend)`;
      }
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
