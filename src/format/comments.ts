import type * as A from "../syntax/ast.js";

/**
 * Comment attachment for the formatter.
 *
 * Every `#` comment runs to the end of its line, so the printer must only place a comment where a
 * line break is allowed and must never let two comments end up on one line (they would merge into
 * one comment). Comments are attached the way prettier does it (enclosing node, preceding and
 * following child), then moved up the tree until they sit where the printer can put them safely:
 *
 * - a *leading* comment is printed on its own line(s) before its node, so the node must start a
 *   line when its parent breaks (a statement, an argument, a list item, a pipe stage …);
 * - a *trailing* comment is printed at the end of the line holding its node's last token, so a
 *   line break must follow the node in its parent (after an argument's comma, before the next
 *   `|` …). A node that ends its parent (the last stage of a pipe, the value of `lr`) hands its
 *   trailing comments to the parent. Only the first trailing comment of a node can share its
 *   line; the others go on lines of their own, as leading comments of the next sibling when
 *   there is one (where formatting the output again would attach them).
 * - *dangling* comments are the only content of an empty list, tuple, model or file.
 *
 * Comments inside a leaf (`tap # …` newline `x`) trail it.
 */

export interface CommentInfo {
  /** The comment as written, without trailing whitespace. */
  text: string;
  start: number;
  end: number;
  /** Nothing but whitespace before it on its line. */
  ownLine: boolean;
  /** An empty line right above the comment's line. */
  blankBefore: boolean;
  /** An empty line right below the comment's line. */
  blankAfter: boolean;
}

export interface Attached {
  leading: CommentInfo[];
  trailing: CommentInfo[];
  dangling: CommentInfo[];
}

/** A child of a node, with where the parent's layout can put its comments. */
export interface Kid {
  node: object;
  /** A line break may precede the child when its parent breaks: leading comments stay. */
  lead: boolean;
  /** A line break follows the child when its parent breaks: trailing comments stay. */
  trail: boolean;
}

export type Clause = A.StageClause;

export type Tag =
  "module" | "import" | "def" | "letStmt" | "model" | "input" | "role" | "policy" | "stage" | "clause" | "path" | "param" | "arg" | "binding" | "expr";

const startOf = (n: object): number => (n as A.Node).span.start.offset;
const endOf = (n: object): number => (n as A.Node).span.end.offset;

/** The tree the formatter works on: the AST with each node's role and comments. */
export class CommentTree {
  private readonly tags = new WeakMap<object, Tag>();
  private readonly kidsOf = new WeakMap<object, Kid[]>();
  private readonly attached = new WeakMap<object, Attached>();
  /** The epoch count clause written inside a freeze clause, by that freeze clause. */
  readonly countOf = new WeakMap<object, Clause>();
  /** Clauses that are such a count (printed by their freeze clause, not as clauses of the stage). */
  readonly isCount = new WeakSet<object>();

  constructor(
    readonly module: A.Module,
    readonly text: string,
  ) {
    this.walk(module, "module");
    for (const c of module.comments) this.place(this.info(c));
    this.normalize(module);
  }

  tag(n: object): Tag {
    return this.tags.get(n) ?? "expr";
  }

  kids(n: object): Kid[] {
    return this.kidsOf.get(n) ?? [];
  }

  comments(n: object): Attached {
    let a = this.attached.get(n);
    if (!a) {
      a = { leading: [], trailing: [], dangling: [] };
      this.attached.set(n, a);
    }
    return a;
  }

  /** The stage clauses printed as clauses: a freeze clause's epoch count is printed with it. */
  visibleClauses(s: A.StageStmt): Clause[] {
    return s.clauses.filter((c) => !this.isCount.has(c));
  }

  // ---- the tree --------------------------------------------------------------------------------

  private set(n: object, tag: Tag, kids: Kid[]): void {
    this.tags.set(n, tag);
    this.kidsOf.set(n, kids);
  }

  private walk(n: object, tag: Tag): void {
    const kids: Kid[] = [];
    const add = (node: object | undefined, childTag: Tag, lead: boolean, trail: boolean) => {
      if (!node) return;
      kids.push({ node, lead, trail });
      this.walk(node, childTag);
    };
    switch (tag) {
      case "module":
        for (const item of (n as A.Module).items) add(item, topTag(item), true, true);
        break;
      case "def": {
        const d = n as A.DefStmt;
        for (const p of d.params) add(p, "param", true, true);
        add(d.body, "expr", true, false);
        break;
      }
      case "letStmt":
        add((n as A.LetStmt).binding.value, "expr", true, false);
        break;
      case "binding":
        add((n as A.LetBinding).value, "expr", true, false);
        break;
      case "model":
        for (const s of (n as A.ModelDecl).statements) add(s, stmtTag(s), true, true);
        break;
      case "input":
      case "role":
        add((n as A.InputStmt | A.RoleStmt).value, "expr", false, false);
        break;
      case "policy": {
        const values = (n as A.PolicyStmt).values;
        values.forEach((v, i) => add(v, "expr", i > 0, i < values.length - 1));
        break;
      }
      case "stage": {
        const s = n as A.StageStmt;
        // A freeze clause's epoch count (`freeze backbone 5`) lies inside the freeze clause.
        let previous: Clause | undefined;
        for (const c of s.clauses) {
          if (previous?.kind === "freeze" && c.kind === "epochs" && startOf(c) >= startOf(previous) && endOf(c) <= endOf(previous)) {
            this.countOf.set(previous, c);
            this.isCount.add(c);
          } else previous = c;
        }
        const visible = this.visibleClauses(s);
        visible.forEach((c, i) => add(c, "clause", true, i < visible.length - 1));
        break;
      }
      case "clause": {
        const c = n as Clause;
        if (c.kind === "freeze" || c.kind === "unfreeze") {
          for (const t of c.targets) add(t, "path", false, false);
          add(this.countOf.get(c), "clause", false, false);
        } else if (!isBareNumber(c) && "value" in c) add(c.value, "expr", false, false);
        break;
      }
      case "param":
        add((n as A.Param).default, "expr", false, false);
        break;
      case "arg":
        add((n as A.Arg).value, "expr", false, false);
        break;
      case "expr":
        this.walkExpr(n as A.Expr, add);
        break;
      case "import":
      case "path":
        break;
    }
    this.set(
      n,
      tag,
      kids.sort((a, b) => startOf(a.node) - startOf(b.node)),
    );
  }

  private walkExpr(e: A.Expr, add: (node: object | undefined, tag: Tag, lead: boolean, trail: boolean) => void): void {
    switch (e.kind) {
      case "list":
      case "tuple":
        for (const item of e.items) add(item, "expr", true, true);
        break;
      case "comprehension":
        add(e.body, "expr", true, true);
        add(e.iterable, "expr", false, true);
        add(e.condition, "expr", true, true);
        break;
      case "call":
        // `f # …` then `(`: the comment would land after `(` and lead the arguments next time.
        add(e.callee, "expr", false, false);
        for (const a of e.args) add(a, "arg", true, true);
        break;
      case "member":
        add(e.object, "expr", false, false);
        break;
      case "index":
        add(e.object, "expr", false, false);
        add(e.index, "expr", true, true);
        break;
      case "unary":
        add(e.operand, "expr", false, false);
        break;
      case "binary": {
        // `a..b` is printed without a break; the other operators break before the operator.
        const breaks = e.op !== "..";
        add(e.left, "expr", false, breaks);
        add(e.right, "expr", breaks, false);
        break;
      }
      case "conditional":
        add(e.then, "expr", false, false);
        add(e.condition, "expr", false, e.otherwise !== undefined);
        add(e.otherwise, "expr", true, false);
        break;
      case "pipe":
        e.stages.forEach((s, i) => add(s, "expr", i > 0, i < e.stages.length - 1));
        break;
      case "labelled":
        add(e.body, "expr", false, false);
        break;
      case "let":
        for (const b of e.bindings) add(b, "binding", true, true);
        add(e.body, "expr", true, false);
        break;
      default:
        break;
    }
  }

  // ---- attachment ------------------------------------------------------------------------------

  private info(c: A.Comment): CommentInfo {
    const text = this.text;
    const start = c.span.start.offset;
    const end = c.span.end.offset;
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    const ownLine = /^[ \t]*$/.test(text.slice(lineStart, start));
    let before = lineStart - 1;
    while (before >= 0 && /[ \t\r\n]/.test(text[before]!)) before--;
    const blankBefore = before >= 0 && countNewlines(text.slice(before + 1, lineStart)) >= 2;
    let after = end;
    while (after < text.length && /[ \t\r\n]/.test(text[after]!)) after++;
    const blankAfter = after < text.length && countNewlines(text.slice(end, after)) >= 2;
    return { text: c.text.replace(/\s+$/, ""), start, end, ownLine, blankBefore, blankAfter };
  }

  private place(c: CommentInfo): void {
    let enclosing: object = this.module;
    let preceding: Kid | undefined;
    let following: Kid | undefined;
    for (;;) {
      preceding = undefined;
      following = undefined;
      let inner: Kid | undefined;
      for (const k of this.kids(enclosing)) {
        const s = startOf(k.node);
        const e = endOf(k.node);
        if (s <= c.start && c.end <= e) {
          inner = k;
          break;
        }
        if (e <= c.start) preceding = k;
        else if (s >= c.end && !following) following = k;
      }
      if (!inner) break;
      enclosing = inner.node;
    }
    const a = (n: object) => this.comments(n);
    if (this.kids(enclosing).length === 0) {
      // Inside a leaf (`tap # …` newline `x`) or an empty container.
      if (isContainer(enclosing, this.tag(enclosing))) a(enclosing).dangling.push(c);
      else a(enclosing).trailing.push(c);
      return;
    }
    if (c.ownLine) {
      if (following) a(following.node).leading.push(c);
      else if (preceding) a(preceding.node).trailing.push(c);
      else a(enclosing).dangling.push(c);
      return;
    }
    // After code on its line: it ends that line's thought, unless an opening token or an operator
    // stands between it and the code before (`f( # …`, `x = # …`, `a | # …`).
    if (preceding && (!following || /^[\s,;)\]}]*$/.test(this.text.slice(endOf(preceding.node), c.start).replace(/#[^\n]*/g, "")))) {
      a(preceding.node).trailing.push(c);
    } else if (following) a(following.node).leading.push(c);
    else a(enclosing).dangling.push(c);
  }

  /**
   * Moves comments up from places where the printer cannot put them (see the module comment).
   * Trailing comments that will be printed on lines of their own, before a following sibling,
   * become that sibling's leading comments: where a second formatting would attach them.
   */
  private normalize(n: object): void {
    const mine = this.comments(n);
    const kids = this.kids(n);
    kids.forEach((k, i) => {
      this.normalize(k.node);
      const theirs = this.comments(k.node);
      if (!k.lead && theirs.leading.length) {
        mine.leading.push(...theirs.leading);
        theirs.leading = [];
      }
      if (!k.trail && theirs.trailing.length) {
        mine.trailing.push(...theirs.trailing);
        theirs.trailing = [];
      }
      const next = kids[i + 1];
      if (next && theirs.trailing.length) {
        // Only the first, when it followed code, stays at the end of the sibling's line.
        const own = theirs.trailing.splice(theirs.trailing[0]!.ownLine ? 0 : 1);
        this.comments(next.node).leading.unshift(...own);
      }
    });
    mine.leading.sort((x, y) => x.start - y.start);
    mine.trailing.sort((x, y) => x.start - y.start);
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === "\n") n++;
  return n;
}

function isContainer(n: object, tag: Tag): boolean {
  if (tag === "module" || tag === "model") return true;
  if (tag !== "expr") return false;
  const k = (n as A.Expr).kind;
  return k === "list" || k === "tuple";
}

function topTag(item: A.TopLevel): Tag {
  switch (item.kind) {
    case "import":
      return "import";
    case "def":
      return "def";
    case "let":
      return "letStmt";
    case "model":
      return "model";
  }
}

function stmtTag(s: A.ModelStmt): Tag {
  switch (s.kind) {
    case "input":
      return "input";
    case "role":
      return "role";
    case "policy":
      return "policy";
    case "stage":
      return "stage";
    case "let":
      return "letStmt";
    case "def":
      return "def";
  }
}

/** `stage 10 lr 1e-3`: an epoch count written as a bare number. */
export function isBareNumber(c: Clause): boolean {
  return c.kind === "epochs" && "value" in c && c.value.kind === "number" && c.value.span.start.offset === c.span.start.offset;
}
