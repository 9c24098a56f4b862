import { it, expect } from "vitest";
import { loadPrelude } from "/work/main/src/semantics/modules.js";
it("prelude clean", () => { expect(loadPrelude().diagnostics.map((d) => d.message)).toEqual([]); });
