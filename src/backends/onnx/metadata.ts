/**
 * metadata_props: what a deployer needs besides the graph — where the model came from, its task
 * and class names, the input it expects and how to normalise it. Values are strings; structured
 * ones are JSON.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../package-root.js";
import { taskName, type PolicyCall } from "../../policy/plan.js";
import type { CompiledModel } from "../../semantics/model.js";

let version: string | undefined;

export function medgVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
  return version;
}

/** Constants a deployer would otherwise look up: ImageNet's mean and std on [0, 1] pixels. */
const NORMALIZATION_CONSTANTS: Readonly<Record<string, Record<string, unknown>>> = {
  imagenet: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

function call(c: PolicyCall | null): { name: string; args: Record<string, unknown> } | null {
  return c && { name: c.name, args: { ...c.args } };
}

export function metadataProps(model: CompiledModel, sourceText: string): { key: string; value: string }[] {
  const plan = model.plan;
  const classes = plan.task?.args["classes"];
  const normalize = call(plan.normalize);
  const props: Record<string, string> = {
    "medg.version": medgVersion(),
    "medg.source_sha256": createHash("sha256").update(sourceText, "utf8").digest("hex"),
    "medg.model": model.name,
    "medg.task": JSON.stringify(call(plan.task) ?? { name: taskName(plan), args: {} }),
    "medg.classes": JSON.stringify(Array.isArray(classes) ? classes : null),
    "medg.input": JSON.stringify(
      plan.input && { kind: plan.input.kind, shape: plan.input.shape, layout: plan.input.kind === "image" ? "NCHW" : "NCDHW", steps: plan.input.steps.map((s) => s.name) },
    ),
    "medg.normalize": JSON.stringify(normalize && { ...normalize, ...(NORMALIZATION_CONSTANTS[normalize.name] ?? {}) }),
  };
  return Object.entries(props).map(([key, value]) => ({ key, value }));
}
