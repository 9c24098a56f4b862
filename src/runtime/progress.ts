/**
 * Console output of training: a progress bar redrawn in place during an epoch (only on a
 * terminal), then one summary line per epoch that stays in the log.
 */

export interface TrainIo {
  /** A line for the log. */
  out(text: string): void;
  err(text: string): void;
  /** Redraws the current progress line; absent when the output is not a terminal. */
  progress?(text: string): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** A number for the log: 4 significant digits, exponent form for the very small (learning rates). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

export interface ProgressStats {
  loss: number;
  /** A running training metric, e.g. ["acc", 0.81]. */
  metric?: [string, number];
}

export class EpochProgress {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly io: TrainIo,
    private readonly label: string,
    /** Steps in the epoch. */
    private readonly total: number,
    /** Images in the epoch. */
    private readonly images: number,
    private readonly width = 24,
  ) {}

  /** Redraws after `done` steps covering `seen` images; at most ten times a second. */
  update(done: number, seen: number, stats: ProgressStats): void {
    if (!this.io.progress) return;
    const now = Date.now();
    if (done < this.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const elapsed = (now - this.started) / 1000;
    const rate = seen / Math.max(elapsed, 1e-3);
    const eta = (this.images - seen) / rate;
    const filled = Math.round((done / this.total) * this.width);
    const bar = "█".repeat(filled) + "░".repeat(this.width - filled);
    const metric = stats.metric ? `  ${stats.metric[0]} ${formatNumber(stats.metric[1])}` : "";
    this.io.progress(`${this.label} ${bar} ${done}/${this.total}  loss ${formatNumber(stats.loss)}${metric}  ${rate.toFixed(1)} img/s  ETA ${formatDuration(eta)}`);
  }

  /** Seconds since the epoch started. */
  get elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Clears the progress line so the summary line replaces it. */
  finish(): void {
    this.io.progress?.("");
  }
}
