/**
 * Learning-rate schedules, one per registry entry (src/policy/registry.ts `schedule`).
 *
 * A schedule spans one stage: `epochs` epochs of `stepsPerEpoch` steps starting at the stage's
 * lr (`baseLr`). It is queried for every step, lr(epoch, step), both 0-based within the stage.
 * Step-resolved schedules (cosine, onecycle, warm-ups) move every step; the epoch-based ones
 * (step, multistep, exponential, poly, plateau) hold for a whole epoch, as their PyTorch / nnU-Net
 * counterparts stepped once per epoch do. Past the stage's end the last value holds.
 */
import { argReader } from "./args.js";
import type { Entry, Schedule, ScheduleContext } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Argument reading.

const { error: argError, num, optNum, str } = argReader("schedule");

function ints(entry: Entry, name: string): number[] {
  const v = entry.args[name];
  if (typeof v === "number") return [v];
  if (Array.isArray(v) && v.every((e) => typeof e === "number")) return v as number[];
  throw argError(entry, name, "a list of epochs");
}

// ---------------------------------------------------------------------------------------------

/** Schedules whose value depends only on the position, not on metrics. */
function fixed(lr: (epoch: number, step: number) => number): Schedule {
  return { lr, endEpoch: () => {} };
}

/**
 * Linear warm-up over the first `warmupEpochs`, per step, from 0: step s of W warm-up steps gets
 * base·s/W (as transformers' get_cosine_schedule_with_warmup); null after the warm-up.
 */
function warmupLr(ctx: ScheduleContext, warmupEpochs: number, epoch: number, step: number): number | null {
  const w = Math.min(warmupEpochs, ctx.epochs) * ctx.stepsPerEpoch;
  const s = epoch * ctx.stepsPerEpoch + step;
  return s < w ? (ctx.baseLr * s) / w : null;
}

/**
 * cosine: after the warm-up, min_lr + (base - min_lr)·(1 + cos(π·t))/2 with t the fraction of the
 * remaining steps done (per step; min_lr is reached one step after the stage ends, as in torch and transformers).
 */
function cosine(ctx: ScheduleContext, warmup: number, minLr: number): Schedule {
  const total = ctx.epochs * ctx.stepsPerEpoch;
  const w = Math.min(warmup, ctx.epochs) * ctx.stepsPerEpoch;
  return fixed((epoch, step) => {
    const warm = warmupLr(ctx, warmup, epoch, step);
    if (warm !== null) return warm;
    const s = epoch * ctx.stepsPerEpoch + step;
    const t = total > w ? Math.min(1, (s - w) / (total - w)) : 1;
    return minLr + ((ctx.baseLr - minLr) * (1 + Math.cos(Math.PI * t))) / 2;
  });
}

/**
 * onecycle as torch.optim.lr_scheduler.OneCycleLR (two phases, per step over epochs·stepsPerEpoch
 * steps): from max_lr/div_factor up to max_lr over the first pct_start of the steps, then down to
 * max_lr/(div_factor·final_div_factor), cosine or linear.
 */
function onecycle(ctx: ScheduleContext, maxLr: number, pctStart: number, div: number, finalDiv: number, anneal: string): Schedule {
  const total = Math.max(1, ctx.epochs * ctx.stepsPerEpoch);
  const initial = maxLr / div;
  const final = initial / finalDiv;
  const upEnd = pctStart * total - 1;
  const downEnd = total - 1;
  const interp =
    anneal === "linear"
      ? (a: number, b: number, t: number) => a + (b - a) * t
      : (a: number, b: number, t: number) => b + ((a - b) / 2) * (1 + Math.cos(Math.PI * t));
  return fixed((epoch, step) => {
    const s = Math.min(epoch * ctx.stepsPerEpoch + step, downEnd);
    if (s <= upEnd) return interp(initial, maxLr, upEnd > 0 ? s / upEnd : 1);
    const span = downEnd - upEnd;
    return interp(maxLr, final, span > 0 ? (s - upEnd) / span : 1);
  });
}

/**
 * poly (nnU-Net's PolyLRScheduler): base·(1 - e/E)^power per epoch, where after a warm-up of W
 * epochs e counts the epochs since the warm-up and E = epochs - W.
 */
function poly(ctx: ScheduleContext, power: number, warmup: number): Schedule {
  const w = Math.min(warmup, ctx.epochs);
  const span = ctx.epochs - w;
  return fixed((epoch, step) => {
    const warm = warmupLr(ctx, warmup, epoch, step);
    if (warm !== null) return warm;
    const e = Math.min(epoch - w, span);
    return span > 0 ? ctx.baseLr * Math.max(0, 1 - e / span) ** power : ctx.baseLr;
  });
}

/**
 * plateau as torch.optim.lr_scheduler.ReduceLROnPlateau with threshold 1e-4 in relative mode,
 * cooldown 0 and eps 1e-8: an epoch improves when its metric beats the best by the relative
 * threshold (below best·(1 - 1e-4) for min, above best·(1 + 1e-4) for max); after more than
 * `patience` epochs without improvement the lr is multiplied by factor (not below min_lr) and
 * the count restarts. A NaN metric counts as no improvement. The metric is looked up by its
 * name, then as `val_<name>` (so `metric="auroc"` finds a reported `val_auroc`).
 */
export class PlateauSchedule implements Schedule {
  static readonly threshold = 1e-4;
  static readonly eps = 1e-8;
  private current: number;
  private best: number;
  private bad = 0;

  constructor(
    baseLr: number,
    readonly metric: string,
    readonly mode: "min" | "max",
    readonly factor: number,
    readonly patience: number,
    readonly minLr: number,
  ) {
    this.current = baseLr;
    this.best = mode === "min" ? Infinity : -Infinity;
  }

  lr(): number {
    return this.current;
  }

  endEpoch(metrics: Record<string, number>): void {
    const value = metrics[this.metric] ?? metrics[`val_${this.metric}`];
    if (value === undefined)
      throw new Error(`schedule plateau: metric '${this.metric}' is not among this epoch's metrics (${Object.keys(metrics).join(", ") || "none"})`);
    const better = this.mode === "min" ? value < this.best * (1 - PlateauSchedule.threshold) : value > this.best * (1 + PlateauSchedule.threshold);
    if (better) {
      this.best = value;
      this.bad = 0;
    } else {
      this.bad++;
    }
    if (this.bad > this.patience) {
      const next = Math.max(this.current * this.factor, this.minLr);
      if (this.current - next > PlateauSchedule.eps) this.current = next;
      this.bad = 0;
    }
  }
}

/** The schedule for a registry entry over one stage. */
export function makeSchedule(entry: Entry, ctx: ScheduleContext): Schedule {
  if (!(ctx.stepsPerEpoch >= 1) || !(ctx.epochs >= 0))
    throw new Error(`schedule ${entry.name}: needs epochs ≥ 0 and stepsPerEpoch ≥ 1, got ${ctx.epochs} and ${ctx.stepsPerEpoch}`);
  const base = ctx.baseLr;
  switch (entry.name) {
    case "cosine":
      return cosine(ctx, num(entry, "warmup", 0), num(entry, "min_lr", 0));
    case "constant": {
      const warmup = num(entry, "warmup", 0);
      return fixed((epoch, step) => warmupLr(ctx, warmup, epoch, step) ?? base);
    }
    case "step": {
      // torch StepLR: base·gamma^⌊epoch / step_size⌋
      const size = num(entry, "step_size");
      const gamma = num(entry, "gamma", 0.1);
      if (!(size >= 1)) throw argError(entry, "step_size", "at least 1");
      return fixed((epoch) => base * gamma ** Math.floor(epoch / size));
    }
    case "multistep": {
      // torch MultiStepLR: one factor of gamma for every milestone reached (milestone ≤ epoch)
      const milestones = ints(entry, "milestones");
      const gamma = num(entry, "gamma", 0.1);
      return fixed((epoch) => base * gamma ** milestones.filter((m) => m <= epoch).length);
    }
    case "exponential": {
      // torch ExponentialLR: base·gamma^epoch
      const gamma = num(entry, "gamma");
      return fixed((epoch) => base * gamma ** epoch);
    }
    case "poly":
      return poly(ctx, num(entry, "power", 0.9), num(entry, "warmup", 0));
    case "onecycle": {
      const anneal = str(entry, "anneal", "cos");
      if (anneal !== "cos" && anneal !== "linear") throw argError(entry, "anneal", '"cos" or "linear"');
      return onecycle(
        ctx,
        optNum(entry, "max_lr") ?? base,
        num(entry, "pct_start", 0.3),
        num(entry, "div_factor", 25),
        num(entry, "final_div_factor", 1e4),
        anneal,
      );
    }
    case "plateau": {
      const mode = str(entry, "mode", "min");
      if (mode !== "min" && mode !== "max") throw argError(entry, "mode", '"min" or "max"');
      return new PlateauSchedule(base, str(entry, "metric", "val_loss"), mode, num(entry, "factor", 0.1), num(entry, "patience", 10), num(entry, "min_lr", 0));
    }
    default:
      throw new Error(`unknown schedule '${entry.name}'`);
  }
}
