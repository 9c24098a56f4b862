import { createSyntaxDiagramsCode } from "chevrotain";
import { medgParser } from "./parser.js";

/**
 * Where grammar/diagrams.html finds Chevrotain's railroad renderer (scripts and stylesheet):
 * the copy installed with the chevrotain dependency, relative to grammar/, so the page works
 * offline from a checkout after `npm install`. Chevrotain's default is a CDN (unpkg) URL.
 */
const localDiagramsBase = "../node_modules/chevrotain/diagrams/";

/**
 * The railroad diagrams of every parser rule, as a standalone HTML page generated from the parser
 * itself (its serialized grammar). Deterministic: the same parser always gives the same text.
 * `npm run grammar` writes it to grammar/diagrams.html.
 */
export function grammarDiagramsHtml(): string {
  return createSyntaxDiagramsCode(medgParser().getSerializedGastProductions(), {
    resourceBase: localDiagramsBase,
    css: `${localDiagramsBase}diagrams.css`,
  });
}
