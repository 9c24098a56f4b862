/**
 * Intensity normalization: every `normalize` entry of the policy registry. Statistics are per
 * channel. Dataset-mode entries read `DatasetStats`, computed once over the training images by
 * `datasetStats`.
 *
 * Mapping to [0, 1] (`imagenet`, and the default when a plan names no normalization) uses the
 * image's nominal range `meta.range`: 8-bit PNG and JPEG divide by 255, 16-bit PNG by 65535
 * (the format's full range, so relative brightness between images survives), DICOM uses its
 * window (center ± width/2) when the file has one, else its own min..max. Values outside the
 * range are clipped. An image without metadata uses its own min..max.
 */
import { dims, minMax, type RuntimeImage } from "./data/image.js";
import type { Entry, Image } from "./types.js";

export interface DatasetStats {
  /** Per channel, over every pixel of every image. */
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
  /** Per-channel [lo, hi] percentile values, when asked for (`percentile(mode=dataset)`). */
  percentiles?: { lo: number; hi: number; values: [number, number][] };
}

export interface StatsOptions {
  /** Also compute these percentiles (0..100) per channel. */
  percentiles?: [number, number];
  /**
   * Percentiles are computed from at most this many evenly spaced pixels of each image channel
   * (default 65536), which keeps memory bounded on large sets; smaller images count exactly.
   */
  samplesPerImage?: number;
}

/** numpy.percentile with linear interpolation, on sorted values. */
function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = (Math.min(100, Math.max(0, q)) / 100) * (n - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < n ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

/** Per-channel mean, standard deviation (population), min and max over a set of images. */
export function datasetStats(images: Iterable<Image>, opts: StatsOptions = {}): DatasetStats {
  // Per channel: pixel count, mean and sum of squared deviations, merged image by image (Chan et
  // al.), which stays exact for raw 16-bit and HU values where a plain sum of squares would not.
  let count: number[] = [];
  let mean: number[] = [];
  let m2: number[] = [];
  let min: number[] = [];
  let max: number[] = [];
  let pools: number[][] = [];
  const limit = opts.samplesPerImage ?? 65536;
  for (const image of images) {
    const { c } = dims(image);
    if (count.length === 0) {
      count = new Array(c).fill(0);
      mean = new Array(c).fill(0);
      m2 = new Array(c).fill(0);
      min = new Array(c).fill(Infinity);
      max = new Array(c).fill(-Infinity);
      pools = Array.from({ length: c }, () => []);
    } else if (c !== count.length) {
      const source = (image as RuntimeImage).meta?.source;
      throw new Error(`datasetStats: ${source ?? "an image"} has ${c} channels, the others ${count.length} (prepare images to the model's channels first)`);
    }
    const plane = image.data.length / c;
    if (plane === 0) continue;
    const own = channelStats(image);
    for (let ch = 0; ch < c; ch++) {
      const n = count[ch]!;
      const total = n + plane;
      const delta = own.mean[ch]! - mean[ch]!;
      mean[ch] = mean[ch]! + (delta * plane) / total;
      m2[ch] = m2[ch]! + own.std[ch]! ** 2 * plane + (delta * delta * n * plane) / total;
      count[ch] = total;
      min[ch] = Math.min(min[ch]!, own.min[ch]!);
      max[ch] = Math.max(max[ch]!, own.max[ch]!);
      if (opts.percentiles) {
        const step = Math.max(1, Math.ceil(plane / limit));
        const pool = pools[ch]!;
        for (let i = ch * plane; i < (ch + 1) * plane; i += step) pool.push(image.data[i]!);
      }
    }
  }
  if (count.length === 0) throw new Error("datasetStats: no images (the training split is empty)");
  const std = m2.map((v, i) => Math.sqrt(v / count[i]!));
  const stats: DatasetStats = { mean, std, min, max };
  if (opts.percentiles) {
    const [lo, hi] = opts.percentiles;
    const values = pools.map((pool) => {
      const sorted = Float64Array.from(pool).sort();
      return [percentileSorted(sorted, lo), percentileSorted(sorted, hi)] as [number, number];
    });
    stats.percentiles = { lo, hi, values };
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------

/** The registry's argument names and defaults (window's center/width: none means the DICOM file's own window). */
export const normalizeDefaults: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  zscore: { mode: "dataset", mean: null, std: null },
  imagenet: {},
  minmax: { mode: "per_image" },
  window: { center: null, width: null },
  percentile: { lo: 0.5, hi: 99.5, mode: "per_image" },
};

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

function argsOf(entry: Entry): Record<string, unknown> {
  const defaults = normalizeDefaults[entry.name];
  if (!defaults) throw new Error(`normalize: unknown normalization '${entry.name}' (expected one of ${Object.keys(normalizeDefaults).join(", ")})`);
  for (const k of Object.keys(entry.args))
    if (!(k in defaults)) throw new Error(`normalize: ${entry.name} has no argument '${k}' (arguments: ${Object.keys(defaults).join(", ") || "none"})`);
  return { ...defaults, ...Object.fromEntries(Object.entries(entry.args).filter(([, v]) => v !== undefined && v !== null)) };
}

/** out = (x − sub[c]) / div[c] per channel (a zero divisor counts as 1), optionally clipped to [0, 1]. */
function perChannel(image: RuntimeImage, sub: readonly number[], div: readonly number[], clip01 = false): RuntimeImage {
  const { c } = dims(image);
  const plane = image.data.length / c;
  const out = new Float32Array(image.data.length);
  for (let ch = 0; ch < c; ch++) {
    const s = sub[ch]!;
    const d = div[ch]! > 0 ? div[ch]! : 1;
    for (let i = ch * plane; i < (ch + 1) * plane; i++) {
      const v = (image.data[i]! - s) / d;
      out[i] = clip01 ? (v < 0 ? 0 : v > 1 ? 1 : v) : v;
    }
  }
  return { ...image, data: out };
}

function channelStats(image: Image): { mean: number[]; std: number[]; min: number[]; max: number[] } {
  const { c } = dims(image);
  const plane = image.data.length / c;
  const mean: number[] = [];
  const std: number[] = [];
  const min: number[] = [];
  const max: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = ch * plane; i < (ch + 1) * plane; i++) s += image.data[i]!;
    const m = s / plane;
    let s2 = 0;
    for (let i = ch * plane; i < (ch + 1) * plane; i++) s2 += (image.data[i]! - m) ** 2;
    mean.push(m);
    std.push(Math.sqrt(s2 / plane));
    const [lo, hi] = minMax(image.data, ch * plane, (ch + 1) * plane);
    min.push(lo);
    max.push(hi);
  }
  return { mean, std, min, max };
}

/** One value per channel from a fixed list (one value is repeated for every channel). */
function broadcast(values: unknown, c: number, what: string): number[] {
  const list = typeof values === "number" ? [values] : Array.isArray(values) ? (values as unknown[]) : [];
  if (!list.every((v): v is number => typeof v === "number") || (list.length !== 1 && list.length !== c))
    throw new Error(`normalize: ${what} must be one number or one per channel (${c}), got ${JSON.stringify(values)}`);
  return list.length === 1 ? new Array<number>(c).fill(list[0]!) : list;
}

function needStats(stats: DatasetStats | undefined, entry: string, c: number, source: string): DatasetStats {
  if (!stats) throw new Error(`normalize: ${entry}(mode=dataset) needs dataset statistics (compute them once with datasetStats over the training images)`);
  if (stats.mean.length !== c) throw new Error(`normalize: ${source} has ${c} channels but the dataset statistics have ${stats.mean.length}`);
  return stats;
}

/** Scales the image's nominal range (`meta.range`, else its own min..max) to [0, 1], clipping. */
export function toUnitRange(image: RuntimeImage): RuntimeImage {
  const [lo, hi] = image.meta ? image.meta.range : minMax(image.data);
  const { c } = dims(image);
  const span = hi > lo ? hi - lo : 1;
  return perChannel(image, new Array(c).fill(lo), new Array(c).fill(span), true);
}

/** Clips to center ± width/2 and scales that window to [0, 1]. */
export function applyWindow(image: RuntimeImage, center: number, width: number): RuntimeImage {
  const { c } = dims(image);
  return perChannel(image, new Array(c).fill(center - width / 2), new Array(c).fill(width), true);
}

/**
 * Normalizes an image by a registry entry. Without an entry (the plan names none), a DICOM file
 * with a window gets that window, everything else `toUnitRange`.
 */
export function normalize(image: RuntimeImage, entry: Entry | null, stats?: DatasetStats): RuntimeImage {
  const source = image.meta?.source ?? "image";
  if (!entry) {
    const win = image.meta?.window;
    return win ? applyWindow(image, win.center, win.width) : toUnitRange(image);
  }
  const a = argsOf(entry);
  const { c } = dims(image);
  switch (entry.name) {
    case "zscore": {
      if (a.mean !== null || a.std !== null) {
        if (a.mean === null || a.std === null) throw new Error("normalize: zscore needs both mean and std when one is given");
        return perChannel(image, broadcast(a.mean, c, "zscore mean"), broadcast(a.std, c, "zscore std"));
      }
      const s = a.mode === "dataset" ? needStats(stats, "zscore", c, source) : channelStats(image);
      return perChannel(image, s.mean, s.std);
    }
    case "imagenet": {
      const unit = toUnitRange(image);
      // One channel: the average of the three ImageNet channels (a gray image seen as equal R, G, B).
      if (c === 1) return perChannel(unit, [0.449], [0.226]);
      if (c !== 3) throw new Error(`normalize: imagenet expects 1 or 3 channels, ${source} has ${c}`);
      return perChannel(unit, IMAGENET_MEAN, IMAGENET_STD);
    }
    case "minmax": {
      const s = a.mode === "dataset" ? needStats(stats, "minmax", c, source) : channelStats(image);
      return perChannel(
        image,
        s.min,
        s.max.map((hi, i) => hi - s.min[i]!),
        a.mode === "dataset",
      );
    }
    case "window": {
      const win = image.meta?.window;
      const center = typeof a.center === "number" ? a.center : win?.center;
      const width = typeof a.width === "number" ? a.width : win?.width;
      if (center === undefined || width === undefined)
        throw new Error(`normalize: window needs center and width, and ${source} has no DICOM window to default to`);
      return applyWindow(image, center, width);
    }
    case "percentile": {
      const lo = a.lo as number;
      const hi = a.hi as number;
      let bounds: [number, number][];
      if (a.mode === "dataset") {
        const p = needStats(stats, "percentile", c, source).percentiles;
        if (!p || p.lo !== lo || p.hi !== hi)
          throw new Error(`normalize: percentile(mode=dataset) needs datasetStats computed with percentiles [${lo}, ${hi}]`);
        bounds = p.values;
      } else {
        const plane = image.data.length / c;
        bounds = [];
        for (let ch = 0; ch < c; ch++) {
          const sorted = image.data.slice(ch * plane, (ch + 1) * plane).sort();
          bounds.push([percentileSorted(sorted, lo), percentileSorted(sorted, hi)]);
        }
      }
      return perChannel(
        image,
        bounds.map((b) => b[0]),
        bounds.map((b) => b[1] - b[0]),
        true,
      );
    }
    default:
      throw new Error(`normalize: unknown normalization '${entry.name}'`);
  }
}
