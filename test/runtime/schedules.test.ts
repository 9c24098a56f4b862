import { describe, expect, it } from "vitest";
import { makeSchedule } from "../../src/runtime/schedules.js";
import type { Entry, Schedule } from "../../src/runtime/types.js";

const e = (name: string, args: Record<string, unknown> = {}): Entry => ({ name, args });

/** lr for every step of a stage, in order. */
function trace(s: Schedule, epochs: number, steps: number): number[] {
  const out: number[] = [];
  for (let ep = 0; ep < epochs; ep++) for (let st = 0; st < steps; st++) out.push(s.lr(ep, st));
  return out;
}

function closeAll(actual: number[], want: number[], digits = 9): void {
  expect(actual.length).toBe(want.length);
  want.forEach((w, i) => expect(actual[i], `index ${i}`).toBeCloseTo(w, digits));
}

describe("cosine", () => {
  const ctx = { baseLr: 0.1, epochs: 10, stepsPerEpoch: 2 };
  it("linear warm-up from 0 per step, then cosine to min_lr", () => {
    const s = makeSchedule(e("cosine", { warmup: 2, min_lr: 0.001 }), ctx);
    // 4 warm-up steps of 20: s/4·0.1
    expect(s.lr(0, 0)).toBe(0);
    expect(s.lr(0, 1)).toBeCloseTo(0.025, 12);
    expect(s.lr(1, 1)).toBeCloseTo(0.075, 12);
    expect(s.lr(2, 0)).toBeCloseTo(0.1, 12); // cosine starts at the base lr
    expect(s.lr(6, 0)).toBeCloseTo(0.001 + 0.099 / 2, 12); // halfway through the 16 remaining steps
    expect(s.lr(9, 1)).toBeCloseTo(0.001 + (0.099 * (1 + Math.cos((Math.PI * 15) / 16))) / 2, 12);
    expect(s.lr(10, 0)).toBeCloseTo(0.001, 12); // past the end: min_lr holds
    expect(s.lr(50, 0)).toBeCloseTo(0.001, 12);
  });
  it("without warm-up matches torch CosineAnnealingLR stepped per step (T_max = all steps)", () => {
    const s = makeSchedule(e("cosine", { warmup: 0, min_lr: 0 }), { baseLr: 1, epochs: 2, stepsPerEpoch: 2 });
    closeAll(trace(s, 2, 2), [1, (1 + Math.cos(Math.PI / 4)) / 2, 0.5, (1 + Math.cos((3 * Math.PI) / 4)) / 2]);
  });
  it("monotone after the warm-up", () => {
    const lrs = trace(makeSchedule(e("cosine", { warmup: 1 }), ctx), 10, 2).slice(2);
    for (let i = 1; i < lrs.length; i++) expect(lrs[i]).toBeLessThanOrEqual(lrs[i - 1] as number);
  });
});

describe("epoch schedules", () => {
  const ctx = { baseLr: 0.1, epochs: 7, stepsPerEpoch: 3 };
  it("step: torch StepLR(step_size=3, gamma=0.1)", () => {
    const s = makeSchedule(e("step", { step_size: 3, gamma: 0.1 }), ctx);
    closeAll(
      [0, 1, 2, 3, 4, 5, 6].map((ep) => s.lr(ep, 2)),
      [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001],
      12,
    );
  });
  it("multistep: torch MultiStepLR(milestones=[2, 5], gamma=0.5)", () => {
    const s = makeSchedule(e("multistep", { milestones: [2, 5], gamma: 0.5 }), ctx);
    closeAll(
      [0, 1, 2, 3, 4, 5, 6].map((ep) => s.lr(ep, 0)),
      [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025],
      12,
    );
  });
  it("exponential: base·gamma^epoch", () => {
    const s = makeSchedule(e("exponential", { gamma: 0.9 }), ctx);
    expect(s.lr(0, 1)).toBeCloseTo(0.1, 12);
    expect(s.lr(3, 1)).toBeCloseTo(0.1 * 0.729, 12);
  });
  it("constant, with and without warm-up", () => {
    closeAll(trace(makeSchedule(e("constant", { warmup: 0 }), ctx), 2, 3), [0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 12);
    closeAll(trace(makeSchedule(e("constant", { warmup: 1 }), ctx), 2, 3), [0, 0.1 / 3, 0.2 / 3, 0.1, 0.1, 0.1], 12);
  });
  it("poly: base·(1 - epoch/epochs)^power per epoch (nnU-Net)", () => {
    const s = makeSchedule(e("poly", { power: 0.9, warmup: 0 }), { baseLr: 0.01, epochs: 10, stepsPerEpoch: 4 });
    expect(s.lr(0, 3)).toBeCloseTo(0.01, 12);
    expect(s.lr(5, 0)).toBeCloseTo(0.01 * 0.5 ** 0.9, 12);
    expect(s.lr(5, 3)).toBeCloseTo(0.01 * 0.5 ** 0.9, 12);
    expect(s.lr(9, 0)).toBeCloseTo(0.01 * 0.1 ** 0.9, 12);
    expect(s.lr(12, 0)).toBe(0);
  });
  it("poly with warm-up decays over the epochs after it", () => {
    const s = makeSchedule(e("poly", { power: 2, warmup: 2 }), { baseLr: 1, epochs: 10, stepsPerEpoch: 2 });
    expect(s.lr(0, 0)).toBe(0);
    expect(s.lr(1, 1)).toBeCloseTo(0.75, 12);
    expect(s.lr(2, 0)).toBeCloseTo(1, 12);
    expect(s.lr(6, 0)).toBeCloseTo(0.25, 12); // (1 - 4/8)^2
  });
});

describe("onecycle", () => {
  it("matches torch OneCycleLR(max_lr=0.1, total_steps=20) with cosine annealing", () => {
    const s = makeSchedule(e("onecycle", { max_lr: null, pct_start: 0.3, div_factor: 25, final_div_factor: 1e4, anneal: "cos" }), {
      baseLr: 0.1,
      epochs: 4,
      stepsPerEpoch: 5,
    });
    // [opt.param_groups[0]["lr"] before each of the 20 scheduler steps]
    closeAll(
      trace(s, 4, 5),
      [
        0.0040000000000000036, 0.013167184270002533, 0.037167184270002526, 0.06683281572999747, 0.09083281572999748, 0.1, 0.09874640062350874,
        0.09504846320134738, 0.089091617757105, 0.0811745653949763, 0.07169430017913009, 0.06112620219362893, 0.0500002, 0.03887419780637107,
        0.028306099820869922, 0.0188258346050237, 0.010908782242895003, 0.004951936798652629, 0.0012539993764912555, 4e-7,
      ],
    );
  });
  it("matches torch OneCycleLR(max_lr=0.2, pct_start=0.25, div_factor=10, final_div_factor=100, anneal_strategy='linear')", () => {
    const s = makeSchedule(e("onecycle", { max_lr: 0.2, pct_start: 0.25, div_factor: 10, final_div_factor: 100, anneal: "linear" }), {
      baseLr: 0.001, // ignored: max_lr is given
      epochs: 2,
      stepsPerEpoch: 10,
    });
    closeAll(
      trace(s, 2, 10),
      [
        0.02, 0.065, 0.11, 0.155, 0.2, 0.18668, 0.17336, 0.16004, 0.14672, 0.1334, 0.12008, 0.10676, 0.09344, 0.08012, 0.0668, 0.05348, 0.04016, 0.02684,
        0.01352, 0.0002,
      ],
    );
  });
});

describe("plateau", () => {
  it("min mode: torch ReduceLROnPlateau(mode='min', factor=0.5, patience=2, min_lr=0.02)", () => {
    const s = makeSchedule(e("plateau", { metric: "val_loss", mode: "min", factor: 0.5, patience: 2, min_lr: 0.02 }), {
      baseLr: 0.1,
      epochs: 20,
      stepsPerEpoch: 4,
    });
    const metrics = [1.0, 0.9, 0.9, 0.89995, 0.95, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88];
    const lrs = metrics.map((m, epoch) => {
      s.endEpoch({ val_loss: m, accuracy: 0.5 });
      return s.lr(epoch + 1, 0);
    });
    // 0.89995 is not below 0.9·(1 - 1e-4): no improvement (relative threshold)
    closeAll(lrs, [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02], 12);
  });
  it("max mode on a metric reported with a val_ prefix: ReduceLROnPlateau(mode='max', factor=0.1, patience=0)", () => {
    const s = makeSchedule(e("plateau", { metric: "auroc", mode: "max", factor: 0.1, patience: 0, min_lr: 0 }), { baseLr: 0.1, epochs: 20, stepsPerEpoch: 1 });
    expect(s.lr(0, 0)).toBe(0.1);
    const lrs = [0.5, 0.6, 0.60005, 0.7, 0.7, 0.65].map((m) => {
      s.endEpoch({ val_auroc: m });
      return s.lr(0, 0);
    });
    closeAll(lrs, [0.1, 0.1, 0.01, 0.01, 0.001, 0.0001], 12);
  });
  it("a missing metric is an error naming the available ones", () => {
    const s = makeSchedule(e("plateau", {}), { baseLr: 0.1, epochs: 2, stepsPerEpoch: 1 });
    expect(() => s.endEpoch({ accuracy: 1 })).toThrow(/'val_loss' is not among this epoch's metrics \(accuracy\)/);
  });
});

describe("errors", () => {
  it("unknown entries and bad arguments", () => {
    const ctx = { baseLr: 0.1, epochs: 2, stepsPerEpoch: 1 };
    expect(() => makeSchedule(e("cosin"), ctx)).toThrow(/unknown schedule 'cosin'/);
    expect(() => makeSchedule(e("step", {}), ctx)).toThrow(/step_size/);
    expect(() => makeSchedule(e("multistep", { milestones: "x" }), ctx)).toThrow(/milestones/);
    expect(() => makeSchedule(e("cosine"), { baseLr: 0.1, epochs: 2, stepsPerEpoch: 0 })).toThrow(/stepsPerEpoch/);
  });
  it("schedules that ignore metrics accept endEpoch", () => {
    const s = makeSchedule(e("cosine"), { baseLr: 0.1, epochs: 2, stepsPerEpoch: 1 });
    expect(() => s.endEpoch({})).not.toThrow();
  });
});
