/**
 * prettier, loaded when a program is emitted. It is resolved at run time (not by a static import)
 * so the bundled CLI neither carries it nor pays for parsing it on every `medg check`.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

interface Prettier {
  format(source: string, options: Record<string, unknown>): Promise<string>;
}

let loaded: Promise<Prettier> | undefined;

function loadPrettier(): Promise<Prettier> {
  loaded ??= (async () => {
    const path = createRequire(import.meta.url).resolve("prettier");
    const mod = (await import(pathToFileURL(path).href)) as Prettier & { default?: Prettier };
    return typeof mod.format === "function" ? mod : mod.default!;
  })();
  return loaded;
}

export async function formatJs(source: string): Promise<string> {
  const prettier = await loadPrettier();
  return prettier.format(source, { parser: "babel", printWidth: 110 });
}

/** JSON with short arrays kept on one line. */
export async function formatJson(value: unknown): Promise<string> {
  const prettier = await loadPrettier();
  return prettier.format(JSON.stringify(value), { parser: "json", printWidth: 110 });
}
