import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile, type CompileTrace } from "../../src/compile.js";
import type { Graph, Node } from "../../src/ir/graph.js";
import { LabelBlock, OpBlock } from "../../src/semantics/blocks.js";
import type { LoadedModule } from "../../src/semantics/modules.js";
import type { Block, Flow, Scope } from "../../src/semantics/values.js";

/** The compiler's trace: what it reports, and that it changes nothing. */

function project(files: Record<string, string>): string {
  const root = join(mkdtempSync(join(tmpdir(), "medg-trace-")), "proj");
  mkdirSync(root);
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  return root;
}

interface Event {
  type: "enter" | "exit" | "node";
  block?: Block;
  scope?: string;
  node?: Node;
  graph?: Graph;
}

function recorder(): CompileTrace & { events: Event[]; modules: string[] } {
  const events: Event[] = [];
  const modules: string[] = [];
  return {
    events,
    modules,
    module: (m: LoadedModule) => modules.push(m.path),
    enter: (block: Block, _input: Flow, scope: Scope) => events.push({ type: "enter", block, scope: scope.path.join(".") }),
    exit: (block: Block) => events.push({ type: "exit", block }),
    node: (node: Node, graph: Graph) => events.push({ type: "node", node, graph }),
  };
}

const lib = "def block(c) = conv(c, 3) | bn | relu\n";
const main = 'import "lib.medg"\nmodel m {\n  input image(3, 32, 32)\n  backbone stem: block(8) | residual(block(8)) | gap\n  head linear(4)\n}\n';

describe("the compile trace", () => {
  it("reports every block application, nested, and every node inside the operator that adds it", () => {
    const root = project({ "lib.medg": lib, "main.medg": main });
    const trace = recorder();
    const result = compileFile(join(root, "main.medg"), { root, trace });
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);

    const stack: Block[] = [];
    const nodes: Node[] = [];
    for (const e of trace.events) {
      if (e.type === "enter") stack.push(e.block!);
      else if (e.type === "exit") expect(stack.pop()).toBe(e.block);
      else {
        expect(stack[stack.length - 1]).toBeInstanceOf(OpBlock);
        expect(e.graph).toBe(result.models[0]!.graph);
        nodes.push(e.node!);
      }
    }
    expect(stack).toEqual([]);
    expect(nodes).toEqual(result.models[0]!.graph.nodes);
    const label = trace.events.find((e) => e.type === "enter" && e.block instanceof LabelBlock);
    expect(label?.scope).toBe("backbone");
  });

  it("reports each module once it has loaded, imports first", () => {
    const root = project({ "lib.medg": lib, "main.medg": main });
    const trace = recorder();
    compileFile(join(root, "main.medg"), { root, trace });
    expect(trace.modules).toEqual([join(root, "lib.medg"), join(root, "main.medg")]);
  });

  it("leaves the result as it is without one", () => {
    const root = project({ "lib.medg": lib, "main.medg": `${main}model broken {\n  input image(3, 30, 30)\n  backbone residual(conv(8, 3, s=2))\n}\n` });
    const plain = compileFile(join(root, "main.medg"), { root });
    const traced = compileFile(join(root, "main.medg"), { root, trace: recorder() });
    expect(traced.diagnostics).toEqual(plain.diagnostics);
    expect(traced.models.map((m) => [m.name, m.graph.nodes.length, m.params.total, m.macs])).toEqual(plain.models.map((m) => [m.name, m.graph.nodes.length, m.params.total, m.macs]));
  });
});
