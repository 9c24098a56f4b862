/**
 * Training curves as a standalone SVG: losses (train and validation) on the left, validation
 * metrics on the right, stage boundaries as dashed lines. Redrawn after every epoch.
 */

export interface CurvePoint {
  epoch: number;
  stage: string;
  trainLoss: number;
  valLoss: number;
  metrics: Record<string, number>;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const W = 420;
const H = 280;
const M = { left: 52, right: 12, top: 28, bottom: 36 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

interface Series {
  name: string;
  values: [number, number][];
}

function panel(x0: number, title: string, series: Series[], points: readonly CurvePoint[]): string {
  const all = series.flatMap((s) => s.values.map(([, v]) => v)).filter(Number.isFinite);
  const epochs = points.map((p) => p.epoch);
  const [e0, e1] = [Math.min(...epochs, 1), Math.max(...epochs, 2)];
  let [lo, hi] = all.length ? [Math.min(...all), Math.max(...all)] : [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  [lo, hi] = [lo - pad, hi + pad];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (e: number) => x0 + M.left + ((e - e0) / (e1 - e0)) * pw;
  const y = (v: number) => M.top + (1 - (v - lo) / (hi - lo)) * ph;
  const out: string[] = [
    `<text x="${x0 + M.left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    out.push(`<line x1="${x0 + M.left - 4}" x2="${x0 + M.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 + M.left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${fmt(v)}</text>`);
  }
  const step = Math.max(1, Math.ceil((e1 - e0) / 8));
  for (let e = e0; e <= e1; e += step) out.push(`<text x="${x(e)}" y="${M.top + ph + 14}" font-size="10" text-anchor="middle">${e}</text>`);
  out.push(`<text x="${x0 + M.left + pw / 2}" y="${H - 6}" font-size="11" text-anchor="middle">epoch</text>`);
  // A dashed line where a new stage starts.
  points.forEach((p, i) => {
    if (i > 0 && p.stage !== points[i - 1]!.stage) {
      const xe = x(p.epoch - 0.5);
      out.push(`<line x1="${xe}" x2="${xe}" y1="${M.top}" y2="${M.top + ph}" stroke="#888" stroke-dasharray="4 3"/>`);
      out.push(`<text x="${xe + 3}" y="${M.top + 10}" font-size="9" fill="#666">${esc(p.stage)}</text>`);
    }
  });
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const pts = s.values.filter(([, v]) => Number.isFinite(v));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.map(([e, v]) => `${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`);
    for (const [e, v] of pts) out.push(`<circle cx="${x(e).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.2" fill="${color}"/>`);
    out.push(`<rect x="${x0 + M.left + 8}" y="${M.top + 8 + k * 14}" width="10" height="3" fill="${color}"/>`);
    out.push(`<text x="${x0 + M.left + 22}" y="${M.top + 12 + k * 14}" font-size="10">${esc(s.name)}</text>`);
  });
  return out.join("\n");
}

export function curvesSvg(model: string, points: readonly CurvePoint[]): string {
  const losses: Series[] = [
    { name: "train loss", values: points.map((p) => [p.epoch, p.trainLoss]) },
    { name: "val loss", values: points.map((p) => [p.epoch, p.valLoss]) },
  ];
  const names = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
  const metrics: Series[] = names.map((name) => ({ name, values: points.map((p) => [p.epoch, p.metrics[name] ?? NaN]) }));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}" font-family="sans-serif">`,
    `<title>${esc(model)} training curves</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(0, "loss", losses, points),
    panel(W, "validation metrics", metrics, points),
    `</svg>`,
    "",
  ].join("\n");
}
