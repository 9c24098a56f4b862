import { EOF, type CstNode, type IRecognitionException, type IToken } from "chevrotain";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import type * as A from "./ast.js";
import { CstToAst } from "./cst-to-ast.js";
import { parseDirect, parseDirectExpression } from "./direct.js";
import { medgParser, type MedgParser } from "./parser.js";
import { LineMap } from "./span.js";
import { allTokens, medgLexer, StringLiteral } from "./tokens.js";

export interface ParseResult {
  module: A.Module;
  diagnostics: Diagnostic[];
  lines: LineMap;
  /** Offsets [start, end) the parser repaired after a syntax error; other checks stay quiet there. */
  repairs: [number, number][];
}

/** What the parser was looking for, by the innermost rule it was in. */
const expectedByRule: Record<string, string> = {
  module: "`import`, `def`, `let` or `model`",
  modelDecl: "a model statement or `}`",
  modelLine: "a model statement (input, backbone, neck, decoder, head, task, loss, optimizer, schedule, augment, normalize, data, metrics, stage) or `}`",
  modelStmt: "a model statement (input, backbone, neck, decoder, head, task, loss, optimizer, schedule, augment, normalize, data, metrics, stage)",
  stageStmt: "a stage clause (freeze, unfreeze, epochs, lr, schedule, optimizer, batch)",
  stageClause: "a stage clause (freeze, unfreeze, epochs, lr, schedule, optimizer, batch)",
  labelPath: "a label path such as `backbone.layer4`",
  primary: "an expression",
  parenthesized: "an expression or `)`",
  bracketed: "an expression or `]`",
  callSuffix: "an argument or `)`",
  arg: "an argument",
  param: "a parameter name",
  defStmt: "`=` and the definition's body",
};

function describeToken(t: IToken): string {
  return t.tokenType === EOF ? "the end of the file" : `'${t.image}'`;
}

/** Tokens after which a value must follow. */
const wantsOperand = new Set(["Plus", "Minus", "Star", "Slash", "FloorDiv", "Percent", "Power", "EqEq", "NotEq", "Less", "LessEq", "Greater", "GreaterEq", "And", "Or", "Not", "Assign", "Pipe", "DotDot", "If", "Else", "Colon"]);

function message(e: IRecognitionException, previous?: IToken): string {
  const found = describeToken(e.token);
  if (previous && wantsOperand.has(previous.tokenType.name) && e.name !== "MismatchedTokenException") return `expected an expression after '${previous.image}', found ${found}`;
  if (e.name === "MismatchedTokenException") {
    const m = /Expecting token of type --> (\w+) <--/.exec(e.message);
    const expected = m ? tokenText(m[1]!) : "something else";
    return `expected ${expected}, found ${found}`;
  }
  const stack = e.context?.ruleStack ?? [];
  if (e.name === "NotAllInputParsedException") return `unexpected ${found}; expected ${expectedByRule.module}`;
  // The innermost rule that says what it wants; inside an expression that is an expression.
  const rule = [...stack].reverse().find((r) => r in expectedByRule);
  return `unexpected ${found}; expected ${rule ? expectedByRule[rule] : "an expression"}`;
}

const punctuation: Record<string, string> = {
  LParen: "'('",
  RParen: "')'",
  LBracket: "'['",
  RBracket: "']'",
  LBrace: "'{'",
  RBrace: "'}'",
  Comma: "','",
  Colon: "':'",
  Assign: "'='",
  Identifier: "a name",
  String: "a string",
  Number: "a number",
  In: "'in'",
  EOF: "the end of the file",
};
function tokenText(name: string): string {
  return punctuation[name] ?? `'${name.replace(/^Kw_/, "").toLowerCase()}'`;
}

export const MAX_NESTING = 64;

const typesNamed = (test: (name: string) => boolean) => new Set(allTokens.filter((t) => test(t.name)).map((t) => t.tokenTypeIdx!));
const openers = typesNamed((n) => n === "LParen" || n === "LBracket" || n === "LBrace");
const closers = typesNamed((n) => n === "RParen" || n === "RBracket" || n === "RBrace");
const prefixes = typesNamed((n) => n === "Minus" || n === "Not" || n === "Power");
/** Tokens that neither open nor end a run of prefix operators. */
const operands = typesNamed((n) => n === "Number" || n === "Identifier" || n.startsWith("Kw_"));

/**
 * Index of the first token at which brackets, or a run of prefix operators and `**` chains,
 * nest deeper than MAX_NESTING (each costs the parser a few stack frames).
 */
function nestingTooDeep(tokens: readonly IToken[]): number | undefined {
  let depth = 0;
  let run = 0;
  for (let i = 0; i < tokens.length; i++) {
    const type = tokens[i]!.tokenTypeIdx;
    if (openers.has(type)) depth++;
    else if (closers.has(type)) depth = Math.max(0, depth - 1);
    run = prefixes.has(type) ? run + 1 : operands.has(type) ? run : 0;
    if (depth + run > MAX_NESTING) return i;
  }
  return undefined;
}

export interface ParseOptions {
  /** False parses with the reference (Chevrotain) parser even when the text has no syntax error. */
  direct?: boolean;
}

/** Lex, parse and build the AST. Never throws; every problem is a diagnostic. */
export function parse(text: string, file: string, options: ParseOptions = {}): ParseResult {
  const lines = new LineMap(text);
  const diagnostics: Diagnostic[] = [];
  const lexed = medgLexer.tokenize(text);
  for (const e of lexed.errors) {
    const span = lines.span(file, e.offset, e.offset + Math.max(1, e.length));
    diagnostics.push(diagnostic("MEDG102", span, `unrecognised character '${text.slice(e.offset, e.offset + 1)}'`));
  }
  // An unterminated string is parsed as if closed at the end of its line, so the rest of the file reads normally.
  const tokens = lexed.tokens.map((t) => {
    if (t.tokenType.name !== "UnterminatedString") return t;
    diagnostics.push(diagnostic("MEDG103", lines.span(file, t.startOffset, (t.endOffset ?? t.startOffset) + 1), "unterminated string: add the closing quote"));
    return { ...t, image: t.image + t.image[0], tokenType: StringLiteral, tokenTypeIdx: StringLiteral.tokenTypeIdx! };
  });
  const lexErrorOffsets = lexed.errors.map((e) => e.offset);
  for (const t of tokens)
    if (t.tokenType.name === "Number" && !Number.isFinite(Number(t.image)))
      diagnostics.push(diagnostic("MEDG104", lines.span(file, t.startOffset, (t.endOffset ?? t.startOffset) + 1), `the number ${t.image} is too large to represent`));
  // A recursive-descent parser nests as deep as the text; past a bound the text is cut, with one diagnostic.
  const tooDeep = nestingTooDeep(tokens);
  if (tooDeep !== undefined) {
    const t = tokens[tooDeep]!;
    diagnostics.push(diagnostic("MEDG101", lines.span(file, t.startOffset, (t.endOffset ?? t.startOffset) + 1), `expression nested more than ${MAX_NESTING} levels deep; the rest of the file is not read`));
    tokens.length = tooDeep;
  }
  const build = (cstParse: (parser: MedgParser) => CstNode, toks: IToken[]) => {
    const parser = medgParser();
    parser.input = toks;
    const cst = cstParse(parser);
    return { cst, errors: [...parser.errors] };
  };
  const interpolation = (sub: string, offset: number): A.Expr => {
    const subLexed = medgLexer.tokenize(sub);
    if (subLexed.errors.length === 0 && options.direct !== false) {
      const conv = new CstToAst(file, lines, offset);
      const expr = parseDirectExpression(subLexed.tokens, file, lines, offset, (t) => conv.stringLit(t));
      if (expr) return expr;
    }
    const saved = medgParser().input;
    const { cst: subCst, errors: subErrors } = build((parser) => parser.expression(), subLexed.tokens);
    medgParser().input = saved;
    const conv = new CstToAst(file, lines, offset);
    if (subLexed.errors.length || subErrors.length) {
      diagnostics.push(diagnostic("MEDG105", lines.span(file, offset, offset + sub.length), `cannot parse '{${sub}}' as an expression`));
      return { kind: "missing", span: lines.span(file, offset, offset + sub.length) };
    }
    return conv.expression(subCst);
  };
  const converter = new CstToAst(file, lines, 0, interpolation);
  const comments = lexed.groups["comments"] ?? [];
  if (tooDeep === undefined && options.direct !== false) {
    // Text without syntax errors is parsed directly; the reference parser below handles the rest.
    const before = diagnostics.length;
    const stringLit = (t: IToken) => {
      const lit = converter.stringLit(t);
      return diagnostics.length === before ? lit : undefined;
    };
    const module = parseDirect(tokens, file, lines, comments, stringLit);
    if (module) return { module, diagnostics, lines, repairs: [] };
    diagnostics.length = before;
  }
  const { cst, errors } = build((parser) => parser.module(), tokens);
  // The first parse error right after an unterminated string is the missing quote's doing (it ate the rest of the line).
  const afterUnterminated = new Set(lexed.tokens.flatMap((t, i) => (t.tokenType.name === "UnterminatedString" && lexed.tokens[i + 1] ? [lexed.tokens[i + 1]!.startOffset] : [])));
  let lastErrorEnd = tooDeep !== undefined ? text.length : -1;
  const repairs: [number, number][] = [];
  const tokenBefore = (offset: number): IToken | undefined => {
    let lo = 0;
    let hi = tokens.length - 1;
    let found: IToken | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid]!.startOffset < offset) {
        found = tokens[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  const errorLines = new Set<number>();
  for (const e of errors) {
    const t = e.token;
    const start = t.tokenType === EOF || !Number.isFinite(t.startOffset) ? text.length : t.startOffset;
    // Recovery can report a cascade at the same place; one mistake, one diagnostic.
    if (start <= lastErrorEnd) continue;
    // A parse error on the line of an unrecognised character, after it, is that character's consequence;
    // so is a second parse error on the line of the first (recovery resynchronising).
    const line = lines.position(start).line;
    if (errorLines.has(line)) continue;
    if (lexErrorOffsets.some((o) => o < start && lines.position(o).line === line)) continue;
    if (afterUnterminated.has(start)) continue;
    const end = t.tokenType === EOF || !Number.isFinite(t.startOffset) ? text.length : (t.endOffset ?? start) + 1;
    lastErrorEnd = end;
    errorLines.add(line);
    const previous = tokenBefore(start);
    repairs.push([previous ? previous.startOffset : start, start]);
    diagnostics.push(diagnostic("MEDG101", lines.span(file, start, end), message(e, previous)));
  }
  const module = converter.module(cst, comments);
  return { module, diagnostics, lines, repairs };
}
