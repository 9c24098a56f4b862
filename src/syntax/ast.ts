import type { Span } from "./span.js";

/** The AST of a .medg file. Every node carries its span; recovered nodes may have `Missing` parts. */
export interface Node {
  span: Span;
}

export type Expr =
  | NumberLit
  | StringLit
  | BoolLit
  | NoneLit
  | Name
  | InputRef
  | ListLit
  | TupleLit
  | Comprehension
  | Call
  | Member
  | Index
  | Unary
  | Binary
  | Conditional
  | Pipe
  | Labelled
  | TapExpr
  | FromExpr
  | LetExpr
  | Missing;

export interface NumberLit extends Node {
  kind: "number";
  value: number;
  text: string;
}
/** A string; `{expr}` parts are interpolated (`"denselayer{i + 1}"`). */
export interface StringLit extends Node {
  kind: "string";
  parts: (string | Expr)[];
}
export interface BoolLit extends Node {
  kind: "bool";
  value: boolean;
}
export interface NoneLit extends Node {
  kind: "none";
}
export interface Name extends Node {
  kind: "name";
  name: string;
}
/** `in`: the tensor entering the current def (`in.c`, `in.h`, …). */
export interface InputRef extends Node {
  kind: "in";
}
export interface ListLit extends Node {
  kind: "list";
  items: Expr[];
}
export interface TupleLit extends Node {
  kind: "tuple";
  items: Expr[];
}
/** `[body for v in iterable if cond]`. */
export interface Comprehension extends Node {
  kind: "comprehension";
  body: Expr;
  variable: string;
  variableSpan: Span;
  iterable: Expr;
  condition?: Expr;
}
export interface Arg extends Node {
  name?: string;
  nameSpan?: Span;
  value: Expr;
}
export interface Call extends Node {
  kind: "call";
  callee: Expr;
  args: Arg[];
}
export interface Member extends Node {
  kind: "member";
  object: Expr;
  name: string;
  nameSpan: Span;
}
export interface Index extends Node {
  kind: "index";
  object: Expr;
  index: Expr;
}
export interface Unary extends Node {
  kind: "unary";
  op: "-" | "not";
  operand: Expr;
}
export type BinaryOp = "+" | "-" | "*" | "/" | "//" | "%" | "**" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or" | "..";
export interface Binary extends Node {
  kind: "binary";
  op: BinaryOp;
  left: Expr;
  right: Expr;
}
/** `then if condition else otherwise`; without `else` the value is none (an absent block). */
export interface Conditional extends Node {
  kind: "conditional";
  then: Expr;
  condition: Expr;
  otherwise?: Expr;
}
/** `a | b | c`: composition; unlabelled members are numbered like nn.Sequential. */
export interface Pipe extends Node {
  kind: "pipe";
  stages: Expr[];
}
/** `label: expr` — a parameter scope. The label may be a string with interpolation. */
export interface Labelled extends Node {
  kind: "labelled";
  label: string | StringLit;
  labelSpan: Span;
  body: Expr;
}
/** `tap name`: passes its input through and remembers it as `name`. */
export interface TapExpr extends Node {
  kind: "tap";
  name: string;
  nameSpan: Span;
}
/** `from name`: ignores its input and yields the tapped tensor `name`. */
export interface FromExpr extends Node {
  kind: "from";
  name: string;
  nameSpan: Span;
}
/** `let x = v` followed by the expression it scopes over. */
export interface LetExpr extends Node {
  kind: "let";
  bindings: LetBinding[];
  body: Expr;
}
export interface LetBinding extends Node {
  name: string;
  nameSpan: Span;
  value: Expr;
}
/** Placeholder for a part the parser could not recover; evaluates silently to poison. */
export interface Missing extends Node {
  kind: "missing";
}

export interface Param extends Node {
  name: string;
  default?: Expr;
}
export interface DefStmt extends Node {
  kind: "def";
  name: string;
  nameSpan: Span;
  params: Param[];
  body: Expr;
  /** `##` comment lines directly above the def. */
  doc?: string;
}
export interface LetStmt extends Node {
  kind: "let";
  binding: LetBinding;
}
export interface ImportStmt extends Node {
  kind: "import";
  path: string;
  pathSpan: Span;
}

/** `input image(1, 224, 224) | gray_to_rgb` */
export interface InputStmt extends Node {
  kind: "input";
  value: Expr;
}
export interface RoleStmt extends Node {
  kind: "role";
  role: string;
  roleSpan: Span;
  value: Expr;
}
/** `loss focal(gamma=2)`, `metrics accuracy, auroc`, `augment rotate(15) | flip(h)`. */
export interface PolicyStmt extends Node {
  kind: "policy";
  keyword: string;
  keywordSpan: Span;
  values: Expr[];
}
/** A label path: `backbone`, `backbone.features.0-5`, `all`. */
export interface PathSegment extends Node {
  name?: string;
  index?: number;
  /** Inclusive upper end of a range segment `0-5`. */
  to?: number;
}
export interface LabelPath extends Node {
  segments: PathSegment[];
}
export type StageClause =
  | ({ kind: "freeze" | "unfreeze"; targets: LabelPath[] } & Node)
  | ({ kind: "epochs" | "lr" | "batch"; value: Expr } & Node)
  | ({ kind: "schedule" | "optimizer"; value: Expr } & Node);
export interface StageStmt extends Node {
  kind: "stage";
  name?: string;
  nameSpan?: Span;
  clauses: StageClause[];
}

export type ModelStmt = InputStmt | RoleStmt | PolicyStmt | StageStmt | LetStmt | DefStmt;

export interface ModelDecl extends Node {
  kind: "model";
  name: string;
  nameSpan: Span;
  statements: ModelStmt[];
  doc?: string;
}

export type TopLevel = ImportStmt | DefStmt | LetStmt | ModelDecl;

export interface Comment extends Node {
  text: string;
}

export interface Module extends Node {
  file: string;
  items: TopLevel[];
  comments: Comment[];
}
