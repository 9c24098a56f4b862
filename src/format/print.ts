import { doc, type Doc } from "prettier";
import type * as A from "../syntax/ast.js";
import { medgLexer, policyWords, roleWords } from "../syntax/tokens.js";
import { CommentTree, isBareNumber, type Clause, type CommentInfo } from "./comments.js";

const { group, indent, line, softline, hardline, join, ifBreak, lineSuffix, breakParent, hardlineWithoutBreakParent } = doc.builders;

/** Words that end a pipe when they follow `|` (the compact model form), unless a `:` follows them. */
const statementWords = new Set<string>(["input", "stage", ...roleWords, ...policyWords]);

/**
 * Binding strength of each expression form, following the grammar from `expression` (0) to
 * `primary` (13). A child printed where the grammar wants a higher level gets parentheses.
 */
function level(e: A.Expr): number {
  switch (e.kind) {
    case "let":
      return 0;
    case "pipe":
      return 1;
    case "labelled":
      return 2;
    case "conditional":
      return 3;
    case "binary":
      return binaryLevel(e.op);
    case "unary":
      return e.op === "not" ? 6 : 11;
    case "number":
      // `-3` is folded into the literal but still reads as a unary minus.
      return e.text.startsWith("-") ? 11 : 13;
    default:
      return 13;
  }
}

function binaryLevel(op: A.BinaryOp): number {
  switch (op) {
    case "or":
      return 4;
    case "and":
      return 5;
    case "==":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=":
      return 7;
    case "..":
      return 8;
    case "+":
    case "-":
      return 9;
    case "*":
    case "/":
    case "//":
    case "%":
      return 10;
    case "**":
      return 12;
  }
}

/** The levels the grammar accepts for the operands of a binary operator. */
function operandLevels(op: A.BinaryOp): [number, number] {
  const l = binaryLevel(op);
  switch (l) {
    case 7:
    case 8:
      return [l + 1, l + 1]; // no chaining: `a < b < c` is an error
    case 12:
      return [13, 11]; // right-associative, and `2 ** -1` is allowed
    default:
      return [l, l + 1]; // left-associative
  }
}

/** Left-associative levels whose chains are laid out as one group (`a + b - c`). */
const chained = new Set([4, 5, 9, 10]);

/** `[a, b]`, `f(x)` and friends break inside their brackets, so `let x = ` may stay on their first line. */
function hugs(e: A.Expr): boolean {
  const k = e.kind === "labelled" ? e.body.kind : e.kind;
  return k === "list" || k === "tuple" || k === "comprehension" || k === "call";
}

export interface PrintOptions {
  printWidth: number;
  tabWidth: number;
  /** Keep parentheses the grammar does not need (default true); without, only needed ones are printed. */
  keepParentheses?: boolean;
}

/** Prints a parsed module as a prettier document. `text` is the source the module was parsed from. */
export function printModule(module: A.Module, text: string, options: PrintOptions = { printWidth: 100, tabWidth: 2 }): Doc {
  return new Printer(new CommentTree(module, text), options).module();
}

class Printer {
  private readonly text: string;
  /** Spaces after `name:` that line up the clauses of consecutive named stages. */
  private readonly stagePad = new Map<A.StageStmt, number>();
  /** Leading comments followed by an empty line that was not in the source (see `planDoc`). */
  private readonly blankAfter = new Set<CommentInfo>();
  /** Expressions the author wrapped in parentheses the grammar does not need: they are kept. */
  private readonly parenthesized = new WeakSet<object>();

  constructor(
    private readonly tree: CommentTree,
    private readonly options: PrintOptions,
  ) {
    this.text = tree.text;
    if (options.keepParentheses !== false) this.findParentheses();
  }

  /**
   * The parser drops grouping parentheses; they are found again in the tokens: an expression
   * whose first token follows a `(` whose matching `)` follows its last token, when that `(` is
   * not a call's.
   */
  private findParentheses(): void {
    const tokens = medgLexer.tokenize(this.text).tokens;
    const startIdx = new Map<number, number>();
    const endIdx = new Map<number, number>();
    const match = new Map<number, number>();
    const open: number[] = [];
    tokens.forEach((t, i) => {
      startIdx.set(t.startOffset, i);
      endIdx.set((t.endOffset ?? t.startOffset) + 1, i);
      if (t.tokenType.name === "LParen") open.push(i);
      else if (t.tokenType.name === "RParen" && open.length) match.set(open.pop()!, i);
    });
    const exprs: A.Expr[] = [];
    const callParens = new Set<number>();
    const visit = (n: object): void => {
      for (const k of this.tree.kids(n)) {
        if (this.tree.tag(k.node) === "expr") {
          const e = k.node as A.Expr;
          exprs.push(e);
          if (e.kind === "call") {
            const last = endIdx.get(e.callee.span.end.offset);
            if (last !== undefined) callParens.add(last + 1);
          }
        }
        visit(k.node);
      }
    };
    visit(this.tree.module);
    for (const e of exprs) {
      const i = startIdx.get(e.span.start.offset);
      const j = endIdx.get(e.span.end.offset);
      if (i === undefined || j === undefined || i === 0) continue;
      if (tokens[i - 1]!.tokenType.name === "LParen" && match.get(i - 1) === j + 1 && !callParens.has(i - 1)) this.parenthesized.add(e);
    }
  }

  private src(span: { start: { offset: number }; end: { offset: number } }): string {
    return this.text.slice(span.start.offset, span.end.offset);
  }

  // ---- comments ---------------------------------------------------------------------------------

  private leading(n: object): Doc {
    const cs = this.tree.comments(n).leading;
    return cs.map((c) => [c.text, hardline, c.blankAfter || this.blankAfter.has(c) ? hardline : ""]);
  }

  private trailing(n: object): Doc {
    const cs = this.tree.comments(n).trailing;
    return cs.map((c, i) =>
      i === 0 && !c.ownLine
        ? [lineSuffix(` ${c.text}`), breakParent]
        : [lineSuffix([hardlineWithoutBreakParent, c.blankBefore ? hardlineWithoutBreakParent : "", c.text]), breakParent],
    );
  }

  private dangling(cs: CommentInfo[]): Doc {
    return cs.map((c, i) => [i === 0 ? "" : [hardline, c.blankBefore ? hardline : ""], c.text]);
  }

  private withComments(n: object, body: Doc): Doc {
    return [this.leading(n), body, this.trailing(n)];
  }

  /**
   * An empty line in the source between two siblings, before the comments printed above the
   * second (at most one is kept). Comments moved there from inside the first do not count.
   */
  private blankBetween(a: A.Node, b: A.Node): boolean {
    const from = a.span.end.offset;
    const lead = this.tree.comments(b).leading.find((c) => c.start >= from);
    const lines = this.text.slice(from, Math.min(b.span.start.offset, lead?.start ?? Infinity)).split("\n");
    return lines.slice(1, -1).some((l) => /^[ \t\r]*$/.test(l));
  }

  /**
   * The `##` comment lines right above a def or model are its documentation. Comments that moved
   * (out of the previous item, or off a line they shared with code) can make the printed lines
   * above a def read as more documentation than it has: an empty line above its doc restores it.
   */
  private planDoc(next: A.TopLevel | A.ModelStmt): void {
    if (next.kind !== "def" && next.kind !== "model") return;
    const expected = next.doc === undefined ? [] : next.doc.split("\n").map((l) => l.trimEnd());
    const lead = this.tree.comments(next).leading;
    const printed: string[] = [];
    for (let i = lead.length - 1; i >= 0 && !lead[i]!.blankAfter && lead[i]!.text.startsWith("##"); i--) printed.unshift(lead[i]!.text.replace(/^##\s?/, ""));
    if (printed.length <= expected.length || printed.slice(printed.length - expected.length).join("\n") !== expected.join("\n")) return;
    this.blankAfter.add(lead[lead.length - 1 - expected.length]!);
  }

  // ---- files, models, statements ---------------------------------------------------------------

  module(): Doc {
    const m = this.tree.module;
    const parts: Doc[] = [];
    m.items.forEach((item, i) => {
      const prev = m.items[i - 1];
      this.planDoc(item);
      if (prev) parts.push(hardline, this.blankBetween(prev, item) ? hardline : "");
      parts.push(this.withComments(item, this.topLevel(item)));
    });
    const dangling = this.tree.comments(m).dangling;
    if (dangling.length) parts.push(this.dangling(dangling));
    if (parts.length === 0) return "";
    parts.push(hardline);
    return parts;
  }

  private topLevel(item: A.TopLevel): Doc {
    switch (item.kind) {
      case "import":
        return ["import ", this.src(item.pathSpan)];
      case "def":
        return this.def(item);
      case "let":
        return this.letStmt(item);
      case "model":
        return this.model(item);
    }
  }

  private def(d: A.DefStmt): Doc {
    let params: Doc = "";
    if (d.params.length > 0) {
      const ps = d.params.map((p) => this.withComments(p, p.default ? [p.name, "=", this.named(p.default)] : p.name));
      params = group(["(", indent([softline, join([",", line], ps)]), ifBreak(","), softline, ")"]);
    } else if (
      this.text
        .slice(d.nameSpan.end.offset, d.body.span.start.offset)
        .replace(/#[^\n]*/g, "")
        .trim()
        .startsWith("(")
    ) {
      params = "()"; // `def f() = …` stays as written
    }
    return ["def ", d.name, params, " =", this.assigned(d.body, false)];
  }

  private letStmt(s: A.LetStmt): Doc {
    return ["let ", s.binding.name, " =", this.assigned(s.binding.value, true)];
  }

  /**
   * The value after `=`: on the same line when it fits, else on the next line, indented. A `let`
   * value may keep a list, tuple or call on the `=` line and break inside its brackets instead.
   */
  private assigned(value: A.Expr, mayHug: boolean): Doc {
    if (value.kind === "let" || this.tree.comments(value).leading.length > 0) return indent([hardline, this.child(value, 0)]);
    if (mayHug && hugs(value)) return [" ", this.child(value, 0)];
    return group(indent([line, this.child(value, 0)]));
  }

  /** A value after a word (`backbone …`, `lr …`): a `let` value goes on its own lines. */
  private afterWord(value: A.Expr): Doc {
    if (value.kind === "let") return indent([hardline, this.child(value, 0)]);
    return [" ", this.child(value, 0, true)];
  }

  /** A value after `name=` (keyword arguments, parameter defaults). */
  private named(value: A.Expr): Doc {
    if (value.kind === "let") return indent([hardline, this.child(value, 0)]);
    return this.child(value, 0, true);
  }

  private model(m: A.ModelDecl): Doc {
    const lines = this.modelLines(m.statements);
    this.alignStages(lines);
    const body: Doc[] = [];
    lines.forEach((ln, i) => {
      const prev = lines[i - 1]?.at(-1);
      this.planDoc(ln[0]!);
      if (prev) body.push(hardline, this.blankBetween(prev, ln[0]!) ? hardline : "");
      body.push(this.modelLine(ln));
    });
    const dangling = this.tree.comments(m).dangling;
    if (dangling.length) body.push(body.length ? hardline : "", this.dangling(dangling));
    return ["model ", m.name, " {", body.length ? [indent([hardline, body]), hardline] : "", "}"];
  }

  /** Statements joined by `|` in the source (the compact form) stay together. */
  private modelLines(stmts: A.ModelStmt[]): A.ModelStmt[][] {
    const lines: A.ModelStmt[][] = [];
    stmts.forEach((s, i) => {
      const prev = stmts[i - 1];
      const joined =
        prev &&
        this.text
          .slice(prev.span.end.offset, s.span.start.offset)
          .replace(/#[^\n]*/g, "")
          .includes("|");
      if (joined) lines.at(-1)!.push(s);
      else lines.push([s]);
    });
    return lines;
  }

  /**
   * Consecutive `stage name:` lines start their clauses in one column. The lines are the printed
   * ones: a compact line that will not fit is split, and its stages join their neighbours (so a
   * second formatting aligns nothing new).
   */
  private alignStages(lines: A.ModelStmt[][]): void {
    let run: A.StageStmt[] = [];
    const flush = () => {
      const named = run.filter((s) => s.name !== undefined);
      const width = Math.max(0, ...named.map((s) => s.name!.length));
      for (const s of named) this.stagePad.set(s, width - s.name!.length);
      run = [];
    };
    lines.forEach((ln, i) => {
      if (i > 0 && this.blankBetween(lines[i - 1]!.at(-1)!, ln[0]!)) flush();
      const split = ln.length === 1 || this.breaks(this.compact(ln), this.options.tabWidth);
      for (const s of split ? ln : [undefined]) {
        if (s?.kind === "stage") run.push(s);
        else flush();
      }
    });
    flush();
  }

  /** Whether a document cannot be printed on one line starting at column `indentWidth`. */
  private breaks(d: Doc, indentWidth: number): boolean {
    const flat = doc.printer.printDocToString(d, { printWidth: Infinity, tabWidth: this.options.tabWidth, useTabs: false }).formatted;
    return flat.includes("\n") || indentWidth + flat.length > this.options.printWidth;
  }

  private modelLine(ln: A.ModelStmt[]): Doc {
    if (ln.length === 1) return this.withComments(ln[0]!, this.statement(ln[0]!));
    return [this.leading(ln[0]!), this.compact(ln), this.trailing(ln.at(-1)!)];
  }

  /** One line when it fits, else one statement per line: the `|` only separates statements. */
  private compact(ln: A.ModelStmt[]): Doc {
    const parts: Doc[] = [];
    ln.forEach((s, i) => {
      if (i > 0) parts.push(ifBreak("", " |"), line);
      parts.push(i > 0 ? this.leading(s) : "", this.statement(s), i < ln.length - 1 ? this.trailing(s) : "");
    });
    return group(parts);
  }

  private statement(s: A.ModelStmt): Doc {
    switch (s.kind) {
      case "input":
        return ["input", this.afterWord(s.value)];
      case "role":
        return [s.role, this.afterWord(s.value)];
      case "policy":
        if (s.values.length === 1) return [s.keyword, this.afterWord(s.values[0]!)];
        return [
          s.keyword,
          " ",
          group(
            indent(
              join(
                [",", line],
                s.values.map((v) => this.child(v, 0, true)),
              ),
            ),
          ),
        ];
      case "stage":
        return this.stage(s);
      case "let":
        return this.letStmt(s);
      case "def":
        return this.def(s);
    }
  }

  private stage(s: A.StageStmt): Doc {
    const clauses = this.tree.visibleClauses(s).map((c) => this.withComments(c, this.clause(c)));
    const pad = this.stagePad.get(s) ?? 0;
    return group([
      s.name !== undefined ? ["stage ", s.name, ":"] : "stage",
      indent([pad > 0 ? ifBreak("", " ".repeat(pad)) : "", line, join([",", line], clauses)]),
    ]);
  }

  private clause(c: Clause): Doc {
    if (c.kind === "freeze" || c.kind === "unfreeze") {
      // Paths and the epoch count must stay on the clause word's line.
      const count = this.tree.countOf.get(c);
      return [c.kind, c.targets.length ? [" ", c.targets.map((t) => this.path(t)).join(", ")] : "", count ? [" ", this.src(count.span)] : ""];
    }
    if (isBareNumber(c) || !("value" in c)) return this.src(c.span);
    return [c.kind, this.afterWord(c.value)];
  }

  private path(p: A.LabelPath): string {
    return p.segments
      .map((seg) => {
        if (seg.name !== undefined) return seg.name;
        const written = this.src(seg.span);
        if (seg.to === undefined) return written;
        return `${/^\d+/.exec(written)?.[0] ?? seg.index}-${/\d+$/.exec(written)?.[0] ?? seg.to}`;
      })
      .join(".");
  }

  // ---- expressions ------------------------------------------------------------------------------

  /** An expression with its comments, in parentheses where the context needs them. */
  private child(e: A.Expr, min: number, hanging = false): Doc {
    return this.withComments(e, this.expr(e, min, hanging));
  }

  /** The same without its leading comments (the parent prints those elsewhere). */
  private childNoLead(e: A.Expr, min: number, hanging = false): Doc {
    return [this.expr(e, min, hanging), this.trailing(e)];
  }

  private expr(e: A.Expr, min: number, hanging = false): Doc {
    if (level(e) < min || this.parenthesized.has(e)) return this.parens(this.bare(e, false));
    return this.bare(e, hanging);
  }

  private parens(inner: Doc): Doc {
    return group(["(", indent([softline, inner]), softline, ")"]);
  }

  /**
   * The first word of an expression as printed at level `min`, when that word is a name: after
   * `|`, a statement word would end the pipe (`x | head` is two statements in a model).
   */
  private leadingWord(e: A.Expr, min: number): string | undefined {
    if (level(e) < min || this.parenthesized.has(e)) return undefined;
    switch (e.kind) {
      case "name":
        return e.name;
      case "call":
        return this.leadingWord(e.callee, 13);
      case "member":
      case "index":
        return this.leadingWord(e.object, 13);
      case "binary":
        return this.leadingWord(e.left, operandLevels(e.op)[0]);
      case "conditional":
        return this.leadingWord(e.then, 4);
      default:
        return undefined;
    }
  }

  private bare(e: A.Expr, hanging: boolean): Doc {
    switch (e.kind) {
      case "number":
        return e.text;
      case "string":
        return this.src(e.span);
      case "bool":
        return e.value ? "true" : "false";
      case "none":
        return "none";
      case "name":
        return e.name;
      case "in":
        return "in";
      case "tap":
        return ["tap ", e.name];
      case "from":
        return ["from ", e.name];
      case "list":
        return this.bracketed("[", "]", e, e.items, false);
      case "tuple":
        return this.bracketed("(", ")", e, e.items, e.items.length === 1);
      case "comprehension":
        return group([
          "[",
          indent([
            softline,
            this.child(e.body, 0),
            line,
            "for ",
            e.variable,
            " in ",
            this.child(e.iterable, 4),
            e.condition ? [line, this.leading(e.condition), "if ", this.childNoLead(e.condition, 4)] : "",
          ]),
          softline,
          "]",
        ]);
      case "call": {
        const callee = this.child(e.callee, 13);
        if (e.args.length === 0) return [callee, "()"];
        const args = e.args.map((a) => this.withComments(a, a.name !== undefined ? [a.name, "=", this.named(a.value)] : this.child(a.value, 0)));
        return group([callee, "(", indent([softline, join([",", line], args)]), ifBreak(","), softline, ")"]);
      }
      case "member":
        return [this.child(e.object, 13), ".", e.name];
      case "index":
        return group([this.child(e.object, 13), "[", indent([softline, this.child(e.index, 0)]), softline, "]"]);
      case "unary":
        return e.op === "not" ? ["not ", this.child(e.operand, 6)] : ["-", this.child(e.operand, 11)];
      case "binary":
        return this.binary(e);
      case "conditional":
        return this.conditional(e);
      case "pipe":
        return this.pipe(e, hanging);
      case "labelled":
        return [this.src(e.labelSpan), ": ", this.child(e.body, 3)]; // the label as written: a name or a string
      case "let": {
        const bindings = e.bindings.map((b) => this.withComments(b, ["let ", b.name, " =", this.assigned(b.value, true)]));
        // The body is a pipe in the grammar: a nested `let` there needs parentheses.
        return [join(hardline, bindings), hardline, this.child(e.body, 1)];
      }
      case "missing":
        throw new Error("cannot format a file with syntax errors");
    }
  }

  private bracketed(open: string, close: string, n: A.Expr, items: A.Expr[], forceComma: boolean): Doc {
    if (items.length === 0) {
      const dangling = this.tree.comments(n).dangling;
      return dangling.length ? [open, indent([hardline, this.dangling(dangling)]), hardline, close] : open + close;
    }
    const docs = items.map((item) => this.child(item, 0));
    return group([open, indent([softline, join([",", line], docs)]), forceComma ? "," : ifBreak(","), softline, close]);
  }

  private binary(e: A.Binary): Doc {
    const [lmin, rmin] = operandLevels(e.op);
    if (e.op === "..") return [this.child(e.left, lmin), "..", this.child(e.right, rmin)];
    const lvl = binaryLevel(e.op);
    // `a + b - c` is one chain: every operator breaks before itself, one indent deeper.
    const rest: Doc[] = [];
    const walk = (b: A.Binary): Doc => {
      let first: Doc;
      if (chained.has(lvl) && b.left.kind === "binary" && binaryLevel(b.left.op) === lvl && !this.parenthesized.has(b.left)) {
        first = walk(b.left);
        rest.push(this.trailing(b.left)); // after the inner operation's last operand
      } else first = this.child(b.left, lmin);
      rest.push([line, this.leading(b.right), b.op, " ", this.childNoLead(b.right, rmin)]);
      return first;
    };
    const first = walk(e);
    return group([first, indent(rest)]);
  }

  private conditional(e: A.Conditional): Doc {
    const head: Doc[] = [this.child(e.then, 4), " if ", this.child(e.condition, 4)];
    const tail: Doc[] = [];
    let other = e.otherwise;
    // `a if c else b if d else e` lays out as one chain of `else` lines.
    while (other) {
      if (other.kind === "conditional" && other.otherwise && !this.parenthesized.has(other) && this.tree.comments(other).trailing.length === 0) {
        tail.push(line, this.leading(other), "else ", this.child(other.then, 4), " if ", this.child(other.condition, 4));
        other = other.otherwise;
      } else {
        tail.push(line, this.leading(other), "else ", this.childNoLead(other, 3));
        other = undefined;
      }
    }
    return group([head, indent(tail)]);
  }

  private pipe(e: A.Pipe, hanging: boolean): Doc {
    const first = this.child(e.stages[0]!, 2);
    const rest = e.stages.slice(1).map((s) => {
      const word = this.leadingWord(s, 2);
      const body = word !== undefined && statementWords.has(word) ? this.parens(this.bare(s, false)) : this.expr(s, 2);
      return [line, this.leading(s), "| ", body, this.trailing(s)];
    });
    // A pipe that starts its line keeps `|` under its first stage; after a word it hangs.
    return group([first, hanging ? indent(rest) : rest]);
  }
}
