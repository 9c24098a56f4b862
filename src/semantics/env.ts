import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/span.js";
import type { Val } from "./values.js";

export type Binding =
  | { kind: "value"; value: Val; span?: Span }
  /** A top-level `let`, evaluated on first use (cycles are reported). */
  | { kind: "lazy"; expr: A.Expr; env: Env; span: Span; state: "pending" | "evaluating" | "done"; value?: Val };

/** A lexical environment: names to bindings, with a parent. */
export class Env {
  // Assigned rather than declared as fields: environments are made per call and per loop item.
  private declare readonly vars: Map<string, Binding>;
  declare readonly parent: Env | undefined;
  constructor(parent?: Env) {
    this.vars = new Map();
    this.parent = parent;
  }

  define(name: string, binding: Binding): void {
    this.vars.set(name, binding);
  }
  has(name: string): boolean {
    return this.vars.has(name);
  }
  ownBinding(name: string): Binding | undefined {
    return this.vars.get(name);
  }
  lookup(name: string): Binding | undefined {
    for (let e: Env | undefined = this; e; e = e.parent) {
      const b = e.vars.get(name);
      if (b) return b;
    }
    return undefined;
  }
  /** Every visible name (for did-you-mean). */
  *names(): Iterable<string> {
    for (let e: Env | undefined = this; e; e = e.parent) yield* e.vars.keys();
  }
  ownNames(): Iterable<string> {
    return this.vars.keys();
  }
}
