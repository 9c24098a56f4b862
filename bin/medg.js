#!/usr/bin/env node
// The CLI runs from one bundled file: loading a few hundred ES modules would cost more than checking a model.
import { main } from "../dist/medg.mjs";

process.exitCode = await main(process.argv.slice(2));
