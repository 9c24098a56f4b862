/** The console and the curves a run leaves: progress line, durations, SVG. */
import { describe, expect, it } from "vitest";
import { curvesSvg } from "../../src/runtime/curves.js";
import { EpochProgress, formatDuration, formatNumber } from "../../src/runtime/progress.js";

describe("progress", () => {
  it("formats durations and numbers for the log", () => {
    expect(formatDuration(65)).toBe("1:05");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(Infinity)).toBe("--:--");
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(3e-5)).toBe("3.0e-5");
  });

  it("draws a bar with loss, metric, images per second and ETA, then clears it", () => {
    const lines: string[] = [];
    const p = new EpochProgress({ out: () => {}, err: () => {}, progress: (t) => lines.push(t) }, "epoch 1/3 warmup", 4, 32, 8);
    p.update(4, 32, { loss: 0.5, metric: ["acc", 0.75] });
    p.finish();
    expect(lines[0]).toMatch(/^epoch 1\/3 warmup ████████ 4\/4  loss 0\.5  acc 0\.75  [\d.]+ img\/s  ETA 0:00$/);
    expect(lines[1]).toBe("");
  });

  it("stays silent without a terminal", () => {
    const p = new EpochProgress({ out: () => {}, err: () => {} }, "epoch 1/1", 1, 1);
    expect(() => p.update(1, 1, { loss: 1 })).not.toThrow();
  });
});

describe("curvesSvg", () => {
  it("plots losses and metrics per epoch and marks where a stage begins", () => {
    const svg = curvesSvg("tiny", [
      { epoch: 1, stage: "warmup", trainLoss: 0.7, valLoss: 0.69, metrics: { accuracy: 0.5, auroc: 0.6 } },
      { epoch: 2, stage: "finetune", trainLoss: 0.6, valLoss: 0.62, metrics: { accuracy: 0.7, auroc: 0.8 } },
      { epoch: 3, stage: "finetune", trainLoss: 0.5, valLoss: 0.55, metrics: { accuracy: 0.8, auroc: NaN } },
    ]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect(svg).toContain(">finetune</text>");
    expect(svg).toContain(">val loss</text>");
    expect(svg).not.toContain("NaN");
  });
});
