/**
 * One response of a 2025-era Streamable HTTP session (session-transport.ts):
 * a POST's, answered as JSON or switched to SSE, or the standalone GET
 * stream. Its SSE goes through a bounded stream (bounded-stream.ts).
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import { BoundedSseStream, type StreamLimits } from './bounded-stream.js';

/**
 * One HTTP response carrying messages: a POST's (answered as JSON or SSE,
 * ended once every request in it is answered) or the standalone GET stream.
 */
export class Exchange {
  ended = false;
  private sse = false;
  private readonly waiting: Set<RequestId>;
  /** Answers held back until the last one of a batch arrives, when the POST is answered as JSON. */
  private readonly answers: JSONRPCMessage[] = [];
  private keepAlive?: NodeJS.Timeout;
  /** Set once the response is SSE: every event and comment goes through it. */
  private stream?: BoundedSseStream;

  constructor(
    private readonly res: ServerResponse,
    private readonly sessionId: string | undefined,
    requestIds: RequestId[],
    readonly keepAliveMs: number,
    private readonly limits: StreamLimits | undefined,
    /** Called with the requests still unanswered when the stream is given up (its client stopped reading). */
    private readonly onAbandoned: (ids: RequestId[]) => void,
  ) {
    this.waiting = new Set(requestIds);
    res.once('close', () => this.stop());
    // A silent call still shows the client and any proxy that it is alive.
    this.keepAlive = setInterval(() => {
      if (!this.sse) this.openSse();
      this.stream?.comment('keepalive');
    }, keepAliveMs);
    this.keepAlive.unref();
  }

  openSse(): void {
    if (this.sse || this.ended) return;
    this.sse = true;
    const headers: Record<string, string> = {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    this.res.writeHead(200, headers);
    this.res.flushHeaders();
    this.stream = new BoundedSseStream(this.res, this.limits, () => this.abandoned());
    for (const held of this.answers.splice(0)) this.writeEvent(held);
  }

  write(message: JSONRPCMessage): void {
    if (this.ended) return;
    this.openSse();
    this.writeEvent(message);
  }

  answer(id: RequestId, message: JSONRPCMessage): void {
    this.waiting.delete(id);
    if (this.ended) return;
    if (this.sse) this.writeEvent(message);
    else this.answers.push(message);
    if (this.waiting.size === 0) this.finish();
  }

  cancel(id: RequestId): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.end();
  }

  end(): void {
    if (this.ended) return;
    if (!this.res.headersSent) this.openSse();
    this.stop();
    // Through the stream: what it still holds for a client a moment behind (the answer, often) goes out first.
    if (this.stream) this.stream.end();
    else this.res.end();
  }

  private finish(): void {
    if (this.sse) return this.end();
    const body = JSON.stringify(this.answers.length === 1 ? this.answers[0] : this.answers);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    this.stop();
    this.res.writeHead(200, headers).end(body);
  }

  private writeEvent(message: JSONRPCMessage): void {
    this.stream?.send(message);
  }

  private abandoned(): void {
    this.stop();
    this.onAbandoned([...this.waiting]);
    this.waiting.clear();
  }

  private stop(): void {
    this.ended = true;
    clearInterval(this.keepAlive);
  }
}
