/**
 * Data sources: an image folder per class, or a CSV table of paths and labels. Opening a source
 * lists samples and checks labels and files; pixels are decoded later, one sample at a time
 * (`loadSample`), so an unreadable image is reported when it is loaded.
 *
 * When the data does not say which samples are for validation, a deterministic stratified split
 * holds out round(n · val_split) samples of each class (at least one, and not all, of a class with
 * two or more): within a class, samples are ordered by a
 * hash of their path, so the split does not depend on the seed, on directory listing order or on
 * row order, and adding files moves few others.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Dataset, Entry, Sample } from "../types.js";
import { parseCsv } from "./csv.js";
import { decodeImage } from "./decode.js";
import type { ImageResult } from "./image.js";
import { prepare, type PrepareSpec } from "./resize.js";

export type DatasetResult = { ok: true; dataset: Dataset } | { ok: false; error: string };

type Split = Sample["split"];

/** Extensions listed as images; files without an extension count when they carry the DICOM magic. */
export const imageExtensions = [".png", ".jpg", ".jpeg", ".dcm", ".dicom"] as const;

const MAX_ERRORS = 20;

function failWith(errors: string[]): DatasetResult {
  const shown = errors.slice(0, MAX_ERRORS);
  if (errors.length > MAX_ERRORS) shown.push(`… and ${errors.length - MAX_ERRORS} more`);
  return { ok: false, error: shown.join("\n") };
}

/** FNV-1a over UTF-16 code units: a stable order key that needs no seed. */
function pathHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Assigns "val" to round(n · valSplit) samples of each stratum, "train" to the rest; a stratum of
 * two or more samples keeps at least one on each side when 0 < valSplit < 1. `key` names a sample's
 * stratum, `id` orders it (a path relative to the data root).
 */
export function stratifiedSplit<T>(items: readonly T[], valSplit: number, key: (t: T) => string, id: (t: T) => string): Split[] {
  const groups = new Map<string, number[]>();
  items.forEach((t, i) => {
    const k = key(t);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const out: Split[] = items.map(() => "train");
  for (const members of groups.values()) {
    const keyed = members.map((i) => ({ i, id: id(items[i]!) })).map((m) => ({ ...m, h: pathHash(m.id) }));
    keyed.sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let nVal = Math.round(keyed.length * valSplit);
    // Every stratum of two or more keeps a sample on each side, so per-class validation metrics exist.
    if (valSplit > 0 && valSplit < 1 && keyed.length >= 2) nVal = Math.min(Math.max(nVal, 1), keyed.length - 1);
    for (let k = 0; k < nVal; k++) out[keyed[k]!.i] = "val";
  }
  return out;
}

function hasDicomMagic(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = Buffer.alloc(4);
    return readSync(fd, buf, 0, 4, 128) === 4 && buf.toString("latin1") === "DICM";
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isImageFile(path: string): boolean {
  const ext = extname(path).toLowerCase();
  if ((imageExtensions as readonly string[]).includes(ext)) return true;
  return ext === "" && hasDicomMagic(path);
}

/** Image files under `dir`, recursively, sorted; hidden files and folders are skipped. */
function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageFile(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith(".") && (e.isDirectory() || (e.isSymbolicLink() && statSync(join(dir, e.name)).isDirectory())))
    .map((e) => e.name)
    .sort();
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `path` relative to `root` with forward slashes, the same on every platform. */
const relativeId = (root: string, path: string) => relative(root, path).split(sep).join("/");

const sortedText = (xs: readonly string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export interface ImageFolderOptions {
  /** Fraction of each class held out for validation when there is no val/ folder (default 0.2). */
  val_split?: number;
  /** The model's class names, in its order; folder names must match them. Default: the folder names, sorted. */
  classes?: readonly string[];
}

/**
 * `DIR/train/<class>/…`, `DIR/val/<class>/…` and an optional `DIR/test/<class>/…`; or
 * `DIR/<class>/…` alone. Without a val/ folder the training images are split (stratified,
 * deterministic). Class names are the training folders' names in sorted order (as torchvision's
 * ImageFolder), or `classes` when given. Images may sit in nested folders inside a class folder.
 */
export function openImageFolder(dir: string, opts: ImageFolderOptions = {}): DatasetResult {
  const valSplit = opts.val_split ?? 0.2;
  const root = resolve(dir);
  if (!isDir(root)) return { ok: false, error: `${dir}: ${existsSync(root) ? "is not a folder" : "folder not found"} (imagefolder data source)` };
  const errors: string[] = [];
  const trainDir = isDir(join(root, "train")) ? join(root, "train") : root;
  const nested = trainDir !== root;
  const valDir = nested ? ["val", "valid", "validation"].map((n) => join(root, n)).find(isDir) : undefined;
  const testDir = nested && isDir(join(root, "test")) ? join(root, "test") : undefined;

  const found = subdirs(trainDir);
  if (found.length === 0) return { ok: false, error: `${trainDir}: has no class folders (expected ${nested ? "train/" : ""}<class>/<image files>)` };
  const classNames = opts.classes ? [...opts.classes] : found;
  const index = new Map(classNames.map((c, i) => [c, i]));

  const samples: Sample[] = [];
  const collect = (splitDir: string, split: Split | undefined): Sample[] => {
    const got: Sample[] = [];
    for (const name of subdirs(splitDir)) {
      const classDir = join(splitDir, name);
      const label = index.get(name);
      if (label === undefined) {
        errors.push(`${classDir}: unknown label '${name}' (classes: ${classNames.join(", ")})`);
        continue;
      }
      const files = listImages(classDir);
      if (files.length === 0 && split !== "val" && split !== "test")
        errors.push(`${classDir}: class '${name}' is empty (no ${imageExtensions.join(", ")} files)`);
      for (const path of files) got.push({ path, id: relativeId(root, path), label, split: split ?? "train" });
    }
    return got;
  };

  const train = collect(trainDir, valDir ? "train" : undefined);
  for (const name of classNames)
    if (!found.includes(name)) errors.push(`${join(trainDir, name)}: class '${name}' is empty (the folder does not exist)`);
  if (valDir) samples.push(...train, ...collect(valDir, "val"));
  else {
    const splits = stratifiedSplit(
      train,
      valSplit,
      (s) => String(s.label),
      (s) => s.id,
    );
    train.forEach((s, i) => samples.push({ ...s, split: splits[i]! }));
  }
  if (testDir) samples.push(...collect(testDir, "test"));
  if (errors.length > 0) return failWith(errors);
  return { ok: true, dataset: { classNames, multilabel: false, samples } };
}

export interface CsvOptions {
  /** Column holding image paths, relative to the CSV's folder (default "image"). */
  image_col?: string;
  /**
   * One column (a class name per row; several separated by ";" or "|" make the set multi-label),
   * or one column per class holding 1/0 (multi-label; the columns name the classes).
   */
  label_col?: string | readonly string[];
  /** Column holding train/val/test; none: a deterministic stratified split. */
  split_col?: string | null;
  val_split?: number;
  /**
   * The model's class names, in its order: labels must be among them, or all be class indices
   * (0 … K−1). Default: the labels found, sorted.
   */
  classes?: readonly string[];
  /** Force multi-label reading of a single label column even when no row has a separator. */
  multilabel?: boolean;
}

const splitNames: Record<string, Split> = {
  train: "train",
  training: "train",
  val: "val",
  valid: "val",
  validation: "val",
  test: "test",
  testing: "test",
};

const positive = new Set(["1", "1.0", "true", "yes", "y", "t"]);
// -1 (uncertain, as in CheXpert) counts as negative.
const negative = new Set(["", "0", "0.0", "-1", "-1.0", "false", "no", "n", "f"]);

const isInteger = (s: string) => /^-?\d+$/.test(s);

/** Sorted class names: numerically when every name is an integer, else by code point. */
function sortClassNames(names: Iterable<string>): string[] {
  const list = [...new Set(names)];
  return list.every(isInteger) ? list.sort((a, b) => Number(a) - Number(b)) : sortedText(list);
}

/**
 * A CSV table with a header row. Paths are relative to the CSV's folder (absolute ones are kept).
 * Class names are `classes` when given; otherwise the labels found, sorted (numerically when all
 * are integers), so reordering rows never changes a class's index. Messages name the CSV and the
 * line of the offending row.
 */
export function openCsv(path: string, opts: CsvOptions = {}): DatasetResult {
  const imageCol = opts.image_col ?? "image";
  const labelCols = typeof opts.label_col === "string" ? [opts.label_col] : opts.label_col ? [...opts.label_col] : ["label"];
  const splitCol = opts.split_col ?? null;
  const valSplit = opts.val_split ?? 0.2;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, error: `${path}: ${code === "ENOENT" ? "file not found" : `cannot read the file (${(e as Error).message})`} (csv data source)` };
  }
  const records = parseCsv(text);
  const header = records.shift();
  if (!header) return { ok: false, error: `${path}: is empty (expected a header row naming the columns)` };
  const columns = header.cells.map((c) => c.trim());
  const col = (name: string) => columns.indexOf(name);
  const missing = [imageCol, ...labelCols, ...(splitCol !== null ? [splitCol] : [])].filter((c) => col(c) < 0);
  if (missing.length > 0)
    return { ok: false, error: `${path}: no column ${missing.map((m) => `'${m}'`).join(", ")} (columns: ${columns.join(", ")})` };

  const base = dirname(resolve(path));
  const errors: string[] = [];
  const at = (line: number) => `${path} line ${line}`;
  const imageIdx = col(imageCol);
  const labelIdx = labelCols.map(col);
  const splitIdx = splitCol !== null ? col(splitCol) : -1;
  const perColumn = labelCols.length > 1;
  const separated = /[;|]/;
  const multilabel = perColumn || opts.multilabel === true || records.some((r) => separated.test(r.cells[labelIdx[0]!] ?? ""));

  interface Row {
    line: number;
    path: string;
    rel: string;
    names: string[];
    split: Split | undefined;
  }
  const rows: Row[] = [];
  for (const r of records) {
    const cell = (i: number) => (r.cells[i] ?? "").trim();
    const file = cell(imageIdx);
    if (file === "") {
      errors.push(`${at(r.line)}: empty '${imageCol}'`);
      continue;
    }
    const abs = isAbsolute(file) ? file : resolve(base, file);
    if (!existsSync(abs)) errors.push(`${at(r.line)}: image '${file}' not found (looked for ${abs})`);
    let names: string[];
    if (perColumn) {
      names = [];
      labelIdx.forEach((li, k) => {
        const v = cell(li).toLowerCase();
        if (positive.has(v)) names.push(labelCols[k]!);
        else if (!negative.has(v)) errors.push(`${at(r.line)}: '${labelCols[k]}' must be 1 or 0, got '${cell(li)}'`);
      });
    } else {
      const v = cell(labelIdx[0]!);
      names = multilabel
        ? v
            .split(separated)
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : [v];
      if (!multilabel && v === "") errors.push(`${at(r.line)}: empty label in '${labelCols[0]}'`);
    }
    let split: Split | undefined;
    if (splitIdx >= 0) {
      const v = cell(splitIdx);
      split = splitNames[v.toLowerCase()];
      if (!split) errors.push(`${at(r.line)}: split '${v}' in '${splitCol}' is not train, val or test`);
    }
    rows.push({ line: r.line, path: abs, rel: file, names, split });
  }
  if (rows.length === 0 && errors.length === 0) return { ok: false, error: `${path}: has a header but no rows` };

  const classNames = opts.classes ? [...opts.classes] : perColumn ? labelCols : sortClassNames(rows.flatMap((r) => r.names).filter((n) => n !== ""));
  const index = new Map(classNames.map((c, i) => [c, i]));
  // Labels written as class indices (0, 1, …) against named classes: read them as indices.
  if (opts.classes && !perColumn) {
    const found = new Set(rows.flatMap((r) => r.names).filter((n) => n !== ""));
    const asIndex = [...found].every((n) => /^\d+$/.test(n) && Number(n) < classNames.length && !index.has(n));
    if (found.size > 0 && asIndex) for (let i = 0; i < classNames.length; i++) index.set(String(i), i);
  }
  const counts = new Array<number>(classNames.length).fill(0);
  const labels: (number | number[])[] = rows.map((row) => {
    const idx: number[] = [];
    for (const n of row.names) {
      const i = index.get(n);
      if (i === undefined) {
        if (n !== "" || !multilabel) errors.push(`${at(row.line)}: unknown label '${n}' (classes: ${classNames.join(", ")})`);
        continue;
      }
      if (!idx.includes(i)) idx.push(i);
      counts[i]!++;
    }
    idx.sort((a, b) => a - b);
    return multilabel ? idx : (idx[0] ?? -1);
  });
  counts.forEach((n, i) => {
    if (n === 0) errors.push(`${path}: class '${classNames[i]}' is empty (no row has this label)`);
  });
  if (errors.length > 0) return failWith(errors);

  const key = (i: number) => {
    const l = labels[i]!;
    return Array.isArray(l) ? l.join(",") : String(l);
  };
  const order = rows.map((_, i) => i);
  const needSplit = order.filter((i) => rows[i]!.split === undefined);
  // Rows are told apart by path as listed (and by occurrence, for a path listed twice), never by
  // position; the same ids name each sample's random streams.
  const seen = new Map<string, number>();
  const ids = rows.map((row) => {
    const k = seen.get(row.rel) ?? 0;
    seen.set(row.rel, k + 1);
    return k === 0 ? row.rel : `${row.rel}#${k}`;
  });
  const drawn = stratifiedSplit(needSplit, valSplit, key, (i) => ids[i]!);
  const splits = new Map(needSplit.map((i, k) => [i, drawn[k]!]));
  const samples: Sample[] = rows.map((row, i) => ({ path: row.path, id: ids[i]!, label: labels[i]!, split: row.split ?? splits.get(i)! }));
  return { ok: true, dataset: { classNames, multilabel, samples } };
}

export interface OpenOptions {
  /** Folder that relative data paths are resolved against (the .medg file's folder). */
  baseDir?: string;
  /** The task's class names, when the model file lists them. */
  classes?: readonly string[];
  /** The task is multi-label. */
  multilabel?: boolean;
}

/** Opens the plan's `data` entry (`imagefolder` or `csv`; arguments as in the policy registry). */
export function openDataset(entry: Entry, opts: OpenOptions = {}): DatasetResult {
  const a = entry.args;
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const at = (p: string) => resolve(opts.baseDir ?? ".", p);
  const valSplit = typeof a.val_split === "number" ? a.val_split : undefined;
  const classes = opts.classes;
  const path = str(a.path);
  switch (entry.name) {
    case "imagefolder":
      if (path === undefined) return { ok: false, error: "imagefolder: missing 'path'" };
      return openImageFolder(at(path), { val_split: valSplit, classes });
    case "csv": {
      if (path === undefined) return { ok: false, error: "csv: missing 'path'" };
      const labelCol = Array.isArray(a.label_col) ? a.label_col.filter((x): x is string => typeof x === "string") : str(a.label_col);
      return openCsv(at(path), {
        image_col: str(a.image_col),
        label_col: labelCol,
        split_col: str(a.split_col) ?? null,
        val_split: valSplit,
        classes,
        multilabel: opts.multilabel,
      });
    }
    default:
      return { ok: false, error: `data source '${entry.name}' is not supported by this runtime yet (imagefolder and csv are)` };
  }
}

/** Decodes a sample's image and, given the model's input spec, prepares it (channels, size). */
export function loadSample(sample: Sample, spec?: PrepareSpec): ImageResult {
  const decoded = decodeImage(sample.path);
  if (!decoded.ok || !spec) return decoded;
  return prepare(decoded.image, spec);
}

/** Number of samples per class in a split (multi-label samples count once per label). */
export function classCounts(dataset: Dataset, split: Split): number[] {
  const counts = new Array<number>(dataset.classNames.length).fill(0);
  for (const s of dataset.samples) {
    if (s.split !== split) continue;
    for (const l of Array.isArray(s.label) ? s.label : [s.label]) counts[l]!++;
  }
  return counts;
}

