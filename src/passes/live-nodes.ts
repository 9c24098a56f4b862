import type { Graph, Node } from "../ir/graph.js";

/**
 * The nodes some graph output depends on. A graph without outputs (one whose construction stopped
 * at an error) has no such notion: every node counts as live, so passes leave it as built.
 */
export function liveNodes(graph: Graph): Set<Node> {
  if (graph.outputs.length === 0) return new Set(graph.nodes);
  const live = new Set<Node>();
  const stack = graph.outputs.flatMap((v) => (v.producer ? [v.producer] : []));
  while (stack.length) {
    const node = stack.pop()!;
    if (live.has(node)) continue;
    live.add(node);
    for (const input of node.inputs) if (input.producer && !live.has(input.producer)) stack.push(input.producer);
  }
  return live;
}
