/**
 * Segmentation data: images paired with masks. Two layouts are read.
 *
 * - images/ + masks/: `images/<name>.<ext>` and `masks/<name>.png` matched by their path relative
 *   to the folder, without the extension (nested folders allowed). A mask holds the class index
 *   per pixel (gray or palette PNG; a palette PNG's index is the class). Given as
 *   `data images_masks("images", "masks")`, or `--data DIR` holding `images/` and `masks/`, or
 *   `train/{images,masks}` and `val/{images,masks}` (and an optional `test/`).
 *   Multi-label tasks read one binary mask per class instead: `masks/<class>/<name>.png`
 *   (non-zero = the class is present; a missing file = absent everywhere).
 * - The nnU-Net / Medical Segmentation Decathlon raw layout: `dataset.json`, `imagesTr/`,
 *   `labelsTr/`. Class names come from its `labels` (MSD: {"0": "background", …}; nnU-Net v2:
 *   {"background": 0, …}, where a list of values is a region: the union of those labels, for
 *   multi-label tasks), channels from `modality` / `channel_names`. Cases come from the
 *   `training` list when there is one, else from labelsTr/: `labelsTr/X.png` pairs with
 *   `imagesTr/X_0000.png` (`X_0001.png` … for more channels, stacked) or `imagesTr/X.png`.
 *   Only 2-D images (PNG, JPEG, DICOM) are read; NIfTI volumes are refused with a message.
 *
 * Binary tasks (two classes, or one output) also accept masks stored as 0 / 255 (and JPEG masks,
 * thresholded at half their range, JPEG being lossy); any other value outside the classes is an
 * error naming the file.
 *
 * Without a given split, a deterministic split holds out round(n · val_split) cases, ordered by a
 * hash of their name (`stratifiedSplit` with one stratum): it does not depend on the seed or on
 * listing order.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, resolve, sep } from "node:path";
import type { Entry } from "../types.js";
import { stratifiedSplit, imageExtensions } from "./datasets.js";
import { decodeImageBytes } from "./decode.js";
import { dims, type RuntimeImage } from "./image.js";

export type Split = "train" | "val" | "test";

export interface SegmentationSample {
  /** The image file (the first of `images`). */
  path: string;
  /**
   * The case's name relative to the dataset (`sub/case_0001`, `labelsTr/case_0001.png`): it names
   * the sample's random streams, so a run does not depend on where the data folder lies.
   */
  id: string;
  /** The image's files: one, or one per channel (stacked in order). */
  images: string[];
  /** Single-label: one mask of class indices. Multi-label: one binary mask per class (null: absent). */
  masks: (string | null)[];
  split: Split;
}

/** How mask values become classes. */
export interface MaskCoding {
  /** Single-label: mask value → class index (identity when absent). Multi-label from one index mask: the values of each class. */
  regions?: number[][];
  /** Multi-label with one binary mask per class (images_masks layout). */
  perClassFiles: boolean;
}

export interface SegmentationDataset {
  /** Which layout was read: the plan's data entry names. */
  layout: "images_masks" | "msd";
  classNames: string[];
  multilabel: boolean;
  samples: SegmentationSample[];
  coding: MaskCoding;
  /** Imaging modality per channel, when the data says (dataset.json). */
  modality?: string[];
}

export type SegmentationResult = { ok: true; dataset: SegmentationDataset } | { ok: false; error: string };

export interface SegmentationOptions {
  /** The model's class names in its order; a count takes names from the data (or numbers). */
  classes: readonly string[] | number;
  multilabel: boolean;
  val_split?: number;
}

const MAX_ERRORS = 20;

function failWith(errors: string[]): SegmentationResult {
  const shown = errors.slice(0, MAX_ERRORS);
  if (errors.length > MAX_ERRORS) shown.push(`… and ${errors.length - MAX_ERRORS} more`);
  return { ok: false, error: shown.join("\n") };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const isNifti = (p: string) => /\.nii(\.gz)?$/i.test(p);
const niftiRefusal = (what: string) =>
  `${what}: NIfTI volumes are not read by the tfjs runtime, which trains on 2-D images; export the slices as PNG (image intensities as 16-bit, labels as 8-bit class indices) into the same layout`;

/** The name without its extension (`.nii.gz` counts as one). */
function stem(name: string): string {
  if (/\.nii\.gz$/i.test(name)) return name.slice(0, -7);
  const ext = extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

const posix = (root: string, p: string) => relative(root, p).split(sep).join("/");

/** Files under `dir` with an image extension (or NIfTI, to refuse it by name), recursively, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDir(p))) walk(p);
      else if ((imageExtensions as readonly string[]).includes(extname(e.name).toLowerCase()) || isNifti(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Files by relative path without extension; a second file with the same key is an error. */
function byKey(dir: string, files: readonly string[], errors: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const f of files) {
    const rel = posix(dir, f);
    const key = stem(rel);
    const other = map.get(key);
    if (other !== undefined) errors.push(`${f}: has the same name as ${other} (images and masks are matched by name without extension)`);
    else map.set(key, f);
  }
  return map;
}

function defaultNames(classes: readonly string[] | number, multilabel: boolean): string[] {
  if (typeof classes !== "number") return [...classes];
  if (classes === 1) return ["foreground"];
  return Array.from({ length: classes }, (_, i) => (i === 0 && !multilabel ? "background" : `class${i}`));
}

function assignSplits(keys: readonly string[], valSplit: number): Split[] {
  return stratifiedSplit(
    keys,
    valSplit,
    () => "",
    (k) => k,
  );
}

interface Pair {
  key: string;
  images: string[];
  masks: (string | null)[];
}

/** Matches images to masks in one images/ + masks/ pair of folders. */
function pairFolders(imagesDir: string, masksDir: string, classNames: readonly string[], multilabel: boolean, errors: string[]): Pair[] {
  for (const [dir, what] of [
    [imagesDir, "images"],
    [masksDir, "masks"],
  ] as const)
    if (!isDir(dir)) {
      errors.push(`${dir}: ${existsSync(dir) ? "is not a folder" : "folder not found"} (the ${what} of an images_masks data source)`);
      return [];
    }
  const images = byKey(imagesDir, listFiles(imagesDir), errors);
  for (const f of images.values()) if (isNifti(f)) errors.push(niftiRefusal(f));
  if (images.size === 0) errors.push(`${imagesDir}: has no images (${imageExtensions.join(", ")})`);
  const pairs: Pair[] = [];
  if (!multilabel) {
    const masks = byKey(masksDir, listFiles(masksDir), errors);
    for (const [key, image] of images) {
      const mask = masks.get(key);
      if (mask === undefined) errors.push(`${image}: has no mask (looked for ${join(masksDir, key)}.png)`);
      else pairs.push({ key, images: [image], masks: [mask] });
    }
    for (const [key, mask] of masks) if (!images.has(key)) errors.push(`${mask}: is a mask without an image (looked for ${join(imagesDir, key)}.*)`);
    return pairs;
  }
  // Multi-label: masks/<class>/<name>.png, one binary mask per class.
  const perClass = classNames.map((c) => {
    const dir = join(masksDir, c);
    if (!isDir(dir)) {
      errors.push(`${dir}: folder not found (a multi-label task reads one binary mask per class, masks/<class>/<name>.png; classes: ${classNames.join(", ")})`);
      return new Map<string, string>();
    }
    return byKey(dir, listFiles(dir), errors);
  });
  const known = new Set(classNames);
  for (const e of readdirSync(masksDir, { withFileTypes: true }))
    if (!e.name.startsWith(".") && e.isDirectory() && !known.has(e.name))
      errors.push(`${join(masksDir, e.name)}: '${e.name}' is not a class (classes: ${classNames.join(", ")})`);
  perClass.forEach((m, c) => {
    for (const [key, mask] of m)
      if (!images.has(key)) errors.push(`${mask}: is a mask of '${classNames[c]}' without an image (looked for ${join(imagesDir, key)}.*)`);
  });
  for (const [key, image] of images) pairs.push({ key, images: [image], masks: perClass.map((m) => m.get(key) ?? null) });
  return pairs;
}

function finish(
  layout: SegmentationDataset["layout"],
  pairs: readonly Pair[],
  splits: readonly Split[],
  classNames: string[],
  multilabel: boolean,
  coding: MaskCoding,
  errors: string[],
  modality?: string[],
): SegmentationResult {
  if (errors.length) return failWith(errors);
  const samples = pairs.map((p, i) => ({ path: p.images[0]!, id: p.key, images: p.images, masks: p.masks, split: splits[i]! }));
  return { ok: true, dataset: { layout, classNames, multilabel, samples, coding, ...(modality ? { modality } : {}) } };
}

/** `images/` + `masks/` folders (see the module comment). */
export function openImagesMasks(imagesDir: string, masksDir: string, opts: SegmentationOptions): SegmentationResult {
  const errors: string[] = [];
  const classNames = defaultNames(opts.classes, opts.multilabel);
  const pairs = pairFolders(resolve(imagesDir), resolve(masksDir), classNames, opts.multilabel, errors);
  const splits = assignSplits(
    pairs.map((p) => p.key),
    opts.val_split ?? 0.2,
  );
  return finish("images_masks", pairs, splits, classNames, opts.multilabel, { perClassFiles: opts.multilabel }, errors);
}

/** A folder holding images/ + masks/, or train/ and val/ (and test/) each holding them. */
export function openSegmentationFolder(dir: string, opts: SegmentationOptions): SegmentationResult {
  const root = resolve(dir);
  if (!isDir(root)) return { ok: false, error: `${dir}: ${existsSync(root) ? "is not a folder" : "folder not found"}` };
  if (existsSync(join(root, "dataset.json")) || isDir(join(root, "imagesTr"))) return openMsd(root, opts);
  if (isDir(join(root, "images")) && isDir(join(root, "masks"))) return openImagesMasks(join(root, "images"), join(root, "masks"), opts);
  const trainDir = join(root, "train");
  const valDir = ["val", "valid", "validation"].map((n) => join(root, n)).find(isDir);
  if (isDir(join(trainDir, "images")) && valDir) {
    const errors: string[] = [];
    const classNames = defaultNames(opts.classes, opts.multilabel);
    const pairs: Pair[] = [];
    const splits: Split[] = [];
    for (const [d, split] of [
      [trainDir, "train"],
      [valDir, "val"],
      [join(root, "test"), "test"],
    ] as const) {
      if (split === "test" && !isDir(d)) continue;
      for (const p of pairFolders(join(d, "images"), join(d, "masks"), classNames, opts.multilabel, errors)) {
        pairs.push({ ...p, key: `${posix(root, d)}/${p.key}` });
        splits.push(split);
      }
    }
    return finish("images_masks", pairs, splits, classNames, opts.multilabel, { perClassFiles: opts.multilabel }, errors);
  }
  return {
    ok: false,
    error:
      `${dir}: is not a segmentation dataset; expected images/ and masks/ (matching names, masks holding the class index per pixel), ` +
      `train/ and val/ each holding them, or the nnU-Net / Medical Segmentation Decathlon layout (dataset.json, imagesTr/, labelsTr/)`,
  };
}

interface MsdJson {
  labels?: Record<string, unknown>;
  modality?: Record<string, unknown>;
  channel_names?: Record<string, unknown>;
  training?: { image?: unknown; label?: unknown }[];
  file_ending?: unknown;
}

/** The nnU-Net / MSD raw layout (see the module comment). */
export function openMsd(dir: string, opts: SegmentationOptions): SegmentationResult {
  const root = resolve(dir);
  const jsonPath = join(root, "dataset.json");
  let json: MsdJson;
  try {
    json = JSON.parse(readFileSync(jsonPath, "utf8")) as MsdJson;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      error: `${jsonPath}: ${code === "ENOENT" ? "file not found (the nnU-Net / MSD layout needs dataset.json beside imagesTr/ and labelsTr/)" : `cannot read it (${(e as Error).message})`}`,
    };
  }
  if (!json || typeof json !== "object" || !json.labels || typeof json.labels !== "object") return { ok: false, error: `${jsonPath}: has no 'labels' object` };
  const errors: string[] = [];

  // Labels: MSD maps "index" → name, nnU-Net v2 maps name → index or a list of indices (a region).
  const entries = Object.entries(json.labels);
  const v1 = entries.every(([k, v]) => /^\d+$/.test(k) && typeof v === "string");
  const labels: { name: string; values: number[] }[] = v1
    ? entries.map(([k, v]) => ({ name: v as string, values: [Number(k)] }))
    : entries.map(([name, v]) => ({
        name,
        values: (Array.isArray(v) ? v : [v]).map((x) => (typeof x === "number" && Number.isInteger(x) && x >= 0 ? x : NaN)),
      }));
  for (const l of labels)
    if (l.values.some(Number.isNaN))
      errors.push(`${jsonPath}: label '${l.name}' must be a class index or a list of them, got ${JSON.stringify(json.labels[l.name])}`);
  if (labels.some((l) => l.name === "ignore"))
    errors.push(`${jsonPath}: the 'ignore' label (nnU-Net v2 sparse annotation) is not supported; relabel those pixels or drop the label`);
  const regions = labels.some((l) => l.values.length > 1);
  if (regions && !opts.multilabel)
    errors.push(`${jsonPath}: labels define regions (lists of values), which train as a multi-label task: set multilabel=true in the task`);
  let classNames: string[];
  let coding: MaskCoding;
  if (opts.multilabel) {
    // Each non-background label (or region) is one output channel, as nnU-Net's region training.
    const fg = labels.filter((l) => !(l.values.length === 1 && l.values[0] === 0));
    classNames = fg.map((l) => l.name);
    coding = { perClassFiles: false, regions: fg.map((l) => l.values) };
  } else {
    const sorted = [...labels].sort((a, b) => a.values[0]! - b.values[0]!);
    sorted.forEach((l, i) => {
      if (l.values[0] !== i) errors.push(`${jsonPath}: label values must run 0, 1, … without gaps; '${l.name}' is ${l.values[0]} where ${i} was expected`);
    });
    classNames = sorted.map((l) => l.name);
    coding = { perClassFiles: false };
  }
  if (typeof opts.classes !== "number") {
    const want = opts.classes;
    if (want.length !== classNames.length || want.some((n, i) => n.toLowerCase() !== classNames[i]!.toLowerCase()))
      errors.push(
        `${jsonPath}: labels ${classNames.join(", ")} do not match the task's classes ${want.join(", ")}${opts.multilabel ? " (a multi-label task lists the labels other than background)" : ""}`,
      );
    else classNames = [...want];
  } else if (opts.classes !== classNames.length)
    errors.push(
      `${jsonPath}: has ${classNames.length} ${opts.multilabel ? "foreground labels" : "labels"} (${classNames.join(", ")}) but the model outputs ${opts.classes} channels`,
    );

  const channelsJson = json.channel_names ?? json.modality;
  const modality =
    channelsJson && typeof channelsJson === "object"
      ? Object.keys(channelsJson)
          .sort((a, b) => Number(a) - Number(b))
          .map((k) => String((channelsJson as Record<string, unknown>)[k]))
      : undefined;
  const channels = modality?.length ?? 1;
  if (typeof json.file_ending === "string" && isNifti(`x${json.file_ending}`)) errors.push(niftiRefusal(jsonPath));

  const imagesTr = join(root, "imagesTr");
  const labelsTr = join(root, "labelsTr");
  const pairs: Pair[] = [];
  const channelFiles = (base: string, ext: string): string[] | null => {
    const suffixed = Array.from({ length: channels }, (_, c) => join(imagesTr, `${base}_${String(c).padStart(4, "0")}${ext}`));
    if (suffixed.every((f) => existsSync(f))) return suffixed;
    // A colour image holds all its channels in the _0000 file (nnU-Net's natural-image reader).
    if (existsSync(suffixed[0]!)) return [suffixed[0]!];
    const plain = join(imagesTr, `${base}${ext}`);
    return existsSync(plain) ? [plain] : null;
  };
  if (Array.isArray(json.training) && json.training.length) {
    json.training.forEach((t, i) => {
      if (typeof t?.image !== "string" || typeof t?.label !== "string") {
        errors.push(`${jsonPath}: training[${i}] needs 'image' and 'label' paths`);
        return;
      }
      const label = resolve(root, t.label);
      if (isNifti(t.image) || isNifti(t.label)) {
        if (!errors.some((e) => e.includes("NIfTI"))) errors.push(niftiRefusal(jsonPath));
        return;
      }
      if (!existsSync(label)) errors.push(`${jsonPath}: training[${i}] label ${t.label} not found (looked for ${label})`);
      const image = resolve(root, t.image);
      const ext = extname(image);
      const files = existsSync(image) ? [image] : channelFiles(stem(posix(imagesTr, image)), ext);
      if (!files) errors.push(`${jsonPath}: training[${i}] image ${t.image} not found (looked for ${image} and its _0000 channel files)`);
      else pairs.push({ key: posix(root, label), images: files, masks: [label] });
    });
  } else {
    if (!isDir(labelsTr)) return failWith([...errors, `${labelsTr}: folder not found (the nnU-Net / MSD layout keeps the masks in labelsTr/)`]);
    for (const label of listFiles(labelsTr)) {
      if (isNifti(label)) {
        if (!errors.some((e) => e.includes("NIfTI"))) errors.push(niftiRefusal(label));
        continue;
      }
      const rel = posix(labelsTr, label);
      const files = channelFiles(stem(rel), extname(label));
      if (!files) errors.push(`${label}: has no image (looked for ${join(imagesTr, `${stem(rel)}_0000${extname(label)}`)})`);
      else pairs.push({ key: rel, images: files, masks: [label] });
    }
  }
  if (pairs.length === 0 && errors.length === 0) errors.push(`${root}: has no training cases (labelsTr/ is empty)`);
  const splits = assignSplits(
    pairs.map((p) => p.key),
    opts.val_split ?? 0.2,
  );
  return finish("msd", pairs, splits, classNames, opts.multilabel, coding, errors, modality);
}

export interface OpenSegmentationOptions extends SegmentationOptions {
  baseDir?: string;
}

/** Opens the plan's `data` entry for a segmentation task (`images_masks` or `msd`). */
export function openSegmentationData(entry: Entry, opts: OpenSegmentationOptions): SegmentationResult {
  const a = entry.args;
  const at = (p: string) => resolve(opts.baseDir ?? ".", p);
  const withSplit = { ...opts, ...(typeof a.val_split === "number" ? { val_split: a.val_split } : {}) };
  switch (entry.name) {
    case "images_masks":
      if (typeof a.images !== "string" || typeof a.masks !== "string") return { ok: false, error: "images_masks: needs 'images' and 'masks' folders" };
      return openImagesMasks(at(a.images), at(a.masks), withSplit);
    case "msd":
      if (typeof a.path !== "string") return { ok: false, error: "msd: missing 'path'" };
      return openMsd(at(a.path), withSplit);
    default:
      return { ok: false, error: `data source '${entry.name}' has no masks; a segmentation task reads images_masks(images, masks) or msd(path)` };
  }
}

// ---------------------------------------------------------------------------------------------
// Masks.

/** PNG bit depth, colour type and palette, read from the chunks (pngjs expands palettes to colours). */
function pngHeader(bytes: Uint8Array): { bitDepth: number; colorType: number; palette?: Uint8Array } | null {
  if (bytes.length < 33 || bytes[0] !== 0x89 || bytes[1] !== 0x50) return null;
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  let i = 8;
  while (i + 8 <= bytes.length) {
    const len = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    const type = String.fromCharCode(bytes[i + 4]!, bytes[i + 5]!, bytes[i + 6]!, bytes[i + 7]!);
    if (type === "PLTE") return { bitDepth, colorType, palette: bytes.subarray(i + 8, i + 8 + len) };
    if (type === "IDAT" || type === "IEND") break;
    i += 12 + len;
  }
  return { bitDepth, colorType };
}

export type MaskResult = { ok: true; values: Float32Array; h: number; w: number; format: string; max: number } | { ok: false; error: string };

/**
 * A mask file's value per pixel: the gray level, or the palette index of a palette PNG. A colour
 * mask whose three channels agree counts as gray; other colour masks are refused.
 */
export function decodeMask(path: string): MaskResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, error: `${path}: ${code === "ENOENT" ? "mask not found" : `cannot read the mask (${(e as Error).message})`}` };
  }
  if (isNifti(path)) return { ok: false, error: niftiRefusal(path) };
  const decoded = decodeImageBytes(bytes, path);
  if (!decoded.ok) return decoded;
  const image = decoded.image;
  const { c, d, h, w } = dims(image);
  const format = image.meta?.format ?? "png";
  if (d !== 1) return { ok: false, error: `${path}: is a volume [${image.shape.join(", ")}]; masks must be 2-D` };
  const n = h * w;
  const max = image.meta ? image.meta.range[1] : 255;
  const png = format === "png" ? pngHeader(bytes) : null;
  if (c === 1) {
    // Gray PNGs under 8 bits are scaled to 0..255 by the decoder; a mask wants the stored values back.
    if (png && png.colorType === 0 && png.bitDepth < 8) {
      const scale = (2 ** png.bitDepth - 1) / 255;
      return { ok: true, values: image.data.map((v) => Math.round(v * scale)), h, w, format, max: 2 ** png.bitDepth - 1 };
    }
    return { ok: true, values: image.data, h, w, format, max };
  }
  const out = new Float32Array(n);
  if (png?.colorType === 3 && png.palette) {
    // Colour → first palette index with that colour.
    const index = new Map<number, number>();
    for (let k = png.palette.length / 3 - 1; k >= 0; k--) index.set((png.palette[3 * k]! << 16) | (png.palette[3 * k + 1]! << 8) | png.palette[3 * k + 2]!, k);
    for (let i = 0; i < n; i++) out[i] = index.get((image.data[i]! << 16) | (image.data[n + i]! << 8) | image.data[2 * n + i]!) ?? 0;
    return { ok: true, values: out, h, w, format, max: 255 };
  }
  for (let i = 0; i < n; i++) {
    const r = image.data[i]!;
    if (r !== image.data[n + i] || r !== image.data[2 * n + i])
      return {
        ok: false,
        error: `${path}: is a colour mask; masks hold the class index per pixel (a gray or palette PNG), so colour-coded masks must be converted to indices first`,
      };
    out[i] = r;
  }
  return { ok: true, values: out, h, w, format, max };
}

/** 0 / top masks of a binary task (0 / 255, 0 / 65535): the top value is the foreground. */
function binaryValues(v: Float32Array, top: number): Float32Array {
  for (const x of v) if (x !== 0 && x !== 1 && x !== top) return v;
  return v.map((x) => (x === top ? 1 : x));
}

const at = (i: number, w: number) => `(${i % w}, ${Math.floor(i / w)})`;

/**
 * The training target of a sample: class indices [1, H, W] (single-label) or a multi-hot map
 * [K, H, W] (multi-label), as floats so geometric augmentation and nearest resizing can move it.
 * `size` is the image's, which every mask must have; `outputs` the model's output channels.
 */
export function loadMask(
  sample: SegmentationSample,
  dataset: Pick<SegmentationDataset, "classNames" | "multilabel" | "coding">,
  size: { h: number; w: number },
  outputs: number,
): { ok: true; mask: RuntimeImage } | { ok: false; error: string } {
  const k = dataset.classNames.length;
  const { h, w } = size;
  const n = h * w;
  const binary = outputs === 1 || (!dataset.multilabel && k === 2);
  const read = (file: string): MaskResult => {
    const m = decodeMask(file);
    if (m.ok && (m.h !== h || m.w !== w)) return { ok: false, error: `${file}: the mask is ${m.w}×${m.h} but its image ${sample.path} is ${w}×${h}` };
    return m;
  };

  if (dataset.coding.perClassFiles) {
    const data = new Float32Array(k * n);
    for (let c = 0; c < k; c++) {
      const file = sample.masks[c];
      if (!file) continue;
      const m = read(file);
      if (!m.ok) return m;
      const threshold = m.format === "jpeg" ? m.max / 2 : 0;
      for (let i = 0; i < n; i++) data[c * n + i] = m.values[i]! > threshold ? 1 : 0;
    }
    return { ok: true, mask: { data, shape: [k, h, w] } };
  }

  const file = sample.masks[0]!;
  const m = read(file);
  if (!m.ok) return m;
  const jpeg = m.format === "jpeg";
  if (jpeg && !binary) return { ok: false, error: `${file}: JPEG masks are lossy and are read for binary tasks only; store masks as PNG` };
  const values = jpeg ? m.values.map((x) => (x >= m.max / 2 ? 1 : 0)) : binary ? binaryValues(m.values, m.max) : m.values;

  if (dataset.multilabel) {
    const regions = dataset.coding.regions ?? dataset.classNames.map((_, c) => [c + 1]);
    const known = new Set([0, ...regions.flat()]);
    for (let i = 0; i < n; i++)
      if (!known.has(values[i]!))
        return { ok: false, error: `${file}: pixel ${at(i, w)} has label ${values[i]}, which no class of ${dataset.classNames.join(", ")} covers` };
    const data = new Float32Array(regions.length * n);
    regions.forEach((set, c) => {
      const s = new Set(set);
      for (let i = 0; i < n; i++) if (s.has(values[i]!)) data[c * n + i] = 1;
    });
    return { ok: true, mask: { data, shape: [regions.length, h, w] } };
  }
  const limit = outputs === 1 ? 2 : k;
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    if (!(Number.isInteger(x) && x >= 0 && x < limit))
      return {
        ok: false,
        error: `${file}: pixel ${at(i, w)} has value ${x}, which is not a class (0..${limit - 1}: ${outputs === 1 ? `background, ${dataset.classNames.at(-1)}` : dataset.classNames.join(", ")})`,
      };
  }
  return { ok: true, mask: { data: values, shape: [1, h, w] } };
}

/** A sample's image: its file, or its channel files stacked. */
export function loadSegmentationImage(sample: SegmentationSample): { ok: true; image: RuntimeImage } | { ok: false; error: string } {
  const parts: RuntimeImage[] = [];
  for (const file of sample.images) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      return { ok: false, error: `${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (e as Error).message}` };
    }
    const r = decodeImageBytes(bytes, file);
    if (!r.ok) return r;
    parts.push(r.image);
  }
  if (parts.length === 1) return { ok: true, image: parts[0]! };
  const first = parts[0]!;
  const { h, w } = dims(first);
  for (const [i, p] of parts.entries()) {
    const d = dims(p);
    if (d.h !== h || d.w !== w || d.c !== 1 || d.d !== 1)
      return {
        ok: false,
        error: `${sample.images[i]}: channel files of a case must be 2-D gray images of one size; it is [${p.shape.join(", ")}], the first is [${first.shape.join(", ")}]`,
      };
  }
  const data = new Float32Array(parts.length * h * w);
  parts.forEach((p, i) => data.set(p.data, i * h * w));
  return { ok: true, image: first.meta ? { data, shape: [parts.length, h, w], meta: first.meta } : { data, shape: [parts.length, h, w] } };
}
