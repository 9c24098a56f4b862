import fc from "fast-check";

/**
 * Random valid .medg programs for the formatter's property tests: a generator over the grammar
 * (defs with parameters and defaults, lets, pipes with labels, conditionals, comprehensions, calls
 * with keyword arguments, lists, tuples, strings, models with input, roles, policies and stages,
 * the compact `|` form), written with random layout: line breaks inside expressions, `;` and `|`
 * between statements, comments and blank lines between items and statements, after commas and
 * at the end of statement lines, `##` docs above defs and models.
 */

/** A piece of source and the grammar level it parses at (see src/format/print.ts). */
interface Frag {
  t: string;
  lvl: number;
  /** The first token, when it is a name (a statement word after `|` would end the pipe). */
  word?: string;
}

/** Where a line break may go (replaced by a space or a newline when the program is assembled). */
const BREAK = "\u0001";
/** After a comma: maybe an end-of-line comment. */
const COMMENT = "\u0002";

const statementWords = new Set([
  "input",
  "stage",
  "backbone",
  "neck",
  "decoder",
  "head",
  "task",
  "loss",
  "optimizer",
  "schedule",
  "augment",
  "normalize",
  "data",
  "metrics",
  "epochs",
  "batch",
  "seed",
]);
const clauseWords = new Set(["freeze", "unfreeze", "epochs", "lr", "schedule", "optimizer", "batch"]);

const paren = (f: Frag): Frag => ({ t: `(${f.t})`, lvl: 13 });
const at = (f: Frag, min: number): Frag => (f.lvl >= min ? f : paren(f));

const nameArb = fc.constantFrom("a", "b", "x", "conv", "bn", "relu", "c", "features", "lr", "batch", "head", "loss", "stage_1", "freeze", "model_id", "inx");
const plainName = fc.constantFrom("a", "b", "x", "conv", "bn", "relu", "c", "features", "stage_1", "model_id");
const numberArb = fc.constantFrom("0", "3", "224", "2.5", ".3", "1e-3", "2.5E+2", "0.5e1", "10");
const stringArb = fc.constantFrom(`"a"`, `'b'`, `"x{i + 1}"`, `"esc\\"q"`, `"br {{x}}"`, `"a#b"`, `'it\\'s'`, `"{f('y')}"`, `""`);
const labelArb = fc.oneof(nameArb, fc.constantFrom(`"head"`, `"layer{i}"`, `'x'`));

const atom: fc.Arbitrary<Frag> = fc.oneof(
  numberArb.map((t) => ({ t, lvl: 13 })),
  stringArb.map((t) => ({ t, lvl: 13 })),
  fc.constantFrom("true", "false", "none", "in", "in.c", "in.shape").map((t) => ({ t, lvl: 13 })),
  nameArb.map((t) => ({ t, lvl: 13, word: t })),
  fc.tuple(fc.constantFrom("tap", "from"), plainName).map(([k, n]) => ({ t: `${k} ${n}`, lvl: 13 })),
);

const commaList = (items: Frag[], trailing: boolean): string => items.map((i) => i.t).join(`,${COMMENT}${BREAK}`) + (trailing && items.length ? "," : "");

const binaryOps: [string, number, number, number][] = [
  // op, level, left min, right min
  ["or", 4, 4, 5],
  ["and", 5, 5, 6],
  ["==", 7, 8, 8],
  ["!=", 7, 8, 8],
  ["<", 7, 8, 8],
  [">=", 7, 8, 8],
  ["..", 8, 9, 9],
  ["+", 9, 9, 10],
  ["-", 9, 9, 10],
  ["*", 10, 10, 11],
  ["/", 10, 10, 11],
  ["//", 10, 10, 11],
  ["%", 10, 10, 11],
  ["**", 12, 13, 11],
];

const { expr } = fc.letrec<{ expr: Frag }>((tie) => {
  const e = tie("expr");
  return {
    expr: fc.oneof(
      { maxDepth: 3, depthIdentifier: "expr" },
      atom,
      // a list, with or without a trailing comma
      fc.tuple(fc.array(e, { maxLength: 3 }), fc.boolean()).map(([items, tr]) => ({ t: `[${commaList(items, tr)}]`, lvl: 13 })),
      // a tuple: `()`, `(x,)`, `(a, b)`
      fc.array(e, { maxLength: 3 }).map((items) => ({ t: items.length === 1 ? `(${items[0]!.t},)` : `(${commaList(items, false)})`, lvl: 13 })),
      // a comprehension
      fc.tuple(e, plainName, e, fc.option(e)).map(([body, v, xs, cond]) => ({
        t: `[${body.t}${BREAK}for ${v} in ${at(xs, 4).t}${cond ? `${BREAK}if ${at(cond, 4).t}` : ""}]`,
        lvl: 13,
      })),
      // a call with positional and keyword arguments
      fc.tuple(nameArb, fc.array(fc.tuple(fc.option(plainName), e), { maxLength: 3 }), fc.boolean()).map(([f, args, tr]) => ({
        t: `${f}(${args.map(([k, v]) => (k ? `${k}=${v.t}` : v.t)).join(`,${COMMENT}${BREAK}`)}${tr && args.length ? "," : ""})`,
        lvl: 13,
        word: f,
      })),
      fc.tuple(e, plainName).map(([o, n]) => {
        const obj = at(o, 13);
        return { t: `${obj.t}.${n}`, lvl: 13, ...(obj.word !== undefined ? { word: obj.word } : {}) };
      }),
      fc.tuple(e, e).map(([o, i]) => {
        const obj = at(o, 13);
        return { t: `${obj.t}[${i.t}]`, lvl: 13, ...(obj.word !== undefined ? { word: obj.word } : {}) };
      }),
      e.map((x) => ({ t: `-${at(x, 11).t}`, lvl: 11 })),
      e.map((x) => ({ t: `not ${at(x, 6).t}`, lvl: 6 })),
      fc.tuple(fc.constantFrom(...binaryOps), e, e, fc.boolean()).map(([[op, lvl, lmin, rmin], l, r, tight]) => {
        const left = at(l, lmin);
        const sep = op === ".." && tight ? op : ` ${op}${BREAK}`;
        return { t: `${left.t}${sep}${at(r, rmin).t}`, lvl, ...(left.word !== undefined ? { word: left.word } : {}) };
      }),
      // `a if c`, `a if c else b`
      fc.tuple(e, e, fc.option(e)).map(([a, c, b]) => {
        const then = at(a, 4);
        return { t: `${then.t} if ${at(c, 4).t}${b ? `${BREAK}else ${at(b, 3).t}` : ""}`, lvl: 3, ...(then.word !== undefined ? { word: then.word } : {}) };
      }),
      // a pipe of labelled and plain stages
      fc.array(fc.tuple(fc.option(labelArb, { freq: 2 }), e), { minLength: 2, maxLength: 4 }).map((stages) => {
        const parts = stages.map(([label, body], i) => {
          if (label !== null) return `${label}: ${at(body, 3).t}`;
          const s = at(body, 2);
          return i > 0 && s.word !== undefined && statementWords.has(s.word) ? paren(s).t : s.t;
        });
        const first = stages[0]!;
        return { t: parts.join(`${BREAK}| `), lvl: 1, ...(first[0] === null && first[1].word !== undefined ? { word: first[1].word } : {}) };
      }),
      fc.tuple(labelArb, e).map(([label, body]) => ({ t: `${label}: ${at(body, 3).t}`, lvl: 2 })),
      // `let v = value body`; the body must not start where the value could continue
      fc.tuple(plainName, e, e).map(([v, value, body]) => {
        const b = /^[([\-]/.test(at(body, 1).t) ? { t: "z", lvl: 13 } : at(body, 1);
        return { t: `let ${v} = ${value.t}${BREAK}${b.t}`, lvl: 0 };
      }),
      // redundant parentheses, which the formatter keeps
      e.map((x) => paren(x)),
    ),
  };
});

/** A simple expression for places that read better short (stage clauses, defaults). */
const smallExpr = fc.oneof(
  atom,
  expr.filter((f) => f.t.length < 40),
);

const pathArb = fc
  .tuple(
    plainName.filter((n) => !clauseWords.has(n)),
    fc.array(
      fc.oneof(
        plainName.map((n) => `.${n}`),
        fc.constantFrom(".0", ".1", ".0-5", ".2 - 3"),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([n, segs]) => n + segs.join(""));

const clauseArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.array(pathArb, { maxLength: 2 }), fc.option(fc.constantFrom("5", "10", ".5")))
    .map(([ps, n]) => `freeze${ps.length ? ` ${ps.join(`,${COMMENT} `)}` : ""}${n ? ` ${n}` : ""}`),
  fc.array(pathArb, { maxLength: 2 }).map((ps) => `unfreeze${ps.length ? ` ${ps.join(", ")}` : ""}`),
  fc.constantFrom("5", "30"),
  fc.tuple(fc.constantFrom("epochs", "lr", "batch", "schedule", "optimizer"), smallExpr).map(([k, v]) => `${k} ${v.t}`),
);

/** A stage: clauses stay on the stage's line, or continue on the next after a comma. */
const stageArb = fc
  .tuple(
    fc.option(nameArb.filter((n) => n !== "freeze")),
    fc.array(fc.tuple(clauseArb, fc.constantFrom(", ", " ", `,${COMMENT} `)), { minLength: 1, maxLength: 4 }),
  )
  .map(([name, clauses]) => {
    const body = clauses.map(([c, sep], i) => (i === 0 ? c : sep + c)).join("");
    return `stage ${name !== null ? `${name}: ` : ""}${body}`.replaceAll(BREAK, " ");
  });

const roleArb = fc.tuple(fc.constantFrom("backbone", "neck", "decoder", "head"), expr).map(([r, e]) => `${r} ${e.t}`);
const policyArb = fc
  .tuple(
    fc.constantFrom("task", "loss", "optimizer", "schedule", "augment", "normalize", "data", "metrics", "epochs", "batch", "seed"),
    fc.array(expr, { minLength: 1, maxLength: 3 }),
  )
  .map(([k, vs]) => `${k} ${vs.map((v) => v.t).join(`,${COMMENT}${BREAK}`)}`);
const inputArb = expr.map((e) => `input ${e.t}`);
const letArb = fc.tuple(plainName, expr).map(([n, e]) => `let ${n} = ${e.t}`);
const defArb = fc.tuple(plainName, fc.option(fc.array(fc.tuple(plainName, fc.option(smallExpr)), { maxLength: 3 })), expr).map(([n, ps, body]) => {
  const params = ps === null ? "" : `(${ps.map(([p, d]) => (d ? `${p}=${d.t}` : p)).join(`,${COMMENT}${BREAK}`)})`;
  return `def ${n}${params} = ${body.t}`;
});

/** A model statement and whether it may follow `|` in the compact form. */
const statementArb: fc.Arbitrary<{ t: string; joinable: boolean; def: boolean }> = fc.oneof(
  inputArb.map((t) => ({ t, joinable: true, def: false })),
  roleArb.map((t) => ({ t, joinable: true, def: false })),
  policyArb.map((t) => ({ t, joinable: true, def: false })),
  stageArb.map((t) => ({ t, joinable: true, def: false })),
  letArb.map((t) => ({ t, joinable: false, def: false })),
  defArb.map((t) => ({ t, joinable: false, def: true })),
);

const ownLineComment = fc.constantFrom("# note", "#tight", "## doc-like", "# a # b", "#", "#   spaced   ");
const trailComment = fc.constantFrom("# note", "#tight", "# a # b", "#", "#   spaced   ", "## after code");
/** What comes before an item or statement: blank lines, comment lines, a `##` doc. */
const leadArb = fc.record({
  blank: fc.boolean(),
  comments: fc.array(ownLineComment, { maxLength: 2 }),
  doc: fc.array(fc.constantFrom("## Doc line.", "## more"), { maxLength: 2 }),
});
const trailArb = fc.option(trailComment, { freq: 3 });

const modelArb = fc
  .tuple(
    plainName,
    fc.array(fc.tuple(leadArb, statementArb, fc.constantFrom("\n", "\n", "; ", " | "), trailArb), { maxLength: 6 }),
    fc.option(trailComment, { freq: 3 }),
  )
  .map(([name, stmts, inner]) => {
    let body = "";
    stmts.forEach(([lead, s, sep, trail], i) => {
      const prev = stmts[i - 1];
      // `|` joins only before a statement word; `;` and `|` keep the statements on one line. (A def
      // after `;` would share the doc of its line with the statement before it: see format.test.ts.)
      const joined = prev && !s.def && (prev[2] === "; " || (prev[2] === " | " && s.joinable)) && !prev[3];
      if (i > 0) body += joined ? prev[2] : "\n";
      if (!joined) {
        if (lead.blank && i > 0) body += "\n";
        for (const c of lead.comments) body += `  ${c}\n`;
        if (s.def) for (const d of lead.doc) body += `  ${d}\n`;
        body += "  ";
      }
      body += s.t;
      if (trail) body += ` ${trail}`;
    });
    return `model ${name} {${inner ? ` ${inner}` : ""}\n${body}\n}`;
  });

const itemArb = fc.oneof(
  { weight: 3, arbitrary: defArb.map((t) => ({ t, doc: true })) },
  { weight: 2, arbitrary: letArb.map((t) => ({ t, doc: false })) },
  { weight: 2, arbitrary: modelArb.map((t) => ({ t, doc: true })) },
  { weight: 1, arbitrary: fc.constantFrom(`import "lib/blocks.medg"`, `import 'x.medg'`).map((t) => ({ t, doc: false })) },
);

/** Replaces the layout markers: line breaks and comments after commas, chosen by a seed. */
function layout(text: string, seed: number): string {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  return text.replace(/[\u0001\u0002]/g, (m) => {
    if (m === BREAK) {
      const r = rnd();
      return r < 0.1 ? "\n      " : r < 0.13 ? " # inside\n      " : r < 0.16 ? "\n      # own line\n      " : " ";
    }
    return rnd() < 0.15 ? ` # after comma\n      ` : "";
  });
}

/** A whole program: items with blank lines, comments and docs between them. */
export const programArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.tuple(leadArb, itemArb, trailArb), { minLength: 1, maxLength: 6 }), fc.option(ownLineComment), fc.integer())
  .map(([items, last, seed]) => {
    let out = "";
    items.forEach(([lead, item, trail], i) => {
      if (i > 0) out += lead.blank ? "\n\n" : "\n";
      for (const c of lead.comments) out += `${c}\n`;
      if (item.doc) for (const d of lead.doc) out += `${d}\n`;
      out += item.t;
      if (trail) out += ` ${trail}`;
    });
    if (last) out += `\n${last}`;
    return layout(out, seed) + "\n";
  });
