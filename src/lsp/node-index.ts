/** Source spans to the graph nodes built from them, for hovers over ops, def calls, pipes and labels. */
import type { CheckedModel } from "../compile.js";
import type { Graph, Node } from "../ir/graph.js";
import type { Span } from "../syntax/span.js";
import type { Application, Capture } from "./capture.js";

/** A block as written at one place in the source, with each time it was applied. */
export interface BlockSite {
  span: Span;
  applications: Application[];
}

export class NodeIndex {
  private readonly sites = new Map<string, BlockSite[]>();
  private readonly nodesUnder = new Map<Application, Node[]>();
  private readonly modelByGraph = new Map<Graph, CheckedModel>();

  constructor(
    readonly models: readonly CheckedModel[],
    capture: Capture,
  ) {
    for (const m of models) this.modelByGraph.set(m.graph, m);
    const byKey = new Map<string, BlockSite>();
    for (const a of capture.applications) {
      const key = `${a.span.file}\u0000${a.span.start.offset}\u0000${a.span.end.offset}`;
      let site = byKey.get(key);
      if (!site) {
        site = { span: a.span, applications: [] };
        byKey.set(key, site);
        const list = this.sites.get(a.span.file) ?? [];
        list.push(site);
        this.sites.set(a.span.file, list);
      }
      // A block and the block it wraps can share a span (a def call whose body is one op): count the outer one.
      if (!hasAncestorIn(a, site.applications)) site.applications.push(a);
    }
    for (const m of models) {
      for (const node of m.graph.nodes) {
        for (let a = capture.nodeApplication.get(node) ?? null; a; a = a.parent) {
          const list = this.nodesUnder.get(a);
          if (list) list.push(node);
          else this.nodesUnder.set(a, [node]);
        }
      }
    }
  }

  /** The innermost block written at `offset` of `file`. */
  siteAt(file: string, offset: number): BlockSite | undefined {
    let best: BlockSite | undefined;
    for (const s of this.sites.get(file) ?? []) {
      if (s.span.start.offset > offset || offset > s.span.end.offset) continue;
      const width = s.span.end.offset - s.span.start.offset;
      if (!best || width < best.span.end.offset - best.span.start.offset) best = s;
    }
    return best;
  }

  nodesOf(a: Application): readonly Node[] {
    return this.nodesUnder.get(a) ?? [];
  }

  modelOf(a: Application): CheckedModel | undefined {
    return a.graph ? this.modelByGraph.get(a.graph) : undefined;
  }
}

function hasAncestorIn(a: Application, list: readonly Application[]): boolean {
  if (list.length === 0) return false;
  const set = new Set(list);
  for (let p = a.parent; p; p = p.parent) if (set.has(p)) return true;
  return false;
}
