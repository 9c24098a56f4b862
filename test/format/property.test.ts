import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { programArb } from "./gen.js";
import { comments, parseOk, prettierFormat, program } from "./helpers.js";

/**
 * Guarantees 1–3 on random valid programs (test/format/gen.ts): formatting is idempotent, keeps
 * the multiset of comments and parses to the same program. Checked as printed by default and with
 * only the parentheses the grammar needs (which exercises the precedence rules: the generator
 * writes every needed parenthesis, and the default keeps them all).
 */
describe("formatting random programs", () => {
  it("is idempotent and keeps comments and meaning", async () => {
    await fc.assert(
      fc.asyncProperty(programArb, fc.constantFrom(100, 100, 60, 30), async (text, printWidth) => {
        const before = parseOk(text);
        for (const keep of [true, false]) {
          const options = { printWidth, medgKeepParentheses: keep };
          const out = await prettierFormat(text, options);
          expect(await prettierFormat(out, options), `not idempotent:\n${out}`).toBe(out);
          const after = parseOk(out);
          expect(comments(after)).toEqual(comments(before));
          expect(program(after), `program changed:\n${out}`).toEqual(program(before));
        }
      }),
      { seed: 20250101, numRuns: 200 },
    );
  });
});
