/**
 * BoundedSseStream: frames pass straight through while the client reads;
 * once a write reports backpressure they are held in order until `drain`,
 * progress coalesced per token and logs dropped past an eighth of the
 * bound, and a client that falls more than the bound behind loses its stream. First against a scripted
 * response (exact bytes), then over a real socket whose reader never reads.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { BoundedSseStream, kindOfFrame, MAX_QUEUED_BYTES, type StreamResponse } from '../../../src/http/bounded-stream.js';

/** A response whose socket takes `capacity` bytes before it reports backpressure; `read()` is the client catching up. */
class ScriptedResponse extends EventEmitter {
  readonly frames: string[] = [];
  buffered = 0;
  destroyed = false;
  ended = false;
  constructor(public capacity: number) {
    super();
  }
  get writableLength(): number {
    return this.buffered;
  }
  write(frame: string | Uint8Array): boolean {
    const text = typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8');
    this.frames.push(text);
    this.buffered += Buffer.byteLength(text);
    return this.buffered < this.capacity;
  }
  end(): this {
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  read(): void {
    this.buffered = 0;
    this.emit('drain');
  }
  /** The messages written so far, parsed (comments skipped). */
  messages(): Record<string, unknown>[] {
    return this.frames.filter((f) => f.startsWith('event: message')).map((f) => JSON.parse(f.split('\ndata: ')[1]!) as Record<string, unknown>);
  }
}

function setup(capacity: number, maxQueuedBytes?: number) {
  const res = new ScriptedResponse(capacity);
  const counts = { log: 0, progress: 0, closed: 0, overflow: 0 };
  const reporter = { streamDropped: (kind: 'log' | 'progress') => void counts[kind]++, streamClosedSlow: () => void counts.closed++ };
  const stream = new BoundedSseStream(res as unknown as StreamResponse, { maxQueuedBytes, reporter }, () => void counts.overflow++);
  return { res, stream, counts };
}

const log = (i: number, pad = ''): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: { i, pad } } });
const progress = (token: string | number, n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: token, progress: n },
});
const answer = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: { content: [] } });
const request = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'sampling/createMessage', params: {} });

describe('BoundedSseStream against a scripted response', () => {
  it('writes every frame straight through while the client reads', () => {
    const { res, stream, counts } = setup(Infinity);
    for (let i = 0; i < 100; i++) stream.send(log(i));
    stream.send(progress('t', 1));
    stream.send(answer(1));
    expect(res.messages()).toHaveLength(102);
    expect(stream.queuedBytes).toBe(res.buffered);
    expect(counts).toEqual({ log: 0, progress: 0, closed: 0, overflow: 0 });
  });

  it('once stalled: holds frames in order, and writes them all on drain; a little behind, nothing is thinned', () => {
    const { res, stream, counts } = setup(1);
    stream.send(log(0)); // fills the socket: stalled from here
    expect(res.frames).toHaveLength(1);
    stream.send(progress('a', 1));
    stream.send(log(1));
    stream.send(request(7));
    stream.send(progress('a', 2));
    stream.send(progress(5, 1));
    stream.send(progress('a', 3));
    stream.send(log(2));
    stream.send(answer(1));
    stream.comment('keepalive'); // nothing to keep alive for a client that is not reading
    expect(res.frames).toHaveLength(1);
    expect(counts.progress).toBe(0); // only a little behind: every progress and log is kept
    expect(counts.log).toBe(0);
    expect(stream.queuedBytes).toBeGreaterThan(res.buffered);

    res.capacity = Infinity; // the client catches up, with room for everything
    res.read();
    expect(res.messages().slice(1)).toEqual([progress('a', 1), log(1), request(7), progress('a', 2), progress(5, 1), progress('a', 3), log(2), answer(1)]);
    expect(stream.queuedBytes).toBe(res.buffered);
    stream.send(log(3));
    expect(res.messages().at(-1)).toEqual(log(3));
    expect(counts.closed).toBe(0);
  });

  it('drops logs once an eighth of the bound is held, and keeps everything else', () => {
    const { res, stream, counts } = setup(1, 8 * 1024);
    stream.send(answer(0));
    stream.send(log(1)); // held: under 1 KiB behind
    stream.send({ jsonrpc: '2.0', id: 2, result: { pad: 'p'.repeat(1024) } }); // now past 1 KiB held
    for (let i = 3; i < 10; i++) stream.send(log(i));
    stream.send(answer(10));
    expect(counts.log).toBe(7);
    res.capacity = Infinity;
    res.read();
    expect(res.messages().map((m) => m.id ?? (m.params as { data: { i: number } }).data.i)).toEqual([0, 1, 2, 10]);
    expect(counts.closed).toBe(0);
  });

  it('ends the response only after what it holds is written: the answer of a client a moment behind is not cut off', () => {
    const { res, stream } = setup(1);
    stream.send(log(0)); // fills the socket: stalled from here
    stream.send(answer(9));
    stream.end();
    expect(res.ended).toBe(false);
    stream.send(log(1)); // nothing is added once ending
    res.read();
    expect(res.messages().slice(1)).toEqual([answer(9)]);
    expect(res.ended).toBe(true);
    // With nothing held, end() ends at once.
    const quick = setup(Infinity);
    quick.stream.send(answer(1));
    quick.stream.end();
    expect(quick.res.ended).toBe(true);
  });

  it('once an eighth of the bound is held, keeps only the latest progress per token, in the place of the first', () => {
    const { res, stream, counts } = setup(1, 1024);
    stream.send(answer(0)); // fills the socket: stalled from here
    stream.send(progress('a', 1)); // held: under 128 bytes behind, kept as is
    stream.send(progress('a', 2)); // still under: kept too
    stream.send(log(1)); // now over an eighth: dropped
    stream.send(progress(5, 1)); // a new token: held
    stream.send(progress('a', 3)); // replaces the latest held one for its token
    expect(counts).toMatchObject({ progress: 1, log: 1 });
    res.capacity = Infinity;
    res.read();
    expect(res.messages().slice(1)).toEqual([progress('a', 1), progress('a', 3), progress(5, 1)]);
  });

  it('writes held frames only until the socket fills again, and keeps the rest for the next drain', () => {
    const { res, stream } = setup(1, 512); // an eighth is 64 bytes: held progress is coalesced
    stream.send(answer(0));
    for (let i = 1; i <= 3; i++) stream.send(answer(i));
    res.read(); // capacity 1: one frame per drain
    expect(res.messages().map((m) => m.id)).toEqual([0, 1]);
    stream.send(progress('p', 1)); // still stalled: held behind 2 and 3
    res.read();
    res.read();
    stream.send(progress('p', 2)); // the held one is not yet written: replaced
    res.read();
    expect(res.messages().map((m) => m.id ?? (m.params as { progress: number }).progress)).toEqual([0, 1, 2, 3, 2]);
  });

  it('never holds more than the bound, and closes the stream of a client that falls further behind', () => {
    const bound = 64 * 1024;
    const { res, stream, counts } = setup(1, bound);
    stream.send(answer(0));
    let offered = 0;
    for (let i = 1; !stream.closed; i++) {
      const message: JSONRPCMessage = { jsonrpc: '2.0', id: i, result: { pad: 'x'.repeat(1000) } };
      offered += `event: message\ndata: ${JSON.stringify(message)}\n\n`.length;
      stream.send(message);
      expect(stream.queuedBytes - res.buffered).toBeLessThanOrEqual(bound + 1100);
    }
    expect(offered).toBeGreaterThan(bound);
    expect(res.destroyed).toBe(true);
    expect(counts).toMatchObject({ closed: 1, overflow: 1 });
    // Given up: nothing is held any more, and nothing more is written.
    expect(stream.queuedBytes).toBe(res.buffered);
    stream.send(answer(999));
    stream.comment('keepalive');
    expect(res.frames).toHaveLength(1);
  });

  it('counts dropped logs as falling behind: a log flood into a client that never reads ends its stream', () => {
    const { res, stream, counts } = setup(1, 32 * 1024);
    stream.send(log(0));
    let i = 1;
    while (!stream.closed && i < 10_000) stream.send(log(i++, 'y'.repeat(200)));
    expect(stream.closed).toBe(true);
    // Every log after the first, but the few held before an eighth of the bound was.
    expect(counts.log).toBeGreaterThan((i - 1) * 0.8);
    expect(counts.log).toBeLessThan(i - 1);
    expect(counts.closed).toBe(1);
    expect(res.frames).toHaveLength(1);
  });

  it('keeps the stream of a client that is slow but catches up, however much passes through it in total', () => {
    const { res, stream, counts } = setup(4 * 1024, 16 * 1024);
    // Bursts of ~10 KiB into a 4 KiB socket; between bursts the client reads until it has caught up.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 10; i++) stream.send({ jsonrpc: '2.0', id: round * 10 + i, result: { pad: 'z'.repeat(1000) } });
      while (stream.queuedBytes > 0) res.read();
    }
    expect(stream.closed).toBe(false);
    expect(counts.closed).toBe(0);
    expect(res.messages()).toHaveLength(2000);
  });

  it('reads the kind of a serialized frame (a 2026-07-28 body), and treats what it cannot parse as a frame to keep', () => {
    const frame = (m: unknown) => new TextEncoder().encode(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
    expect(kindOfFrame(frame(log(1)))).toEqual({ log: true });
    expect(kindOfFrame(frame(progress('tok', 2)))).toEqual({ progressToken: 'tok' });
    expect(kindOfFrame(frame(answer(1)))).toBeUndefined();
    expect(kindOfFrame(': keepalive\n\n')).toBeUndefined();
    expect(kindOfFrame('data: {not json\n\n')).toBeUndefined();
  });
});

describe('BoundedSseStream over a real socket', () => {
  it('keeps what it queues for a client that never reads under the bound, then closes the stream', async () => {
    const bound = 1024 * 1024;
    let stream: BoundedSseStream | undefined;
    let maxQueued = 0;
    let closed = 0;
    let givenUp!: () => void;
    const gaveUp = new Promise<void>((resolve) => (givenUp = resolve));
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      stream = new BoundedSseStream(res, { maxQueuedBytes: bound, reporter: { streamDropped: () => {}, streamClosedSlow: () => void closed++ } }, givenUp);
      const pad = 'q'.repeat(4096);
      // 64 MiB offered, a frame per turn, as an upstream's messages would arrive.
      const pump = (i: number): void => {
        if (stream!.closed || i >= 16_384) return;
        stream!.send({ jsonrpc: '2.0', id: i, result: { pad } });
        maxQueued = Math.max(maxQueued, stream!.queuedBytes);
        setImmediate(() => pump(i + 1));
      };
      pump(0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = new Promise<http.IncomingMessage>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/' }, (res) => {
          res.pause(); // never reads
          resolve(res);
        });
        req.on('error', () => {});
      });
      const res = await response;
      await gaveUp;
      expect(closed).toBe(1);
      // The stream was reset, not ended: a client that reads again learns it was cut short.
      const outcome = await new Promise<string>((resolve) => {
        res.once('end', () => resolve('end'));
        res.once('error', () => resolve('error'));
        res.resume();
      });
      expect(outcome).toBe('error');
      expect(stream!.closed).toBe(true);
      // Held frames plus the socket's own buffer: the bound, its high-water mark and a frame.
      expect(maxQueued).toBeLessThanOrEqual(bound + 64 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('uses a default bound of 8 MiB', () => {
    expect(MAX_QUEUED_BYTES).toBe(8 * 1024 * 1024);
  });
});
