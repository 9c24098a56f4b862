/**
 * A direct parser for text without syntax errors: the grammar of parser.ts, deciding as Chevrotain's
 * lookahead does, building the AST that cst-to-ast.ts would build from the CST. It skips the CST
 * (most of the parse's time and allocation, and what an editor pays on every keystroke). At the first
 * token it does not expect it gives up, and parse() runs the Chevrotain parser, whose error recovery
 * and messages are the reference; so is the grammar, which this file follows rule by rule.
 */
import type { IToken, TokenType } from "chevrotain";
import type * as A from "./ast.js";
import { docComments, unquote } from "./cst-to-ast.js";
import type { LineMap, Position, Span } from "./span.js";
import * as T from "./tokens.js";

/** Thrown at an unexpected token: the text is left to the Chevrotain parser. */
const GIVE_UP = new Error("not a clean parse");

const idx = (t: TokenType): number => t.tokenTypeIdx!;
const identifiers = new Set([T.Identifier, T.Input, T.Stage, ...T.roleTokens, ...T.policyTokens, ...T.stageClauseTokens].map(idx));
const roleSet = new Set(T.roleTokens.map(idx));
const policySet = new Set(T.policyTokens.map(idx));
const stageClauseSet = new Set(T.stageClauseTokens.map(idx));
const statementStartSet = new Set(T.statementStarts.map(idx));
const comparisonSet = new Set([T.EqEq, T.NotEq, T.LessEq, T.GreaterEq, T.Less, T.Greater].map(idx));
const multiplicativeSet = new Set([T.Star, T.FloorDiv, T.Slash, T.Percent].map(idx));
/** Tokens that can start an expression (FIRST of the `expression` rule). */
const expressionStarts = new Set([...[T.Let, T.Not, T.Minus, T.NumberLiteral, T.StringLiteral, T.True, T.False, T.None, T.In, T.Tap, T.From, T.LParen, T.LBracket].map(idx), ...identifiers]);

const I = {
  Import: idx(T.Import),
  Def: idx(T.Def),
  Let: idx(T.Let),
  Model: idx(T.Model),
  If: idx(T.If),
  Else: idx(T.Else),
  For: idx(T.For),
  In: idx(T.In),
  And: idx(T.And),
  Or: idx(T.Or),
  Not: idx(T.Not),
  True: idx(T.True),
  False: idx(T.False),
  None: idx(T.None),
  Tap: idx(T.Tap),
  From: idx(T.From),
  Input: idx(T.Input),
  Stage: idx(T.Stage),
  Freeze: idx(T.Freeze),
  Unfreeze: idx(T.Unfreeze),
  Number: idx(T.NumberLiteral),
  String: idx(T.StringLiteral),
  LParen: idx(T.LParen),
  RParen: idx(T.RParen),
  LBracket: idx(T.LBracket),
  RBracket: idx(T.RBracket),
  LBrace: idx(T.LBrace),
  RBrace: idx(T.RBrace),
  Comma: idx(T.Comma),
  Colon: idx(T.Colon),
  Semicolon: idx(T.Semicolon),
  DotDot: idx(T.DotDot),
  Dot: idx(T.Dot),
  Pipe: idx(T.Pipe),
  Assign: idx(T.Assign),
  Power: idx(T.Power),
  Plus: idx(T.Plus),
  Minus: idx(T.Minus),
};

/** Stands for the end of the input, as Chevrotain's EOF token does (no type, no line). */
const END = { tokenTypeIdx: -1, image: "", startOffset: NaN, endOffset: NaN, startLine: NaN, endLine: NaN } as unknown as IToken;

/**
 * The module's AST, or undefined when the text has a syntax error (or a string whose interpolation
 * does not parse: `stringLit` reports it, and the reference parse must report it in its own order).
 */
export function parseDirect(tokens: readonly IToken[], file: string, lines: LineMap, comments: IToken[], stringLit: (t: IToken) => A.StringLit | undefined): A.Module | undefined {
  try {
    return new DirectParser(tokens, file, lines, 0, stringLit).module(comments);
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

/** An expression that is all of `tokens`, lexed from the text at `base` in the file (a string's `{…}`). */
export function parseDirectExpression(tokens: readonly IToken[], file: string, lines: LineMap, base: number, stringLit: (t: IToken) => A.StringLit | undefined): A.Expr | undefined {
  try {
    const parser = new DirectParser(tokens, file, lines, base, stringLit);
    const expr = parser.expression();
    return parser.atEnd() ? expr : undefined;
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

class DirectParser {
  private pos = 0;
  private docs = new Map<number, string>();

  constructor(
    private readonly tokens: readonly IToken[],
    private readonly file: string,
    private readonly lines: LineMap,
    /** Offset of the tokens' text in the file. */
    private readonly base: number,
    private readonly stringLitOf: (t: IToken) => A.StringLit | undefined,
  ) {}

  atEnd(): boolean {
    return this.pos === this.tokens.length;
  }

  // --- tokens ---

  private la(k: number): IToken {
    return this.tokens[this.pos + k - 1] ?? END;
  }
  private at(type: number): boolean {
    return (this.tokens[this.pos] ?? END).tokenTypeIdx === type;
  }
  private atIdentifier(k = 1): boolean {
    return identifiers.has(this.la(k).tokenTypeIdx);
  }
  private consume(type: number): IToken {
    const t = this.tokens[this.pos];
    if (t === undefined || t.tokenTypeIdx !== type) throw GIVE_UP;
    this.pos++;
    return t;
  }
  private consumeIdentifier(): IToken {
    const t = this.tokens[this.pos];
    if (t === undefined || !identifiers.has(t.tokenTypeIdx)) throw GIVE_UP;
    this.pos++;
    return t;
  }
  private next(): IToken {
    const t = this.tokens[this.pos];
    if (t === undefined) throw GIVE_UP;
    this.pos++;
    return t;
  }
  /** The parser's `sameLine` gate: the next token starts on the line the previous one ends on. */
  private sameLine(): boolean {
    const previous = this.tokens[this.pos - 1] ?? END;
    return previous.endLine === undefined || this.la(1).startLine === previous.endLine;
  }
  private startsStageClause(t: IToken): boolean {
    return stageClauseSet.has(t.tokenTypeIdx) || t.tokenTypeIdx === I.Number;
  }

  // --- spans ---

  private span(start: number, endInclusive: number): Span {
    return this.lines.span(this.file, this.base + start, this.base + endInclusive + 1);
  }
  private tokenSpan(t: IToken): Span {
    return this.span(t.startOffset, t.endOffset!);
  }
  /** The span of what was consumed since token `from`, as a CST node's location gives it. */
  private spanFrom(from: number): Span {
    return this.span(this.tokens[from]!.startOffset, this.tokens[this.pos - 1]!.endOffset!);
  }
  private startOf(from: number): Position {
    return this.lines.position(this.base + this.tokens[from]!.startOffset);
  }
  private endHere(): Position {
    return this.lines.position(this.base + this.tokens[this.pos - 1]!.endOffset! + 1);
  }

  // --- statements ---

  module(comments: IToken[]): A.Module {
    this.docs = docComments(comments, this.lines);
    const items: A.TopLevel[] = [];
    for (;;) {
      const type = this.la(1).tokenTypeIdx;
      if (type === I.Import) items.push(this.importStmt());
      else if (type === I.Def) items.push(this.defStmt());
      else if (type === I.Let) items.push(this.letStmt());
      else if (type === I.Model) items.push(this.modelDecl());
      else break;
    }
    if (this.pos !== this.tokens.length) throw GIVE_UP;
    const span = this.lines.span(this.file, 0, this.lines.text.length);
    return { file: this.file, span, items, comments: comments.map((c) => ({ text: c.image, span: this.tokenSpan(c) })) };
  }

  private importStmt(): A.ImportStmt {
    const from = this.pos;
    this.consume(I.Import);
    const s = this.consume(I.String);
    return { kind: "import", path: unquote(s.image), pathSpan: this.tokenSpan(s), span: this.spanFrom(from) };
  }

  private defStmt(): A.DefStmt {
    const from = this.pos;
    this.consume(I.Def);
    const name = this.consumeIdentifier();
    const params: A.Param[] = [];
    if (this.at(I.LParen)) {
      this.pos++;
      if (this.atIdentifier()) {
        params.push(this.param());
        while (this.at(I.Comma) && this.atIdentifier(2)) {
          this.pos++;
          params.push(this.param());
        }
        if (this.at(I.Comma)) this.pos++;
      }
      this.consume(I.RParen);
    }
    this.consume(I.Assign);
    const body = this.expression();
    const span = this.spanFrom(from);
    const def: A.DefStmt = { kind: "def", name: name.image, nameSpan: this.tokenSpan(name), params, body, span };
    const doc = this.docs.get(span.start.line);
    if (doc) def.doc = doc;
    return def;
  }

  private param(): A.Param {
    const from = this.pos;
    const id = this.consumeIdentifier();
    let value: A.Expr | undefined;
    if (this.at(I.Assign)) {
      this.pos++;
      value = this.expression();
    }
    const param: A.Param = { name: id.image, span: this.spanFrom(from) };
    if (value) param.default = value;
    return param;
  }

  /** `let name = value`, at the top level, in a model, or before an expression. */
  private letBinding(): A.LetBinding {
    const from = this.pos;
    this.consume(I.Let);
    const name = this.consumeIdentifier();
    this.consume(I.Assign);
    const value = this.expression();
    return { name: name.image, nameSpan: this.tokenSpan(name), value, span: this.spanFrom(from) };
  }

  private letStmt(): A.LetStmt {
    const from = this.pos;
    const binding = this.letBinding();
    return { kind: "let", binding, span: this.spanFrom(from) };
  }

  private modelDecl(): A.ModelDecl {
    const from = this.pos;
    this.consume(I.Model);
    const name = this.consumeIdentifier();
    this.consume(I.LBrace);
    const statements: A.ModelStmt[] = [];
    while (this.startsModelStmt()) {
      // A model line: statements joined by `|`, and an optional `;`.
      statements.push(this.modelStmt());
      while (this.at(I.Pipe)) {
        this.pos++;
        statements.push(this.modelStmt());
      }
      if (this.at(I.Semicolon)) this.pos++;
    }
    this.consume(I.RBrace);
    const span = this.spanFrom(from);
    const model: A.ModelDecl = { kind: "model", name: name.image, nameSpan: this.tokenSpan(name), statements, span };
    const doc = this.docs.get(span.start.line);
    if (doc) model.doc = doc;
    return model;
  }

  private startsModelStmt(): boolean {
    const type = this.la(1).tokenTypeIdx;
    return type === I.Input || type === I.Stage || type === I.Let || type === I.Def || roleSet.has(type) || policySet.has(type);
  }

  private modelStmt(): A.ModelStmt {
    const from = this.pos;
    const type = this.la(1).tokenTypeIdx;
    if (type === I.Input) {
      this.pos++;
      const value = this.expression();
      return { kind: "input", value, span: this.spanFrom(from) };
    }
    if (roleSet.has(type)) {
      const kw = this.next();
      const value = this.expression();
      return { kind: "role", role: kw.image, roleSpan: this.tokenSpan(kw), value, span: this.spanFrom(from) };
    }
    if (type === I.Stage) return this.stageStmt();
    if (policySet.has(type)) {
      const kw = this.next();
      const values = [this.expression()];
      while (this.at(I.Comma)) {
        this.pos++;
        values.push(this.expression());
      }
      return { kind: "policy", keyword: kw.image, keywordSpan: this.tokenSpan(kw), values, span: this.spanFrom(from) };
    }
    if (type === I.Let) return this.letStmt();
    if (type === I.Def) return this.defStmt();
    throw GIVE_UP;
  }

  private stageStmt(): A.StageStmt {
    const from = this.pos;
    this.consume(I.Stage);
    let name: IToken | undefined;
    let colon = false;
    if (this.atIdentifier() && this.la(2).tokenTypeIdx === I.Colon) {
      name = this.next();
      this.pos++;
      colon = true;
    }
    const clauses: A.StageClause[] = [];
    this.stageClause(clauses);
    while ((this.sameLine() && this.startsStageClause(this.la(1))) || (this.at(I.Comma) && this.startsStageClause(this.la(2)))) {
      if (this.at(I.Comma)) this.pos++;
      this.stageClause(clauses);
    }
    const stage: A.StageStmt = { kind: "stage", clauses, span: this.spanFrom(from) };
    // The name is the token before the colon other than the word `stage`.
    if (colon && name && name.image !== "stage") {
      stage.name = name.image;
      stage.nameSpan = this.tokenSpan(name);
    }
    return stage;
  }

  private stageClause(clauses: A.StageClause[]): void {
    const from = this.pos;
    const first = this.la(1);
    const type = first.tokenTypeIdx;
    if (type === I.Freeze) {
      this.pos++;
      const targets = this.targets();
      const count = this.sameLine() && this.at(I.Number) ? this.next() : undefined;
      clauses.push({ kind: "freeze", targets, span: this.spanFrom(from) });
      if (count) clauses.push({ kind: "epochs", value: this.numberLit(count), span: this.tokenSpan(count) });
    } else if (type === I.Unfreeze) {
      this.pos++;
      const targets = this.targets();
      clauses.push({ kind: "unfreeze", targets, span: this.spanFrom(from) });
    } else if (type === I.Number) {
      this.pos++;
      clauses.push({ kind: "epochs", value: this.numberLit(first), span: this.spanFrom(from) });
    } else if (stageClauseSet.has(type)) {
      this.pos++;
      const value = this.expression();
      const word = first.image;
      if (word === "epochs" || word === "lr" || word === "batch") clauses.push({ kind: word, value, span: this.spanFrom(from) });
      else if (word === "schedule" || word === "optimizer") clauses.push({ kind: word, value, span: this.spanFrom(from) });
      else throw GIVE_UP;
    } else throw GIVE_UP;
  }

  private targets(): A.LabelPath[] {
    const out: A.LabelPath[] = [];
    if (!(this.sameLine() && this.atIdentifier() && !this.startsStageClause(this.la(1)))) return out;
    out.push(this.labelPath());
    while (this.at(I.Comma) && this.atIdentifier(2) && !this.startsStageClause(this.la(2))) {
      this.pos++;
      out.push(this.labelPath());
    }
    return out;
  }

  private labelPath(): A.LabelPath {
    const from = this.pos;
    const segments: A.PathSegment[] = [];
    const first = this.consumeIdentifier();
    segments.push({ name: first.image, span: this.tokenSpan(first) });
    while (this.at(I.Dot)) {
      this.pos++;
      if (this.atIdentifier()) {
        const t = this.next();
        segments.push({ name: t.image, span: this.tokenSpan(t) });
      } else {
        const t = this.consume(I.Number);
        const seg: A.PathSegment = { index: Number(t.image), span: this.tokenSpan(t) };
        if (this.at(I.Minus)) {
          this.pos++;
          const to = this.consume(I.Number);
          seg.to = Number(to.image);
          seg.span = this.span(t.startOffset, to.endOffset!);
        }
        segments.push(seg);
      }
    }
    return { segments, span: this.spanFrom(from) };
  }

  // --- expressions ---

  expression(): A.Expr {
    const from = this.pos;
    let bindings: A.LetBinding[] | undefined;
    while (this.at(I.Let)) (bindings ??= []).push(this.letBinding());
    const body = this.pipe();
    if (!bindings) return body;
    return { kind: "let", bindings, body, span: this.spanFrom(from) };
  }

  private pipe(): A.Expr {
    const from = this.pos;
    const first = this.pipeElement();
    let stages: A.Expr[] | undefined;
    // A `|` before a statement word ends the pipe, unless the word is a label (`| head: …`).
    while (this.at(I.Pipe) && (!statementStartSet.has(this.la(2).tokenTypeIdx) || this.la(3).tokenTypeIdx === I.Colon)) {
      this.pos++;
      (stages ??= [first]).push(this.pipeElement());
    }
    if (!stages) return first;
    return { kind: "pipe", stages, span: this.spanFrom(from) };
  }

  private pipeElement(): A.Expr {
    const from = this.pos;
    let labelToken: IToken | undefined;
    if ((this.atIdentifier() || this.at(I.String)) && this.la(2).tokenTypeIdx === I.Colon) {
      labelToken = this.next();
      this.pos++;
    }
    const body = this.conditional();
    if (!labelToken) return body;
    let label: string | A.StringLit = labelToken.image;
    if (labelToken.tokenTypeIdx === I.String) {
      const lit = this.stringLit(labelToken);
      label = lit.parts.every((p) => typeof p === "string") ? lit.parts.join("") : lit;
    }
    return { kind: "labelled", label, labelSpan: this.tokenSpan(labelToken), body, span: this.spanFrom(from) };
  }

  private conditional(): A.Expr {
    const from = this.pos;
    const then = this.orExpr();
    if (!this.at(I.If)) return then;
    this.pos++;
    const condition = this.orExpr();
    let otherwise: A.Expr | undefined;
    if (this.at(I.Else)) {
      this.pos++;
      otherwise = this.conditional();
    }
    const result: A.Conditional = { kind: "conditional", then, condition, span: this.spanFrom(from) };
    if (otherwise) result.otherwise = otherwise;
    return result;
  }

  /** Left-associative binary operators; `once` for the non-associative ones (comparison, range). */
  private chain(operand: () => A.Expr, isOperator: (type: number) => boolean, once: boolean): A.Expr {
    const from = this.pos;
    let left = operand();
    if (!isOperator(this.la(1).tokenTypeIdx)) return left;
    const start = this.startOf(from);
    do {
      const op = this.next().image as A.BinaryOp;
      const right = operand();
      // Spans come from the operands' tokens, which include parentheses around an operand.
      const rightEnd = this.endHere();
      const end = rightEnd.offset >= left.span.end.offset ? rightEnd : left.span.end;
      left = { kind: "binary", op, left, right, span: { file: left.span.file, start, end } };
    } while (!once && isOperator(this.la(1).tokenTypeIdx));
    return left;
  }

  private orExpr(): A.Expr {
    return this.chain(() => this.andExpr(), (t) => t === I.Or, false);
  }
  private andExpr(): A.Expr {
    return this.chain(() => this.notExpr(), (t) => t === I.And, false);
  }
  private notExpr(): A.Expr {
    if (!this.at(I.Not)) return this.comparison();
    const from = this.pos;
    this.pos++;
    const operand = this.notExpr();
    return { kind: "unary", op: "not", operand, span: this.spanFrom(from) };
  }
  private comparison(): A.Expr {
    return this.chain(() => this.range(), (t) => comparisonSet.has(t), true);
  }
  private range(): A.Expr {
    return this.chain(() => this.additive(), (t) => t === I.DotDot, true);
  }
  private additive(): A.Expr {
    return this.chain(() => this.multiplicative(), (t) => t === I.Plus || t === I.Minus, false);
  }
  private multiplicative(): A.Expr {
    return this.chain(() => this.unary(), (t) => multiplicativeSet.has(t), false);
  }

  private unary(): A.Expr {
    if (!this.at(I.Minus)) return this.power();
    const from = this.pos;
    this.pos++;
    const operand = this.unary();
    if (operand.kind === "number") return { ...operand, value: -operand.value, text: `-${operand.text}`, span: this.spanFrom(from) };
    return { kind: "unary", op: "-", operand, span: this.spanFrom(from) };
  }

  private power(): A.Expr {
    const from = this.pos;
    const left = this.postfix();
    if (!this.at(I.Power)) return left;
    this.pos++;
    const right = this.unary();
    return { kind: "binary", op: "**", left, right, span: this.spanFrom(from) };
  }

  private postfix(): A.Expr {
    const from = this.pos;
    let expr = this.primary();
    let start: Position | undefined;
    for (;;) {
      const type = this.la(1).tokenTypeIdx;
      if (type !== I.LParen && type !== I.Dot && type !== I.LBracket) return expr;
      start ??= this.startOf(from);
      if (type === I.LParen) {
        const args = this.callArgs();
        expr = { kind: "call", callee: expr, args, span: { file: expr.span.file, start, end: this.endHere() } };
      } else if (type === I.Dot) {
        this.pos++;
        const id = this.consumeIdentifier();
        expr = { kind: "member", object: expr, name: id.image, nameSpan: this.tokenSpan(id), span: { file: expr.span.file, start, end: this.endHere() } };
      } else {
        this.pos++;
        const index = this.expression();
        this.consume(I.RBracket);
        expr = { kind: "index", object: expr, index, span: { file: expr.span.file, start, end: this.endHere() } };
      }
    }
  }

  private callArgs(): A.Arg[] {
    this.consume(I.LParen);
    const args: A.Arg[] = [];
    if (expressionStarts.has(this.la(1).tokenTypeIdx)) {
      args.push(this.arg());
      while (this.at(I.Comma) && expressionStarts.has(this.la(2).tokenTypeIdx)) {
        this.pos++;
        args.push(this.arg());
      }
      if (this.at(I.Comma)) this.pos++;
    }
    this.consume(I.RParen);
    return args;
  }

  private arg(): A.Arg {
    const from = this.pos;
    let name: IToken | undefined;
    if (this.atIdentifier() && this.la(2).tokenTypeIdx === I.Assign) {
      name = this.next();
      this.pos++;
    }
    const value = this.expression();
    const arg: A.Arg = { value, span: this.spanFrom(from) };
    if (name) {
      arg.name = name.image;
      arg.nameSpan = this.tokenSpan(name);
    }
    return arg;
  }

  private numberLit(t: IToken): A.NumberLit {
    return { kind: "number", value: Number(t.image), text: t.image, span: this.tokenSpan(t) };
  }

  private stringLit(t: IToken): A.StringLit {
    const lit = this.stringLitOf(t);
    if (!lit) throw GIVE_UP;
    return lit;
  }

  private primary(): A.Expr {
    const from = this.pos;
    const t = this.la(1);
    const type = t.tokenTypeIdx;
    if (type === I.Number) {
      this.pos++;
      return this.numberLit(t);
    }
    if (type === I.String) {
      this.pos++;
      return this.stringLit(t);
    }
    if (identifiers.has(type)) {
      this.pos++;
      return { kind: "name", name: t.image, span: this.tokenSpan(t) };
    }
    if (type === I.LParen) return this.parenthesized();
    if (type === I.LBracket) return this.bracketed();
    if (type === I.True || type === I.False) {
      this.pos++;
      return { kind: "bool", value: t.image === "true", span: this.tokenSpan(t) };
    }
    if (type === I.None) {
      this.pos++;
      return { kind: "none", span: this.tokenSpan(t) };
    }
    if (type === I.In) {
      this.pos++;
      return { kind: "in", span: this.tokenSpan(t) };
    }
    if (type === I.Tap || type === I.From) {
      this.pos++;
      const id = this.consumeIdentifier();
      return { kind: type === I.Tap ? "tap" : "from", name: id.image, nameSpan: this.tokenSpan(id), span: this.spanFrom(from) };
    }
    throw GIVE_UP;
  }

  /** `(e)` groups; `(a, b)`, `(a,)` and `()` are tuples. */
  private parenthesized(): A.Expr {
    const from = this.pos;
    this.consume(I.LParen);
    const items: A.Expr[] = [];
    let commas = 0;
    if (expressionStarts.has(this.la(1).tokenTypeIdx)) {
      items.push(this.expression());
      while (this.at(I.Comma) && expressionStarts.has(this.la(2).tokenTypeIdx)) {
        this.pos++;
        commas++;
        items.push(this.expression());
      }
      if (this.at(I.Comma)) {
        this.pos++;
        commas++;
      }
    }
    this.consume(I.RParen);
    if (items.length === 1 && commas === 0) return items[0]!;
    return { kind: "tuple", items, span: this.spanFrom(from) };
  }

  /** `[a, b]` lists and `[e for v in xs if c]` comprehensions. */
  private bracketed(): A.Expr {
    const from = this.pos;
    this.consume(I.LBracket);
    const items: A.Expr[] = [];
    if (expressionStarts.has(this.la(1).tokenTypeIdx)) {
      items.push(this.expression());
      if (this.at(I.For)) {
        this.pos++;
        const variable = this.consumeIdentifier();
        this.consume(I.In);
        const iterable = this.orExpr();
        let condition: A.Expr | undefined;
        if (this.at(I.If)) {
          this.pos++;
          condition = this.orExpr();
        }
        this.consume(I.RBracket);
        const comp: A.Comprehension = { kind: "comprehension", body: items[0]!, variable: variable.image, variableSpan: this.tokenSpan(variable), iterable, span: this.spanFrom(from) };
        if (condition) comp.condition = condition;
        return comp;
      }
      while (this.at(I.Comma) && expressionStarts.has(this.la(2).tokenTypeIdx)) {
        this.pos++;
        items.push(this.expression());
      }
      if (this.at(I.Comma)) this.pos++;
    }
    this.consume(I.RBracket);
    return { kind: "list", items, span: this.spanFrom(from) };
  }
}
