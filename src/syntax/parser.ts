import { CstParser, EOF, tokenMatcher, type CstNode, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";

const comparisonOps = [T.EqEq, T.NotEq, T.LessEq, T.GreaterEq, T.Less, T.Greater];

function isAny(token: IToken, types: readonly TokenType[]): boolean {
  return types.some((t) => tokenMatcher(token, t));
}

/**
 * The concrete grammar. Rules are named after what they parse; the CST they build is turned into
 * the AST by cst-to-ast.ts. One instance is reused (Chevrotain's recommendation); error recovery is
 * on, so one mistake costs one diagnostic and the rest of the file is still parsed.
 */
export class MedgParser extends CstParser {
  constructor() {
    super(T.allTokens, { recoveryEnabled: true, nodeLocationTracking: "onlyOffset", maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  /**
   * Where to resynchronise after an error: Chevrotain looks for the next token in the follow sets of
   * every rule on the stack, flattened anew at each level it unwinds, which is quadratic in the depth
   * (a tenth of a second for an expression nested MAX_NESTING deep and cut off by parse()). At the
   * end of the input its answer is always the end of input; this gives that answer at once.
   */
  findReSyncTokenType(): TokenType {
    if (this.LA(1).tokenType === EOF) return EOF;
    return (CstParser.prototype as unknown as { findReSyncTokenType(this: MedgParser): TokenType }).findReSyncTokenType.call(this);
  }

  /** A `|` followed by a statement word ends the pipe: `backbone x | head y | stage …` on one line. */
  private pipeContinues(): boolean {
    if (!tokenMatcher(this.LA(1), T.Pipe)) return false;
    // `| head: linear(10)` is a label named like a statement word, not a new statement.
    return !isAny(this.LA(2), T.statementStarts) || tokenMatcher(this.LA(3), T.Colon);
  }

  private startsStageClause(token: IToken): boolean {
    return isAny(token, T.stageClauseTokens) || tokenMatcher(token, T.NumberLiteral);
  }

  /** A stage's clauses continue on its line, or on the next after a trailing comma. */
  private sameLine(): boolean {
    const previous = this.LA(0);
    return previous.endLine === undefined || this.LA(1).startLine === previous.endLine;
  }

  module = this.RULE("module", () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.importStmt) },
        { ALT: () => this.SUBRULE(this.defStmt) },
        { ALT: () => this.SUBRULE(this.letStmt) },
        { ALT: () => this.SUBRULE(this.modelDecl) },
      ]),
    );
  });

  importStmt = this.RULE("importStmt", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
  });

  defStmt = this.RULE("defStmt", () => {
    this.CONSUME(T.Def);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => {
        this.SUBRULE(this.param);
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.param);
        });
        this.OPTION3(() => this.CONSUME2(T.Comma));
      });
      this.CONSUME(T.RParen);
    });
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  param = this.RULE("param", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Assign);
      this.SUBRULE(this.expression);
    });
  });

  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.modelLine));
    this.CONSUME(T.RBrace);
  });

  /** One statement, or several joined by `|` in the compact form. */
  modelLine = this.RULE("modelLine", () => {
    this.SUBRULE(this.modelStmt);
    this.MANY(() => {
      this.CONSUME(T.Pipe);
      this.SUBRULE2(this.modelStmt);
    });
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  modelStmt = this.RULE("modelStmt", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputStmt) },
      { ALT: () => this.SUBRULE(this.roleStmt) },
      { ALT: () => this.SUBRULE(this.stageStmt) },
      { ALT: () => this.SUBRULE(this.policyStmt) },
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.defStmt) },
    ]);
  });

  inputStmt = this.RULE("inputStmt", () => {
    this.CONSUME(T.Input);
    this.SUBRULE(this.expression);
  });

  roleStmt = this.RULE("roleStmt", () => {
    this.OR(T.roleTokens.map((t) => ({ ALT: () => this.CONSUME(t) })));
    this.SUBRULE(this.expression);
  });

  policyStmt = this.RULE("policyStmt", () => {
    this.OR(T.policyTokens.map((t) => ({ ALT: () => this.CONSUME(t) })));
    this.SUBRULE(this.expression);
    this.MANY(() => {
      this.CONSUME(T.Comma);
      this.SUBRULE2(this.expression);
    });
  });

  stageStmt = this.RULE("stageStmt", () => {
    this.CONSUME(T.Stage);
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Colon);
    });
    this.SUBRULE(this.stageClause);
    this.MANY({
      GATE: () => (this.sameLine() && this.startsStageClause(this.LA(1))) || (tokenMatcher(this.LA(1), T.Comma) && this.startsStageClause(this.LA(2))),
      DEF: () => {
        this.OPTION2(() => this.CONSUME(T.Comma));
        this.SUBRULE2(this.stageClause);
      },
    });
  });

  stageClause = this.RULE("stageClause", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Freeze);
          this.SUBRULE(this.targets);
          this.OPTION({ GATE: () => this.sameLine(), DEF: () => this.CONSUME(T.NumberLiteral) });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Unfreeze);
          this.SUBRULE2(this.targets);
        },
      },
      { ALT: () => this.CONSUME2(T.NumberLiteral) },
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(T.Epochs) },
            { ALT: () => this.CONSUME(T.Lr) },
            { ALT: () => this.CONSUME(T.policyTokens[T.policyWords.indexOf("batch")]!) },
            { ALT: () => this.CONSUME(T.policyTokens[T.policyWords.indexOf("schedule")]!) },
            { ALT: () => this.CONSUME(T.policyTokens[T.policyWords.indexOf("optimizer")]!) },
          ]);
          this.SUBRULE(this.expression);
        },
      },
    ]);
  });

  /** Zero or more label paths separated by commas; a comma before a clause word ends the list. */
  targets = this.RULE("targets", () => {
    this.OPTION({
      GATE: () => this.sameLine() && tokenMatcher(this.LA(1), T.Identifier) && !this.startsStageClause(this.LA(1)),
      DEF: () => {
        this.SUBRULE(this.labelPath);
        this.MANY({
          GATE: () => tokenMatcher(this.LA(1), T.Comma) && tokenMatcher(this.LA(2), T.Identifier) && !this.startsStageClause(this.LA(2)),
          DEF: () => {
            this.CONSUME(T.Comma);
            this.SUBRULE2(this.labelPath);
          },
        });
      },
    });
  });

  labelPath = this.RULE("labelPath", () => {
    this.CONSUME(T.Identifier);
    this.MANY(() => {
      this.CONSUME(T.Dot);
      this.OR([
        { ALT: () => this.CONSUME2(T.Identifier) },
        {
          ALT: () => {
            this.CONSUME(T.NumberLiteral);
            this.OPTION(() => {
              this.CONSUME(T.Minus);
              this.CONSUME2(T.NumberLiteral);
            });
          },
        },
      ]);
    });
  });

  expression = this.RULE("expression", () => {
    this.MANY(() => this.SUBRULE(this.letPrefix));
    this.SUBRULE(this.pipe);
  });

  letPrefix = this.RULE("letPrefix", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  /** `a if c else b` binds tighter than `|`: `conv | bn if use_bn | relu` drops only `bn`. */
  conditional = this.RULE("conditional", () => {
    this.SUBRULE(this.orExpr);
    this.OPTION(() => {
      this.CONSUME(T.If);
      this.SUBRULE2(this.orExpr);
      this.OPTION2(() => {
        this.CONSUME(T.Else);
        this.SUBRULE(this.conditional);
      });
    });
  });

  pipe = this.RULE("pipe", () => {
    this.SUBRULE(this.pipeElement);
    this.MANY({
      GATE: () => this.pipeContinues(),
      DEF: () => {
        this.CONSUME(T.Pipe);
        this.SUBRULE2(this.pipeElement);
      },
    });
  });

  pipeElement = this.RULE("pipeElement", () => {
    this.OPTION(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.StringLiteral) }]);
      this.CONSUME(T.Colon);
    });
    this.SUBRULE(this.conditional);
  });

  orExpr = this.RULE("orExpr", () => {
    this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(T.Or);
      this.SUBRULE2(this.andExpr);
    });
  });

  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.notExpr);
    this.MANY(() => {
      this.CONSUME(T.And);
      this.SUBRULE2(this.notExpr);
    });
  });

  notExpr = this.RULE("notExpr", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          this.SUBRULE(this.notExpr);
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.range);
    this.OPTION(() => {
      this.OR(comparisonOps.map((t) => ({ ALT: () => this.CONSUME(t) })));
      this.SUBRULE2(this.range);
    });
  });

  range = this.RULE("range", () => {
    this.SUBRULE(this.additive);
    this.OPTION(() => {
      this.CONSUME(T.DotDot);
      this.SUBRULE2(this.additive);
    });
  });

  additive = this.RULE("additive", () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.multiplicative);
    });
  });

  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.FloorDiv) },
        { ALT: () => this.CONSUME(T.Slash) },
        { ALT: () => this.CONSUME(T.Percent) },
      ]);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Minus);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.power) },
    ]);
  });

  power = this.RULE("power", () => {
    this.SUBRULE(this.postfix);
    this.OPTION(() => {
      this.CONSUME(T.Power);
      this.SUBRULE(this.unary);
    });
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.callSuffix) },
        { ALT: () => this.SUBRULE(this.memberSuffix) },
        { ALT: () => this.SUBRULE(this.indexSuffix) },
      ]),
    );
  });

  callSuffix = this.RULE("callSuffix", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.arg);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  arg = this.RULE("arg", () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Assign);
    });
    this.SUBRULE(this.expression);
  });

  memberSuffix = this.RULE("memberSuffix", () => {
    this.CONSUME(T.Dot);
    this.CONSUME(T.Identifier);
  });

  indexSuffix = this.RULE("indexSuffix", () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RBracket);
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.None) },
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.In) },
      {
        ALT: () => {
          this.CONSUME(T.Tap);
          this.CONSUME2(T.Identifier);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.From);
          this.CONSUME3(T.Identifier);
        },
      },
      { ALT: () => this.SUBRULE(this.parenthesized) },
      { ALT: () => this.SUBRULE(this.bracketed) },
    ]);
  });

  /** `(e)` groups; `(a, b)` and `()` are tuples. */
  parenthesized = this.RULE("parenthesized", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RParen);
  });

  /** `[a, b]` lists and `[e for v in xs if c]` comprehensions. */
  bracketed = this.RULE("bracketed", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.For);
            this.CONSUME(T.Identifier);
            this.CONSUME(T.In);
            this.SUBRULE(this.orExpr);
            this.OPTION2(() => {
              this.CONSUME(T.If);
              this.SUBRULE2(this.orExpr);
            });
          },
        },
        {
          ALT: () => {
            this.MANY(() => {
              this.CONSUME(T.Comma);
              this.SUBRULE2(this.expression);
            });
            this.OPTION3(() => this.CONSUME2(T.Comma));
          },
        },
      ]);
    });
    this.CONSUME(T.RBracket);
  });
}

let instance: MedgParser | undefined;

/**
 * The parser, built on first use: its self-analysis takes a noticeable part of a cold `medg check`,
 * and text without syntax errors never needs it (see direct.ts).
 */
export function medgParser(): MedgParser {
  return (instance ??= new MedgParser());
}
export type { CstNode };
