import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "./ast.js";
import { LineMap, type Span } from "./span.js";

type Children = Record<string, CstElement[] | undefined>;

function isToken(e: CstElement | undefined): e is IToken {
  return e !== undefined && "image" in e;
}

const noNodes: readonly CstNode[] = [];

/** Whether a token's text starts like a name (a letter or `_`). */
function startsName(image: string): boolean {
  const c = image.charCodeAt(0);
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** Converts the CST to the AST. Defensive throughout: recovered CST nodes may lack children. */
export class CstToAst {
  constructor(
    private readonly file: string,
    private readonly lines: LineMap,
    /** Offset of the parsed text inside the file (for interpolated strings). */
    private readonly base = 0,
    private readonly parseInterpolation?: (text: string, offset: number) => A.Expr,
  ) {}

  private spanOf(start: number, endInclusive: number): Span {
    if (!Number.isFinite(start)) return this.lines.span(this.file, this.base, this.base);
    // Recovery can leave a node without an end: it then covers nothing past its start.
    const end = Number.isFinite(endInclusive) && endInclusive >= start ? endInclusive + 1 : start;
    return this.lines.span(this.file, this.base + start, this.base + end);
  }

  tokenSpan(t: IToken): Span {
    return this.spanOf(t.startOffset, t.endOffset ?? t.startOffset);
  }
  nodeSpan(n: CstNode | IToken): Span {
    if (isToken(n)) return this.tokenSpan(n);
    const l = n.location;
    return l ? this.spanOf(l.startOffset, l.endOffset ?? l.startOffset) : this.lines.span(this.file, this.base, this.base);
  }
  private node(ch: Children, name: string, i = 0): CstNode | undefined {
    const e = ch[name]?.[i];
    return e && !isToken(e) ? e : undefined;
  }
  private nodes(ch: Children, name: string): readonly CstNode[] {
    const list = ch[name];
    if (list === undefined) return noNodes;
    // Children filed under a rule's name are nodes; the list is handed out as is rather than copied.
    for (const e of list) if (isToken(e)) return list.filter((x): x is CstNode => !isToken(x));
    return list as CstNode[];
  }
  private token(ch: Children, name: string, i = 0): IToken | undefined {
    const e = ch[name]?.[i];
    return isToken(e) && !e.isInsertedInRecovery ? e : undefined;
  }
  /** All tokens of the children, in source order. */
  private tokens(ch: Children): IToken[] {
    const out: IToken[] = [];
    for (const key in ch) for (const e of ch[key] ?? []) if (isToken(e)) out.push(e);
    return out.length > 1 ? out.sort((a, b) => a.startOffset - b.startOffset) : out;
  }
  private identifier(ch: Children, i = 0): IToken | undefined {
    // Soft keywords are Identifiers by category, but Chevrotain files them under their own names.
    let k = 0;
    for (const t of this.tokens(ch)) {
      if (t.isInsertedInRecovery || !startsName(t.image)) continue;
      const type = t.tokenType.name;
      if ((type === "Identifier" || type.startsWith("Kw_")) && k++ === i) return t;
    }
    return undefined;
  }
  private missing(span: Span): A.Missing {
    return { kind: "missing", span };
  }

  module(cst: CstNode, comments: IToken[]): A.Module {
    const ch = cst.children as Children;
    const items: A.TopLevel[] = [];
    const all = Object.values(ch).flat().filter((e): e is CstNode => !!e && !isToken(e));
    all.sort((a, b) => (a.location?.startOffset ?? 0) - (b.location?.startOffset ?? 0));
    const docs = docComments(comments, this.lines);
    for (const n of all) {
      if (n.name === "importStmt") {
        const item = this.importStmt(n);
        if (item) items.push(item);
      } else if (n.name === "defStmt") items.push(this.defStmt(n, docs));
      else if (n.name === "letStmt") items.push(this.letStmt(n));
      else if (n.name === "modelDecl") items.push(this.modelDecl(n, docs));
    }
    const span = this.lines.span(this.file, 0, this.lines.text.length);
    return { file: this.file, span, items, comments: comments.map((c) => ({ text: c.image, span: this.tokenSpan(c) })) };
  }

  private importStmt(n: CstNode): A.ImportStmt | undefined {
    const s = this.token(n.children as Children, "String");
    if (!s) return undefined;
    return { kind: "import", path: unquote(s.image), pathSpan: this.tokenSpan(s), span: this.nodeSpan(n) };
  }

  private defStmt(n: CstNode, docs: Map<number, string>): A.DefStmt {
    const ch = n.children as Children;
    const name = this.identifier(ch);
    const params = this.nodes(ch, "param").map((p): A.Param => {
      const pc = p.children as Children;
      const id = this.identifier(pc);
      const d = this.node(pc, "expression");
      const param: A.Param = { name: id?.image ?? "_", span: this.nodeSpan(p) };
      if (d) param.default = this.expression(d);
      return param;
    });
    const body = this.node(ch, "expression");
    const span = this.nodeSpan(n);
    const def: A.DefStmt = {
      kind: "def",
      name: name?.image ?? "_",
      nameSpan: name ? this.tokenSpan(name) : span,
      params,
      body: body ? this.expression(body) : this.missing(span),
      span,
    };
    const doc = docs.get(span.start.line);
    if (doc) def.doc = doc;
    return def;
  }

  private letBinding(n: CstNode): A.LetBinding {
    const ch = n.children as Children;
    const name = this.identifier(ch);
    const value = this.node(ch, "expression");
    const span = this.nodeSpan(n);
    return { name: name?.image ?? "_", nameSpan: name ? this.tokenSpan(name) : span, value: value ? this.expression(value) : this.missing(span), span };
  }

  private letStmt(n: CstNode): A.LetStmt {
    return { kind: "let", binding: this.letBinding(n), span: this.nodeSpan(n) };
  }

  private modelDecl(n: CstNode, docs: Map<number, string>): A.ModelDecl {
    const ch = n.children as Children;
    const name = this.identifier(ch);
    const span = this.nodeSpan(n);
    const statements: A.ModelStmt[] = [];
    for (const line of this.nodes(ch, "modelLine"))
      for (const stmt of this.nodes(line.children as Children, "modelStmt")) {
        const s = this.modelStmt(stmt, docs);
        if (s) statements.push(s);
      }
    const model: A.ModelDecl = { kind: "model", name: name?.image ?? "_", nameSpan: name ? this.tokenSpan(name) : span, statements, span };
    const doc = docs.get(span.start.line);
    if (doc) model.doc = doc;
    return model;
  }

  private modelStmt(n: CstNode, docs: Map<number, string>): A.ModelStmt | undefined {
    const inner = Object.values(n.children as Children)
      .flat()
      .find((e): e is CstNode => !!e && !isToken(e));
    if (!inner) return undefined;
    const ch = inner.children as Children;
    const span = this.nodeSpan(inner);
    const exprOr = (i = 0) => {
      const e = this.node(ch, "expression", i);
      return e ? this.expression(e) : this.missing(span);
    };
    switch (inner.name) {
      case "inputStmt":
        return { kind: "input", value: exprOr(), span };
      case "roleStmt": {
        const kw = this.tokens(ch)[0]!;
        return { kind: "role", role: kw.image, roleSpan: this.tokenSpan(kw), value: exprOr(), span };
      }
      case "policyStmt": {
        const kw = this.tokens(ch)[0]!;
        return { kind: "policy", keyword: kw.image, keywordSpan: this.tokenSpan(kw), values: this.nodes(ch, "expression").map((e) => this.expression(e)), span };
      }
      case "stageStmt":
        return this.stageStmt(inner);
      case "letStmt":
        return this.letStmt(inner);
      case "defStmt":
        return this.defStmt(inner, docs);
    }
    return undefined;
  }

  private stageStmt(n: CstNode): A.StageStmt {
    const ch = n.children as Children;
    const span = this.nodeSpan(n);
    const stage: A.StageStmt = { kind: "stage", clauses: [], span };
    const colon = this.token(ch, "Colon");
    if (colon) {
      const name = this.tokens(ch).find((t) => t.startOffset < colon.startOffset && t.image !== "stage");
      if (name) {
        stage.name = name.image;
        stage.nameSpan = this.tokenSpan(name);
      }
    }
    for (const c of this.nodes(ch, "stageClause")) {
      const cc = c.children as Children;
      const cspan = this.nodeSpan(c);
      const first = this.tokens(cc)[0];
      const word = first?.image;
      const targets = () => {
        const t = this.node(cc, "targets");
        return t ? this.nodes(t.children as Children, "labelPath").map((p) => this.labelPath(p)) : [];
      };
      if (word === "freeze" || word === "unfreeze") {
        stage.clauses.push({ kind: word, targets: targets(), span: cspan });
        const count = this.token(cc, "Number");
        if (count) stage.clauses.push({ kind: "epochs", value: this.numberLit(count), span: this.tokenSpan(count) });
      } else if (first && first.tokenType.name === "Number") {
        stage.clauses.push({ kind: "epochs", value: this.numberLit(first), span: cspan });
      } else if (word === "epochs" || word === "lr" || word === "batch") {
        const e = this.node(cc, "expression");
        stage.clauses.push({ kind: word, value: e ? this.expression(e) : this.missing(cspan), span: cspan });
      } else if (word === "schedule" || word === "optimizer") {
        const e = this.node(cc, "expression");
        stage.clauses.push({ kind: word, value: e ? this.expression(e) : this.missing(cspan), span: cspan });
      }
    }
    return stage;
  }

  private labelPath(n: CstNode): A.LabelPath {
    const toks = this.tokens(n.children as Children).filter((t) => !t.isInsertedInRecovery);
    const segments: A.PathSegment[] = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i]!;
      if (t.image === ".") continue;
      if (t.tokenType.name === "Number") {
        const seg: A.PathSegment = { index: Number(t.image), span: this.tokenSpan(t) };
        if (toks[i + 1]?.image === "-" && toks[i + 2]?.tokenType.name === "Number") {
          seg.to = Number(toks[i + 2]!.image);
          seg.span = this.spanOf(t.startOffset, toks[i + 2]!.endOffset ?? t.startOffset);
          i += 2;
        }
        segments.push(seg);
      } else segments.push({ name: t.image, span: this.tokenSpan(t) });
    }
    return { segments, span: this.nodeSpan(n) };
  }

  expression(n: CstNode): A.Expr {
    const ch = n.children as Children;
    const pipe = this.node(ch, "pipe");
    const body = pipe ? this.pipe(pipe) : this.missing(this.nodeSpan(n));
    const lets = this.nodes(ch, "letPrefix");
    if (lets.length === 0) return body;
    return { kind: "let", bindings: lets.map((l) => this.letBinding(l)), body, span: this.nodeSpan(n) };
  }

  private conditional(n: CstNode): A.Expr {
    const ch = n.children as Children;
    const [thenNode, condNode] = this.nodes(ch, "orExpr");
    const then = thenNode ? this.orExpr(thenNode) : this.missing(this.nodeSpan(n));
    if (!ch["If"]) return then;
    const result: A.Conditional = { kind: "conditional", then, condition: condNode ? this.orExpr(condNode) : this.missing(this.nodeSpan(n)), span: this.nodeSpan(n) };
    const other = this.node(ch, "conditional");
    if (other) result.otherwise = this.conditional(other);
    return result;
  }

  private pipe(n: CstNode): A.Expr {
    const stages = this.nodes(n.children as Children, "pipeElement").map((e) => this.pipeElement(e));
    if (stages.length === 1) return stages[0]!;
    if (stages.length === 0) return this.missing(this.nodeSpan(n));
    return { kind: "pipe", stages, span: this.nodeSpan(n) };
  }

  private pipeElement(n: CstNode): A.Expr {
    const ch = n.children as Children;
    const c = this.node(ch, "conditional");
    const body = c ? this.conditional(c) : this.missing(this.nodeSpan(n));
    if (!ch["Colon"]) return body;
    const str = this.token(ch, "String");
    const id = this.identifier(ch);
    const labelTok = str ?? id;
    if (!labelTok) return body;
    const label = str ? this.stringLit(str) : labelTok.image;
    return { kind: "labelled", label: typeof label === "string" ? label : label.parts.every((p) => typeof p === "string") ? label.parts.join("") : label, labelSpan: this.tokenSpan(labelTok), body, span: this.nodeSpan(n) };
  }

  /** Left-associative binary chains share one walker: operands and operator tokens in source order. */
  private chain(n: CstNode, operand: string, next: (c: CstNode) => A.Expr): A.Expr {
    const ch = n.children as Children;
    const operands = this.nodes(ch, operand);
    // Most levels of the precedence ladder hold a single operand: nothing to combine.
    if (operands.length === 1) return next(operands[0]!);
    if (operands.length === 0) return this.missing(this.nodeSpan(n));
    const ops = this.tokens(ch);
    let left = next(operands[0]!);
    // Spans come from the CST, which includes parentheses around an operand and survives recovery.
    const start = this.nodeSpan(operands[0]!).start;
    for (let i = 1; i < operands.length; i++) {
      const right = next(operands[i]!);
      const op = (ops[i - 1]?.image ?? "+") as A.BinaryOp;
      const rightEnd = this.nodeSpan(operands[i]!).end;
      const end = rightEnd.offset >= left.span.end.offset ? rightEnd : left.span.end;
      left = { kind: "binary", op, left, right, span: { file: left.span.file, start, end } };
    }
    return left;
  }

  private orExpr = (n: CstNode): A.Expr => this.chain(n, "andExpr", this.andExpr);
  private andExpr = (n: CstNode): A.Expr => this.chain(n, "notExpr", this.notExpr);
  private notExpr = (n: CstNode): A.Expr => {
    const ch = n.children as Children;
    const inner = this.node(ch, "notExpr");
    if (ch["Not"] && inner) return { kind: "unary", op: "not", operand: this.notExpr(inner), span: this.nodeSpan(n) };
    const c = this.node(ch, "comparison");
    return c ? this.comparison(c) : this.missing(this.nodeSpan(n));
  };
  private comparison = (n: CstNode): A.Expr => this.chain(n, "range", this.range);
  private range = (n: CstNode): A.Expr => this.chain(n, "additive", this.additive);
  private additive = (n: CstNode): A.Expr => this.chain(n, "multiplicative", this.multiplicative);
  private multiplicative = (n: CstNode): A.Expr => this.chain(n, "unary", this.unary);
  private unary = (n: CstNode): A.Expr => {
    const ch = n.children as Children;
    const inner = this.node(ch, "unary");
    if (ch["Minus"] && inner) {
      const operand = this.unary(inner);
      if (operand.kind === "number") return { ...operand, value: -operand.value, text: `-${operand.text}`, span: this.nodeSpan(n) };
      return { kind: "unary", op: "-", operand, span: this.nodeSpan(n) };
    }
    const p = this.node(ch, "power");
    return p ? this.power(p) : this.missing(this.nodeSpan(n));
  };
  private power = (n: CstNode): A.Expr => {
    const ch = n.children as Children;
    const base = this.node(ch, "postfix");
    const left = base ? this.postfix(base) : this.missing(this.nodeSpan(n));
    const exp = this.node(ch, "unary");
    if (!exp) return left;
    return { kind: "binary", op: "**", left, right: this.unary(exp), span: this.nodeSpan(n) };
  };

  private postfix(n: CstNode): A.Expr {
    const ch = n.children as Children;
    const p = this.node(ch, "primary");
    let expr = p ? this.primary(p) : this.missing(this.nodeSpan(n));
    const calls = this.nodes(ch, "callSuffix");
    const members = this.nodes(ch, "memberSuffix");
    const indices = this.nodes(ch, "indexSuffix");
    const kinds = (calls.length ? 1 : 0) + (members.length ? 1 : 0) + (indices.length ? 1 : 0);
    if (kinds === 0) return expr;
    // Each list is in source order already; only suffixes of different kinds need merging.
    const suffixes =
      kinds === 1 ? (calls.length ? calls : members.length ? members : indices) : [...calls, ...members, ...indices].sort((a, b) => (a.location?.startOffset ?? 0) - (b.location?.startOffset ?? 0));
    const start = this.nodeSpan(n).start;
    for (const s of suffixes) {
      const sc = s.children as Children;
      const span = { file: expr.span.file, start, end: this.nodeSpan(s).end };
      if (s.name === "callSuffix") {
        const args = this.nodes(sc, "arg").map((a): A.Arg => {
          const ac = a.children as Children;
          const value = this.node(ac, "expression");
          const arg: A.Arg = { value: value ? this.expression(value) : this.missing(this.nodeSpan(a)), span: this.nodeSpan(a) };
          if (ac["Assign"]) {
            const id = this.identifier(ac);
            if (id) {
              arg.name = id.image;
              arg.nameSpan = this.tokenSpan(id);
            }
          }
          return arg;
        });
        expr = { kind: "call", callee: expr, args, span };
      } else if (s.name === "memberSuffix") {
        const id = this.identifier(sc);
        expr = id ? { kind: "member", object: expr, name: id.image, nameSpan: this.tokenSpan(id), span } : this.missing(span);
      } else {
        const e = this.node(sc, "expression");
        expr = { kind: "index", object: expr, index: e ? this.expression(e) : this.missing(span), span };
      }
    }
    return expr;
  }

  private numberLit(t: IToken): A.NumberLit {
    return { kind: "number", value: Number(t.image), text: t.image, span: this.tokenSpan(t) };
  }

  private primary(n: CstNode): A.Expr {
    const ch = n.children as Children;
    const span = this.nodeSpan(n);
    const paren = this.node(ch, "parenthesized");
    if (paren) {
      const items = this.nodes(paren.children as Children, "expression").map((e) => this.expression(e));
      const commas = (paren.children as Children)["Comma"]?.length ?? 0;
      // `(e)` groups; `(e,)` is a one-item tuple, as in Python.
      if (items.length === 1 && commas === 0) return items[0]!;
      return { kind: "tuple", items, span };
    }
    const bracket = this.node(ch, "bracketed");
    if (bracket) return this.bracketed(bracket);
    const t = this.tokens(ch).find((x) => !x.isInsertedInRecovery);
    if (!t) return this.missing(span);
    switch (t.tokenType.name) {
      case "Number":
        return this.numberLit(t);
      case "String":
        return this.stringLit(t);
      case "True":
      case "False":
        return { kind: "bool", value: t.image === "true", span };
      case "None":
        return { kind: "none", span };
      case "In":
        return { kind: "in", span };
      case "Tap":
      case "From": {
        const id = this.tokens(ch)[1];
        if (!id || id.isInsertedInRecovery) return this.missing(span);
        return { kind: t.tokenType.name === "Tap" ? "tap" : "from", name: id.image, nameSpan: this.tokenSpan(id), span };
      }
      default:
        return { kind: "name", name: t.image, span };
    }
  }

  private bracketed(n: CstNode): A.Expr {
    const ch = n.children as Children;
    const span = this.nodeSpan(n);
    const exprs = this.nodes(ch, "expression").map((e) => this.expression(e));
    if (ch["For"]) {
      const variable = this.identifier(ch);
      const ors = this.nodes(ch, "orExpr");
      const comp: A.Comprehension = {
        kind: "comprehension",
        body: exprs[0] ?? this.missing(span),
        variable: variable?.image ?? "_",
        variableSpan: variable ? this.tokenSpan(variable) : span,
        iterable: ors[0] ? this.orExpr(ors[0]) : this.missing(span),
        span,
      };
      if (ors[1]) comp.condition = this.orExpr(ors[1]);
      return comp;
    }
    return { kind: "list", items: exprs, span };
  }

  /** Strings unescape `\"`, `\\`, `\n`; `{expr}` parts are parsed as expressions, `{{` is a brace. */
  stringLit(t: IToken): A.StringLit {
    const span = this.tokenSpan(t);
    const raw = t.image.slice(1, -1);
    const parts: (string | A.Expr)[] = [];
    let text = "";
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === "\\" && i + 1 < raw.length) {
        const e = raw[++i]!;
        text += e === "n" ? "\n" : e === "t" ? "\t" : e;
      } else if (c === "{" && raw[i + 1] === "{") {
        text += "{";
        i++;
      } else if (c === "}" && raw[i + 1] === "}") {
        text += "}";
        i++;
      } else if (c === "{" && this.parseInterpolation) {
        const close = raw.indexOf("}", i);
        if (close < 0) {
          text += c;
          continue;
        }
        if (text) parts.push(text);
        text = "";
        parts.push(this.parseInterpolation(raw.slice(i + 1, close), this.base + t.startOffset + 1 + i + 1));
        i = close;
      } else text += c;
    }
    if (text || parts.length === 0) parts.push(text);
    return { kind: "string", parts, span };
  }
}

export function unquote(image: string): string {
  return image.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

/** `##` comment lines directly above a line, joined: the doc of the def or model on that line. */
export function docComments(comments: IToken[], lines: LineMap): Map<number, string> {
  const byLine = new Map<number, string>();
  for (const c of comments) {
    const line = c.startLine ?? lines.position(c.startOffset).line;
    // Only a comment alone on its line documents what follows; `relu ## note` is a remark.
    if (c.image.startsWith("##") && lines.lineText(line).trimStart().startsWith("##")) byLine.set(line, c.image.replace(/^##\s?/, ""));
  }
  const docs = new Map<number, string>();
  for (const [line] of byLine) {
    if (byLine.has(line + 1)) continue;
    const parts: string[] = [];
    for (let l = line; byLine.has(l); l--) parts.unshift(byLine.get(l)!);
    docs.set(line + 1, parts.join("\n"));
  }
  return docs;
}
