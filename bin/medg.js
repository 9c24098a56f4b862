#!/usr/bin/env node
// The CLI runs from a bundle: loading a few hundred ES modules would cost more than checking a model.
// Commands other than check/summary (lsp, fmt, train) load their own chunks only when used.
import { main } from "../dist/bundle/main.js";

process.exitCode = await main(process.argv.slice(2));
