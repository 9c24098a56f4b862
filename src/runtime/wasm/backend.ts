/**
 * Starting @tensorflow/tfjs-backend-wasm for training, on one thread or several.
 *
 * The package ships a multi-threaded build (XNNPACK's thread pool on Emscripten pthreads), but its
 * own start-up never uses it in Node (tfjs issue 3830): it hands the pthread workers blob: URLs,
 * which Node's worker_threads refuse, and sizes the pool as half the logical cores. With `threads`
 * > 1 the backend is started here instead: the worker script is written to a file and the module's
 * script given by path. What matters is its memory, which that build shares between threads: the
 * runtime's own kernels (simd.ts) run the work that dominates training (convolutions, Adam) on
 * `threads` threads of their own over it (helpers.ts). XNNPACK's pool is kept to the calling thread
 * (the core count it sees is set so): its workers, awake beside the runtime's on a 2-core machine,
 * took 10–20% more CPU time per image (ResNet-18 and EfficientNet-B0 at 64×64) for no more
 * images a second. The pool's workers are unreferenced so a finished program exits.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Tf } from "../types.js";
import { enableWasmTraining } from "./index.js";

/** The parts of the tfjs-backend-wasm module used here. */
interface WasmPackage {
  BackendWasm: new (module: unknown) => object;
  setThreadsCount(n: number): void;
  version_wasm?: string;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): unknown;
  PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] };
  tfjs?: unknown;
  /** The module's memory (its exports do not include it), for simd.ts. */
  medgMemory?: object;
  /** The threads simd.ts's kernels run on. */
  medgThreads?: number;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** WebAssembly's JS API, as far as used here (the project's lib has no DOM types). */
const webAssembly = (globalThis as unknown as { WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: object; module: object }>; Memory: abstract new () => object } }).WebAssembly;

export interface StartedWasm {
  threads: number;
  simd: boolean;
  version: string;
}

let started: { threads: number; info: StartedWasm } | undefined;

/** The worker script, in a file named after its contents (written once per version). */
function workerFile(contents: string): string {
  const file = join(tmpdir(), `medg-tfjs-wasm-${createHash("sha256").update(contents).digest("hex").slice(0, 16)}.worker.js`);
  if (!existsSync(file)) {
    const temporary = `${file}.${process.pid}`;
    writeFileSync(temporary, contents);
    renameSync(temporary, file);
  }
  return file;
}

async function threadedModule(root: string, threads: number): Promise<EmscriptenModule> {
  const require = createRequire(join(root, "package.json"));
  const script = join(root, "wasm-out", "tfjs-backend-wasm-threaded-simd.js");
  const factory = require(script) as Factory;
  const { wasmWorkerContents } = require(join(root, "wasm-out", "tfjs-backend-wasm-threaded-simd.worker.js")) as { wasmWorkerContents: string };
  // The package turns newlines into \n escapes before making its blob; the script needs the same.
  const worker = workerFile(wasmWorkerContents.replace(/\n/g, "\\n"));
  const binary = readFileSync(join(root, "dist", "tfjs-backend-wasm-threaded-simd.wasm"));
  let memory: object | undefined;
  const module = await factory({
    locateFile: (path: string, prefix: string) => (path.endsWith(".worker.js") ? worker : prefix + path),
    mainScriptUrlOrBlob: script,
    instantiateWasm(imports: { env: Record<string, unknown> }, receive: (instance: object, module: object) => void) {
      // The backend sizes its pool as min(asked, cores / 2): one thread.
      imports.env.emscripten_num_logical_cores = () => 2;
      memory = Object.values(imports)
        .flatMap((group) => Object.values(group as Record<string, unknown>))
        .find((value) => value instanceof webAssembly.Memory) as object | undefined;
      void webAssembly.instantiate(binary, imports).then(({ instance, module: compiled }) => receive(instance, compiled));
      return {};
    },
  });
  module.medgMemory = memory;
  module.medgThreads = threads;
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
  return module;
}

/**
 * Makes the wasm backend (from the package whose main file is `main`) tfjs's backend, with the
 * training kernels of ./index.ts, on `threads` threads (default 1). Throws when it cannot start.
 */
export async function startWasm(tf: Tf, main: string, threads = 1): Promise<StartedWasm> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`the thread count must be a positive integer, got ${threads}`);
  const pkg = (await import(pathToFileURL(main).href)) as WasmPackage & { default?: WasmPackage };
  const wasm = typeof pkg.BackendWasm === "function" ? pkg : pkg.default!;
  enableWasmTraining(tf);
  if (started) {
    // One WebAssembly instance per process: its thread pool is fixed when it starts.
    if (started.threads !== threads) throw new Error(`the WebAssembly backend already runs on ${started.threads} thread(s) in this process`);
    if (!(await tf.setBackend("wasm"))) throw new Error("the WebAssembly backend failed to start");
    return started.info;
  }
  if (threads > 1) {
    const root = dirname(dirname(main));
    if (tf.findBackendFactory("wasm")) tf.removeBackend("wasm");
    tf.registerBackend(
      "wasm",
      async () => {
        const module = await threadedModule(root, threads);
        const backend = new wasm.BackendWasm(module);
        for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) w.unref();
        return backend as never;
      },
      2,
    );
  }
  wasm.setThreadsCount(threads);
  if (!(await tf.setBackend("wasm"))) throw new Error("the WebAssembly backend failed to start");
  await tf.ready();
  const info: StartedWasm = {
    threads,
    simd: (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true,
    version: wasm.version_wasm ?? "",
  };
  started = { threads, info };
  return info;
}
