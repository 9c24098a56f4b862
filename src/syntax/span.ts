/** A position in source text: 1-based line and column, 0-based offset. */
export interface Position {
  offset: number;
  line: number;
  col: number;
}

/** A half-open range of source text [start, end) in one file. */
export interface Span {
  file: string;
  start: Position;
  end: Position;
}

export function spanUnion(a: Span, b: Span): Span {
  return { file: a.file, start: a.start.offset <= b.start.offset ? a.start : b.start, end: a.end.offset >= b.end.offset ? a.end : b.end };
}

/** Maps offsets to line/column for one text. */
export class LineMap {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
  }
  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { offset: clamped, line: lo + 1, col: clamped - this.starts[lo]! + 1 };
  }
  span(file: string, start: number, end: number): Span {
    return { file, start: this.position(start), end: this.position(Math.max(start, end)) };
  }
  lineText(line: number): string {
    const s = this.starts[line - 1] ?? this.text.length;
    const e = this.starts[line] ?? this.text.length + 1;
    return this.text.slice(s, e - 1).replace(/\r$/, "");
  }
}
