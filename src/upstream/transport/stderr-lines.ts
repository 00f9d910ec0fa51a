/**
 * A child's stderr, split into lines without trusting the child: `\n`, `\r`
 * and `\r\n` all end a line (progress bars redraw with `\r` and never send a
 * newline), each chunk is scanned once and never again, and a line longer
 * than `maxChars` keeps its first `maxChars` and drops the rest until the
 * next line end. Memory stays at one capped line whatever the child writes;
 * before this, a 40 MB stderr without a newline was held whole and rescanned
 * on every chunk (seconds of CPU, hundreds of MB).
 */

/** Enough for any real diagnostic line; a longer one is a flood or a binary blob. */
export const MAX_STDERR_LINE_CHARS = 4_096;
/** Appended to a line that was cut, so a reader of the tail knows it is not whole. */
export const TRUNCATED_MARK = ' [… truncated]';

export class StderrLines {
  private partial = '';
  /** The line being read went past the cap: what is left of it is dropped. */
  private overflowed = false;
  private truncatedCount = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onTruncated?: () => void,
    private readonly maxChars = MAX_STDERR_LINE_CHARS,
  ) {}

  /** Characters held of the line not yet ended (never more than the cap). */
  get partialChars(): number {
    return this.partial.length;
  }

  /** Lines cut at the cap so far. */
  get truncated(): number {
    return this.truncatedCount;
  }

  push(text: string): void {
    let start = 0;
    // Native scans for each kind of line end; each position is found once per chunk.
    let lf = text.indexOf('\n');
    let cr = text.indexOf('\r');
    while (lf !== -1 || cr !== -1) {
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      this.append(text, start, end);
      this.endLine();
      start = end + 1;
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    this.append(text, start, text.length);
  }

  /** Ends the line in progress (the child exited mid-line: its last words still count). */
  flush(): void {
    this.endLine();
  }

  private append(text: string, from: number, to: number): void {
    if (to <= from || this.overflowed) return;
    const room = this.maxChars - this.partial.length;
    if (to - from <= room) {
      this.partial += text.slice(from, to);
      return;
    }
    this.partial += text.slice(from, from + room);
    this.overflowed = true;
    this.truncatedCount++;
    this.onTruncated?.();
  }

  private endLine(): void {
    const line = this.overflowed ? this.partial + TRUNCATED_MARK : this.partial;
    this.partial = '';
    this.overflowed = false;
    // An empty line (the gap in `\r\n`, or a blank line) says nothing.
    if (line) this.onLine(line);
  }
}
