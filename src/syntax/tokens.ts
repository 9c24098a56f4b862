import { createToken, Lexer, type CustomPatternMatcherFunc, type IToken, type TokenType } from "chevrotain";

/**
 * Tokens of the medg language. Hard keywords cannot be names; soft keywords (statement words such
 * as `backbone`, `loss`, `epochs`) are in the Identifier category, so they stay usable as names
 * everywhere the grammar does not expect the statement word.
 */
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: "comments" });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function hardKeyword(word: string): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: new RegExp(`${word}(?![A-Za-z0-9_])`), longer_alt: Identifier });
}
function softKeyword(word: string): TokenType {
  return createToken({
    name: `Kw_${word}`,
    pattern: new RegExp(`${word}(?![A-Za-z0-9_])`),
    longer_alt: Identifier,
    categories: [Identifier],
  });
}

export const Model = hardKeyword("model");
export const Def = hardKeyword("def");
export const Let = hardKeyword("let");
export const Import = hardKeyword("import");
export const If = hardKeyword("if");
export const Else = hardKeyword("else");
export const For = hardKeyword("for");
export const In = hardKeyword("in");
export const And = hardKeyword("and");
export const Or = hardKeyword("or");
export const Not = hardKeyword("not");
export const True = hardKeyword("true");
export const False = hardKeyword("false");
export const None = hardKeyword("none");
export const Tap = hardKeyword("tap");
export const From = hardKeyword("from");

/** Words that start a statement inside `model { … }`; a `|` followed by one ends the pipe before it. */
export const roleWords = ["backbone", "neck", "decoder", "head"] as const;
export const policyWords = ["task", "loss", "optimizer", "schedule", "augment", "normalize", "data", "metrics", "epochs", "batch", "seed"] as const;
export const stageClauseWords = ["freeze", "unfreeze", "epochs", "lr", "schedule", "optimizer", "batch"] as const;

export const Input = softKeyword("input");
export const Stage = softKeyword("stage");
export const roleTokens = roleWords.map(softKeyword);
/** `epochs`, `batch`, `schedule` and `optimizer` are both policy statements and stage clauses: one token each. */
const shared = new Map<string, TokenType>();
function soft(word: string): TokenType {
  let t = shared.get(word);
  if (!t) {
    t = softKeyword(word);
    shared.set(word, t);
  }
  return t;
}
export const policyTokens = policyWords.map(soft);
export const stageClauseTokens = stageClauseWords.map(soft);
export const Freeze = soft("freeze");
export const Unfreeze = soft("unfreeze");
export const Lr = soft("lr");
export const Epochs = soft("epochs");

/** Statement-start tokens (used to end a pipe in the compact one-line form). */
export const statementStarts: readonly TokenType[] = [Input, Stage, ...roleTokens, ...policyTokens];

const previousAllowsLeadingDot = (tokens: IToken[]): boolean => {
  const prev = tokens[tokens.length - 1];
  if (!prev) return true;
  const name = prev.tokenType.name;
  // `features.0` is a path, `f(x).3` is nonsense; `.3` is a float only where a value may start.
  return !(name === "Identifier" || name.startsWith("Kw_") || name === "RParen" || name === "RBracket" || name === "Number" || name === "In" || name === "Dot");
};

const numberPattern = /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const intPattern = /\d+/y;
/**
 * Numbers: `3`, `1e-3`, `.3`, `2.5`. After a `.` only an integer is a number, so that label paths such
 * as `features.1.0` lex as Dot Number Dot Number.
 */
const matchNumber: CustomPatternMatcherFunc = (text, offset, tokens) => {
  const prev = tokens[tokens.length - 1];
  const beforePrev = tokens[tokens.length - 2];
  const third = tokens[tokens.length - 3];
  // Inside a label path only integers: `features.1.0` and the range end in `features.1-3.0`.
  const inPath = prev?.tokenType.name === "Dot" || (prev?.tokenType.name === "Minus" && beforePrev?.tokenType.name === "Number" && third?.tokenType.name === "Dot");
  if (inPath) {
    intPattern.lastIndex = offset;
    return intPattern.exec(text);
  }
  const spaced = offset > 0 && /\s/.test(text[offset - 1]!);
  if (text.charCodeAt(offset) === 46 /* . */ && !spaced && !previousAllowsLeadingDot(tokens)) return null;
  numberPattern.lastIndex = offset;
  return numberPattern.exec(text);
};
export const NumberLiteral = createToken({
  name: "Number",
  pattern: matchNumber,
  line_breaks: false,
  start_chars_hint: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "."],
});
export const StringLiteral = createToken({ name: "String", pattern: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/ });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n]|\\.)*|'(?:[^'\\\n]|\\.)*/ });

export const LParen = createToken({ name: "LParen", pattern: "(" });
export const RParen = createToken({ name: "RParen", pattern: ")" });
export const LBracket = createToken({ name: "LBracket", pattern: "[" });
export const RBracket = createToken({ name: "RBracket", pattern: "]" });
export const LBrace = createToken({ name: "LBrace", pattern: "{" });
export const RBrace = createToken({ name: "RBrace", pattern: "}" });
export const Comma = createToken({ name: "Comma", pattern: "," });
export const Colon = createToken({ name: "Colon", pattern: ":" });
export const Semicolon = createToken({ name: "Semicolon", pattern: ";" });
export const DotDot = createToken({ name: "DotDot", pattern: ".." });
export const Dot = createToken({ name: "Dot", pattern: "." });
export const Pipe = createToken({ name: "Pipe", pattern: "|" });
export const EqEq = createToken({ name: "EqEq", pattern: "==" });
export const NotEq = createToken({ name: "NotEq", pattern: "!=" });
export const LessEq = createToken({ name: "LessEq", pattern: "<=" });
export const GreaterEq = createToken({ name: "GreaterEq", pattern: ">=" });
export const Less = createToken({ name: "Less", pattern: "<" });
export const Greater = createToken({ name: "Greater", pattern: ">" });
export const Assign = createToken({ name: "Assign", pattern: "=" });
export const Power = createToken({ name: "Power", pattern: "**" });
export const Star = createToken({ name: "Star", pattern: "*" });
export const FloorDiv = createToken({ name: "FloorDiv", pattern: "//" });
export const Slash = createToken({ name: "Slash", pattern: "/" });
export const Percent = createToken({ name: "Percent", pattern: "%" });
export const Plus = createToken({ name: "Plus", pattern: "+" });
export const Minus = createToken({ name: "Minus", pattern: "-" });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Model,
  Def,
  Let,
  Import,
  If,
  Else,
  For,
  In,
  And,
  Or,
  Not,
  True,
  False,
  None,
  Tap,
  From,
  Input,
  Stage,
  ...roleTokens,
  ...new Set([...policyTokens, ...stageClauseTokens]),
  Identifier,
  NumberLiteral,
  StringLiteral,
  UnterminatedString,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Semicolon,
  DotDot,
  Dot,
  Pipe,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Assign,
  Power,
  Star,
  FloorDiv,
  Slash,
  Percent,
  Plus,
  Minus,
];

/** The lexer's options but for validation of the token definitions, which test/syntax/parse.test.ts runs instead of every start-up. */
export const lexerOptions = { positionTracking: "full", ensureOptimizations: false } as const;

export const medgLexer = new Lexer(allTokens, { ...lexerOptions, skipValidations: true });
