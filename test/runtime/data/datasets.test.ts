import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../../src/runtime/data/csv.js";
import { classCounts, loadSample, openCsv, openDataset, openImageFolder, type DatasetResult } from "../../../src/runtime/data/datasets.js";
import { encodePng } from "../../../src/runtime/data/encode.js";
import type { Dataset } from "../../../src/runtime/types.js";

const root = mkdtempSync(join(tmpdir(), "medg-datasets-"));
let counter = 0;
const fresh = () => {
  const d = join(root, `d${counter++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

const png = encodePng({ data: new Float32Array([0, 50, 100, 150]), shape: [1, 2, 2] });
function touch(path: string, bytes: Buffer | string = png): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
function images(dir: string, n: number, prefix = "img"): void {
  for (let i = 0; i < n; i++) touch(join(dir, `${prefix}${i}.png`));
}
function ok(r: DatasetResult): Dataset {
  if (!r.ok) throw new Error(r.error);
  return r.dataset;
}

describe("openImageFolder", () => {
  it("reads train/val/test with sorted class names", () => {
    const d = fresh();
    images(join(d, "train/pneumonia"), 3);
    images(join(d, "train/covid"), 2);
    images(join(d, "train/normal"), 4);
    images(join(d, "val/normal"), 1);
    images(join(d, "val/covid"), 1);
    images(join(d, "test/pneumonia"), 2);
    touch(join(d, "train/normal/notes.txt"), "not an image");
    touch(join(d, "train/normal/.hidden.png"));
    const ds = ok(openImageFolder(d));
    expect(ds.classNames).toEqual(["covid", "normal", "pneumonia"]);
    expect(ds.multilabel).toBe(false);
    expect(classCounts(ds, "train")).toEqual([2, 4, 3]);
    expect(classCounts(ds, "val")).toEqual([1, 1, 0]);
    expect(classCounts(ds, "test")).toEqual([0, 0, 2]);
    expect(ds.samples.every((s) => s.path.startsWith(d))).toBe(true);
  });

  it("splits a folder without val/ deterministically and stratified", () => {
    const d = fresh();
    images(join(d, "train/a"), 10);
    images(join(d, "train/b"), 5);
    images(join(d, "train/c/nested"), 2);
    const first = ok(openImageFolder(d));
    expect(classCounts(first, "val")).toEqual([2, 1, 1]);
    expect(classCounts(first, "train")).toEqual([8, 4, 1]);
    expect(ok(openImageFolder(d))).toEqual(first);
    const half = ok(openImageFolder(d, { val_split: 0.5 }));
    expect(classCounts(half, "val")).toEqual([5, 3, 1]);
  });

  it("the split does not depend on which other files exist", () => {
    const d = fresh();
    images(join(d, "a"), 20);
    images(join(d, "b"), 20);
    const before = ok(openImageFolder(d, { val_split: 0.5 }));
    images(join(d, "c"), 3);
    const after = ok(openImageFolder(d, { val_split: 0.5 }));
    const splitOf = (ds: Dataset) => new Map(ds.samples.map((s) => [s.path, s.split]));
    const a = splitOf(before);
    const b = splitOf(after);
    for (const [p, s] of a) expect(b.get(p)).toBe(s);
  });

  it("accepts the flat DIR/<class>/ layout", () => {
    const d = fresh();
    images(join(d, "yes"), 5);
    images(join(d, "no"), 5);
    const ds = ok(openImageFolder(d));
    expect(ds.classNames).toEqual(["no", "yes"]);
    expect(classCounts(ds, "train")).toEqual([4, 4]);
    expect(classCounts(ds, "val")).toEqual([1, 1]);
  });

  it("lists extensionless DICOM files by their magic", () => {
    const d = fresh();
    const dicom = Buffer.alloc(140);
    dicom.write("DICM", 128, "latin1");
    touch(join(d, "x/IM0001"), dicom);
    touch(join(d, "x/README"), "text");
    images(join(d, "y"), 1);
    const ds = ok(openImageFolder(d, { val_split: 0 }));
    expect(ds.samples.map((s) => s.path.slice(d.length + 1))).toEqual(["x/IM0001", "y/img0.png"]);
  });

  it("names an empty class folder", () => {
    const d = fresh();
    images(join(d, "train/a"), 2);
    mkdirSync(join(d, "train/b"), { recursive: true });
    touch(join(d, "train/b/readme.txt"), "x");
    const r = openImageFolder(d);
    expect(r).toEqual({ ok: false, error: `${join(d, "train/b")}: class 'b' is empty (no .png, .jpg, .jpeg, .dcm, .dicom files)` });
  });

  it("names a val folder whose class is unknown", () => {
    const d = fresh();
    images(join(d, "train/a"), 2);
    images(join(d, "train/b"), 2);
    images(join(d, "val/c"), 1);
    expect(openImageFolder(d)).toEqual({ ok: false, error: `${join(d, "val/c")}: unknown label 'c' (classes: a, b)` });
  });

  it("checks folders against the model's class list", () => {
    const d = fresh();
    images(join(d, "train/cat"), 2);
    images(join(d, "train/dog"), 2);
    const r = openImageFolder(d, { classes: ["dog", "cat", "bird"] });
    expect(r).toEqual({ ok: false, error: `${join(d, "train/bird")}: class 'bird' is empty (the folder does not exist)` });
    const ordered = ok(openImageFolder(d, { classes: ["dog", "cat"] }));
    expect(ordered.classNames).toEqual(["dog", "cat"]);
    expect(classCounts(ordered, "train").reduce((a, b) => a + b) + classCounts(ordered, "val").reduce((a, b) => a + b)).toBe(4);
  });

  it("names a missing folder", () => {
    const d = join(root, "missing");
    expect(openImageFolder(d)).toEqual({ ok: false, error: `${d}: folder not found (imagefolder data source)` });
  });
});

describe("parseCsv", () => {
  it("handles quotes, embedded newlines, CRLF and a BOM, keeping line numbers", () => {
    const rows = parseCsv('\ufeffa,b\r\n"x, y","he said ""hi"""\r\n\r\n"multi\nline",2\n3,4');
    expect(rows).toEqual([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ["x, y", 'he said "hi"'] },
      { line: 4, cells: ["multi\nline", "2"] },
      { line: 6, cells: ["3", "4"] },
    ]);
  });
});

describe("openCsv", () => {
  it("reads paths relative to the CSV, labels and a split column", () => {
    const d = fresh();
    images(join(d, "imgs"), 4);
    const csv = join(d, "labels.csv");
    touch(csv, "file,diagnosis,fold\nimgs/img0.png,pneumonia,train\nimgs/img1.png,normal,Train\nimgs/img2.png,normal,valid\nimgs/img3.png,pneumonia,test\n");
    const ds = ok(openCsv(csv, { image_col: "file", label_col: "diagnosis", split_col: "fold" }));
    expect(ds.classNames).toEqual(["normal", "pneumonia"]);
    expect(ds.samples).toEqual([
      { path: join(d, "imgs/img0.png"), id: "imgs/img0.png", label: 1, split: "train" },
      { path: join(d, "imgs/img1.png"), id: "imgs/img1.png", label: 0, split: "train" },
      { path: join(d, "imgs/img2.png"), id: "imgs/img2.png", label: 0, split: "val" },
      { path: join(d, "imgs/img3.png"), id: "imgs/img3.png", label: 1, split: "test" },
    ]);
  });

  it("splits deterministically and stratified without a split column", () => {
    const d = fresh();
    images(d, 15);
    const lines = ["image,label"];
    for (let i = 0; i < 15; i++) lines.push(`img${i}.png,${i < 10 ? 0 : 1}`);
    touch(join(d, "t.csv"), lines.join("\n"));
    const ds = ok(openCsv(join(d, "t.csv")));
    expect(ds.classNames).toEqual(["0", "1"]);
    expect(classCounts(ds, "val")).toEqual([2, 1]);
    expect(ok(openCsv(join(d, "t.csv")))).toEqual(ds);
    // Reordering the rows changes neither the class indices nor the split.
    touch(join(d, "r.csv"), [lines[0], ...lines.slice(1).reverse()].join("\n"));
    const reversed = ok(openCsv(join(d, "r.csv")));
    const splits = (x: Dataset) => new Map(x.samples.map((s) => [s.path, `${s.label}/${s.split}`]));
    expect(splits(reversed)).toEqual(splits(ds));
  });

  it("reads multi-label cells separated by ; or |", () => {
    const d = fresh();
    images(d, 3);
    touch(join(d, "m.csv"), "image,label\nimg0.png,effusion;nodule\nimg1.png,\nimg2.png,nodule | atelectasis\n");
    const ds = ok(openCsv(join(d, "m.csv"), { val_split: 0 }));
    expect(ds.multilabel).toBe(true);
    expect(ds.classNames).toEqual(["atelectasis", "effusion", "nodule"]);
    expect(ds.samples.map((s) => s.label)).toEqual([[1, 2], [], [0, 2]]);
  });

  it("reads one 0/1 column per class", () => {
    const d = fresh();
    images(d, 2);
    touch(join(d, "m.csv"), "image,Edema,Effusion\nimg0.png,1,yes\nimg1.png,1.0,-1\n");
    const ds = ok(openCsv(join(d, "m.csv"), { label_col: ["Edema", "Effusion"], val_split: 0 }));
    expect(ds.classNames).toEqual(["Edema", "Effusion"]);
    expect(ds.multilabel).toBe(true);
    expect(ds.samples.map((s) => s.label)).toEqual([[0, 1], [0]]);
    touch(join(d, "m.csv"), "image,Edema,Effusion\nimg0.png,1,0\nimg1.png,1.0,-1\n");
    expect(openCsv(join(d, "m.csv"), { label_col: ["Edema", "Effusion"] })).toEqual({
      ok: false,
      error: `${join(d, "m.csv")}: class 'Effusion' is empty (no row has this label)`,
    });
  });

  it("names the row of an unknown label and of a missing file", () => {
    const d = fresh();
    images(d, 1);
    const csv = join(d, "bad.csv");
    touch(csv, "image,label\nimg0.png,normal\n\nimg9.png,normal\nimg0.png,covid\n");
    const r = openCsv(csv, { classes: ["normal", "pneumonia"] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.split("\n")).toEqual([
      `${csv} line 4: image 'img9.png' not found (looked for ${join(d, "img9.png")})`,
      `${csv} line 5: unknown label 'covid' (classes: normal, pneumonia)`,
      `${csv}: class 'pneumonia' is empty (no row has this label)`,
    ]);
  });

  it("reads class indices against named classes", () => {
    const d = fresh();
    images(d, 2);
    touch(join(d, "i.csv"), "image,label\nimg0.png,1\nimg1.png,0\n");
    const ds = ok(openCsv(join(d, "i.csv"), { classes: ["normal", "pneumonia"], val_split: 0 }));
    expect(ds.samples.map((s) => s.label)).toEqual([1, 0]);
    touch(join(d, "j.csv"), "image,label\nimg0.png,2\nimg1.png,0\n");
    const r = openCsv(join(d, "j.csv"), { classes: ["normal", "pneumonia"] });
    expect(!r.ok && r.error.split("\n")[0]).toBe(`${join(d, "j.csv")} line 2: unknown label '2' (classes: normal, pneumonia)`);
  });

  it("names missing columns and bad split values", () => {
    const d = fresh();
    images(d, 1);
    const csv = join(d, "c.csv");
    touch(csv, "path,label\nimg0.png,a\n");
    expect(openCsv(csv)).toEqual({ ok: false, error: `${csv}: no column 'image' (columns: path, label)` });
    touch(csv, "image,label,split\nimg0.png,a,holdout\n");
    expect(openCsv(csv, { split_col: "split" })).toEqual({ ok: false, error: `${csv} line 2: split 'holdout' in 'split' is not train, val or test` });
    expect(openCsv(join(d, "none.csv"))).toEqual({ ok: false, error: `${join(d, "none.csv")}: file not found (csv data source)` });
  });
});

describe("openDataset and loadSample", () => {
  it("opens the plan's data entry relative to a base folder", () => {
    const d = fresh();
    images(join(d, "data/x"), 2);
    images(join(d, "data/y"), 2);
    const ds = ok(openDataset({ name: "imagefolder", args: { path: "data", val_split: 0.5 } }, { baseDir: d }));
    expect(classCounts(ds, "val")).toEqual([1, 1]);
    const other = openDataset({ name: "msd", args: { path: "x" } });
    expect(other).toEqual({ ok: false, error: "data source 'msd' is not supported by this runtime yet (imagefolder and csv are)" });
  });

  it("reports an unreadable image when it is loaded, naming the file", () => {
    const d = fresh();
    images(join(d, "a"), 1);
    touch(join(d, "b/broken.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const ds = ok(openImageFolder(d, { val_split: 0 }));
    const broken = ds.samples.find((s) => s.path.endsWith("broken.png"))!;
    const r = loadSample(broken, { channels: 1, size: [4, 4] });
    expect(!r.ok && r.error.startsWith(`${broken.path}: not a readable PNG`)).toBe(true);
    const good = loadSample(ds.samples[0]!, { channels: 3, size: [4, 4] });
    expect(good.ok && good.image.shape).toEqual([3, 4, 4]);
  });
});
