/**
 * A small RFC 4180 CSV reader: quoted fields with doubled quotes and embedded newlines, CRLF or LF
 * line ends, a leading byte-order mark. Each record keeps the line it starts on, for messages.
 */
export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  cells: string[];
}

export function parseCsv(text: string): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let fresh = true; // nothing of the current record read yet
  const endRecord = () => {
    cells.push(cell);
    // A blank line is no record.
    if (!(cells.length === 1 && cells[0] === "")) records.push({ line: start, cells });
    cells = [];
    cell = "";
    fresh = true;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (fresh) {
      start = line;
      fresh = false;
    }
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell.trim() === "") {
      cell = "";
      quoted = true;
    } else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
    } else cell += ch;
  }
  if (!fresh) endRecord();
  return records;
}
