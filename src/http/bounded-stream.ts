/**
 * Every SSE stream the gateway writes to a client goes through one of these:
 * a 2025-era session's POST and GET streams (session-transport.ts), the
 * 2024-11-05 `/sse` stream (legacy-http.ts) and 2026-07-28 responses
 * (modern-node.ts). Upstreams are shared and cannot be slowed down for one
 * client, so a client that stops reading must not make the gateway queue
 * for it without end (it once held 460 MB for one such stream after 8 s).
 *
 * While the client reads, frames are written as they come. Once `write()`
 * returns false the stream is stalled until `drain`: frames are held here
 * instead, in order. Once an eighth of the bound is held, a progress
 * notification replaces the one held for its token (only the latest progress
 * matters) and a log message (`notifications/message`) is dropped: a client
 * that reads, only not quite as fast as an upstream writes, loses nothing,
 * one that has fallen behind gets them thinned out. Everything offered
 * while stalled counts, kept or dropped: once that passes the bound the
 * client is too far behind to catch up, and the stream is reset
 * (`onOverflow` ends what it carried). A stream never holds more than the
 * bound, plus the socket's own buffer: its high-water mark and the one frame
 * that filled it.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';

/**
 * 8 MiB per stream: several seconds of a busy upstream's logs and progress,
 * so a client that is merely slow, or paused for a moment, keeps its stream
 * (logs thinned out meanwhile); small enough that a hundred streams whose
 * clients stopped reading cost under a GiB rather than growing until the
 * process dies. One upstream message may be larger (up to 10 MiB): that is
 * the frame the socket takes before it reports backpressure.
 */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export type DropKind = 'log' | 'progress';

/** Where drops and closes are counted (observability/metrics.ts implements it). */
export interface StreamReporter {
  streamDropped(kind: DropKind): void;
  streamClosedSlow(): void;
}

/** What every stream of a front shares: its bound and where it reports. */
export interface StreamLimits {
  maxQueuedBytes?: number;
  reporter?: StreamReporter;
}

/** How a frame is treated while the stream is stalled. */
export type FrameKind = { log: true } | { progressToken: string | number } | undefined;

/** The response side a stream needs (a node ServerResponse in the gateway). */
export type StreamResponse = Pick<ServerResponse, 'write' | 'end' | 'destroy' | 'on' | 'once' | 'writableLength' | 'destroyed'> & {
  socket?: { resetAndDestroy?: () => unknown } | null;
};

interface Held {
  frame: string | Uint8Array;
  bytes: number;
  progressToken?: string | number;
}

export class BoundedSseStream {
  private readonly held: Held[] = [];
  private heldBytes = 0;
  /** Bytes offered since the client last caught up, held or dropped. */
  private behind = 0;
  private stalled = false;
  private done = false;
  /** end() was asked while frames were held: the response ends once they are written. */
  private ending = false;
  /** The held progress frame per token, replaced in place by a newer one. */
  private readonly progress = new Map<string | number, Held>();
  private readonly max: number;
  /** Held bytes from which logs are dropped and progress coalesced. */
  private readonly thinBytes: number;

  constructor(
    private readonly res: StreamResponse,
    private readonly limits: StreamLimits = {},
    private readonly onOverflow?: () => void,
  ) {
    this.max = limits.maxQueuedBytes ?? MAX_QUEUED_BYTES;
    this.thinBytes = this.max / 8;
    res.on('drain', () => this.flush());
    res.once('close', () => this.release());
  }

  /** Whether the response is gone (closed by the client, or given up here). */
  get closed(): boolean {
    return this.done || this.res.destroyed;
  }

  /** Bytes waiting for this client: held here plus what the response buffers. */
  get queuedBytes(): number {
    return this.heldBytes + this.res.writableLength;
  }

  /** One JSON-RPC message as an SSE `message` event. */
  send(message: JSONRPCMessage): void {
    this.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`, () => kindOf(message));
  }

  /** An SSE comment (keep-alive): pointless, and not kept, while the client is not reading. */
  comment(text: string): void {
    if (!this.stalled && !this.closed) this.stalled = !this.res.write(`: ${text}\n\n`);
  }

  /**
   * Ends the response once everything held has been written: the last frames
   * are often the answer itself, which a client that was a moment behind
   * must still get (ending at once would cut it off).
   */
  end(): void {
    if (this.closed || this.ending) return;
    if (this.held.length > 0) this.ending = true;
    else this.res.end();
  }

  /** One whole SSE frame; `kind` is asked only if the stream is stalled. */
  write(frame: string | Uint8Array, kind: () => FrameKind): void {
    if (this.closed || this.ending) return;
    if (!this.stalled) {
      this.stalled = !this.res.write(frame);
      return;
    }
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    this.behind += bytes;
    const k = kind();
    const thinning = this.heldBytes >= this.thinBytes;
    if (k && 'log' in k && thinning) {
      this.limits.reporter?.streamDropped('log');
    } else if (k && 'progressToken' in k && thinning && this.progress.has(k.progressToken)) {
      const prior = this.progress.get(k.progressToken)!;
      this.heldBytes += bytes - prior.bytes;
      prior.frame = frame;
      prior.bytes = bytes;
      this.limits.reporter?.streamDropped('progress');
    } else {
      const token = k && 'progressToken' in k ? k.progressToken : undefined;
      const held: Held = { frame, bytes, progressToken: token };
      this.held.push(held);
      this.heldBytes += bytes;
      if (token !== undefined) this.progress.set(token, held);
    }
    if (this.behind > this.max) this.giveUp();
  }

  /** The client read what the socket had: write what was held, in order, until it fills again. */
  private flush(): void {
    if (this.closed) return;
    this.stalled = false;
    let i = 0;
    while (i < this.held.length && !this.stalled) {
      const held = this.held[i++]!;
      this.heldBytes -= held.bytes;
      // Written: a newer progress for its token is held afresh, not swapped into a frame already sent.
      if (held.progressToken !== undefined) this.progress.delete(held.progressToken);
      this.stalled = !this.res.write(held.frame);
    }
    this.held.splice(0, i);
    this.behind = this.heldBytes;
    if (this.ending && this.held.length === 0) this.res.end();
  }

  private giveUp(): void {
    this.limits.reporter?.streamClosedSlow();
    this.release();
    // A reset, not a close: a close would leave what the kernel holds for this socket to be retried for minutes
    // (the client reads nothing), while a reset frees it and tells the client at once.
    const socket = this.res.socket;
    if (socket?.resetAndDestroy) socket.resetAndDestroy();
    this.res.destroy();
    this.onOverflow?.();
  }

  private release(): void {
    this.done = true;
    this.held.length = 0;
    this.heldBytes = 0;
    this.progress.clear();
  }
}

function kindOf(message: JSONRPCMessage): FrameKind {
  if (!('method' in message) || 'id' in message) return undefined;
  if (message.method === 'notifications/message') return { log: true };
  if (message.method !== 'notifications/progress') return undefined;
  const token = (message.params as { progressToken?: unknown } | undefined)?.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? { progressToken: token } : undefined;
}

/** The kind of an SSE frame already serialized (a 2026-07-28 response's bytes): its `data:` lines parsed. */
export function kindOfFrame(frame: string | Uint8Array): FrameKind {
  const text = typeof frame === 'string' ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8');
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.charCodeAt(5) === 32 ? 6 : 5))
    .join('\n');
  if (!data) return undefined;
  try {
    return kindOf(JSON.parse(data) as JSONRPCMessage);
  } catch {
    return undefined;
  }
}
