/**
 * Garbage collection between checks. Every check allocates a few megabytes, and its result (AST,
 * graph, hover data) outlives it; left to itself V8 collects in the middle of the next check, which
 * then answers late. Collecting young objects right after a check has been published, and the whole
 * heap once it has grown well past its size at the last full collection, moves that work into the
 * pause before the next keystroke. Where the collector cannot be reached it does nothing.
 */
import v8 from "node:v8";
import vm from "node:vm";

type Collect = (options: { type: "minor" | "major" }) => void;

/** Growth of the heap since the last full collection that warrants another. */
const MAJOR_AFTER_BYTES = 48 * 1024 * 1024;

let collect: Collect | null | undefined;

function collector(): Collect | null {
  if (collect !== undefined) return collect;
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === "function") collect = exposed as Collect;
    else {
      // The flag takes effect in contexts created after it is set, such as this one.
      v8.setFlagsFromString("--expose-gc");
      const gc: unknown = vm.runInNewContext("gc");
      collect = typeof gc === "function" ? (gc as Collect) : null;
    }
  } catch {
    collect = null;
  }
  return collect;
}

export class IdleCollector {
  private pending: NodeJS.Immediate | undefined;
  private usedAfterMajor = 0;

  /** Collects once the messages in hand have been handled; further requests before then are one. */
  request(): void {
    if (this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.collect();
    });
  }

  cancel(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
  }

  private collect(): void {
    const gc = collector();
    if (!gc) return;
    try {
      gc({ type: "minor" });
      const used = v8.getHeapStatistics().used_heap_size;
      if (used - this.usedAfterMajor > MAJOR_AFTER_BYTES) {
        gc({ type: "major" });
        this.usedAfterMajor = v8.getHeapStatistics().used_heap_size;
      } else if (used < this.usedAfterMajor) this.usedAfterMajor = used;
    } catch {
      collect = null;
    }
  }
}
