/**
 * The text/event-stream format (WHATWG HTML §9.2) as the lean POST path reads
 * it: fields across chunks, any of the three line ends, a leading byte order
 * mark, and a bound on what one unfinished event may hold (`pending`).
 */
export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
  retry?: number;
}

/** The text/event-stream format (WHATWG HTML §9.2), line by line across chunks. */
export class SseParser {
  private buffer = '';
  private first = true;
  /** Characters of the event being read (unfinished line and data lines so far): what an upstream could grow without bound. */
  get pending(): number {
    return this.buffer.length + this.dataChars;
  }
  private dataChars = 0;
  private data: string[] = [];
  private event?: string;
  private id?: string;
  private retry?: number;

  feed(chunk: string, dispatch: (event: SseEvent) => void): void {
    let text = this.buffer + chunk;
    // The stream may start with a byte order mark, which is not part of the first line.
    if (this.first) {
      if (text.length === 0) return;
      this.first = false;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    // A CR at the very end may be the first half of CRLF: it waits for the next chunk.
    const held = text.endsWith('\r') ? '\r' : '';
    if (held) text = text.slice(0, -1);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.line(text.slice(start, end), dispatch);
      start = end + 1;
    }
    this.buffer = text.slice(start) + held;
  }

  private line(line: string, dispatch: (event: SseEvent) => void): void {
    if (line === '') {
      if (this.data.length > 0 || this.id !== undefined || this.retry !== undefined) {
        dispatch({ event: this.event, data: this.data.join('\n'), id: this.id, retry: this.retry });
      }
      this.data = [];
      this.dataChars = 0;
      this.event = undefined;
      this.id = undefined;
      this.retry = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.dataChars += value.length;
    } else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}
