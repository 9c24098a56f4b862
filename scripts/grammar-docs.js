// Writes grammar/diagrams.html (the parser's railroad diagrams) from the built compiler.
// Run `npm run build && npm run grammar`; test/syntax/diagrams.test.ts checks the file is current.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { grammarDiagramsHtml } from "../dist/syntax/diagrams.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "grammar", "diagrams.html");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, grammarDiagramsHtml());
console.log(`wrote ${out}`);
