/**
 * One POST of the lean path on node:http, and the reading of its answer:
 * JSON read whole, or SSE read event by event, each bounded at
 * MAX_MESSAGE_CHARS. What happens with what is read (delivery, errors, a
 * resumption) is the caller's: it is told through a `StreamSink`.
 */
import type { IncomingMessage } from 'node:http';
import type { JSONRPCMessage, TransportSendOptions } from '@modelcontextprotocol/client';
import { isJsonRpcMessage, MAX_MESSAGE_CHARS } from '../../core/json-rpc.js';
import { staleKeepAlive, type KeepAlive } from './fetch.js';
import { SseParser, type SseEvent } from './sse-parser.js';

/** What a stream resumption needs: the SDK's reconnection options, as the SDK's own path passes them. */
export interface ResumeOptions {
  resumptionToken: string;
  onresumptiontoken?: (token: string) => void;
  requestSignal?: AbortSignal;
  onRequestStreamEnd?: () => void;
}

/** Where an SSE answer's content goes. */
export interface StreamSink {
  message(message: JSONRPCMessage): void;
  error(err: Error): void;
  /** The server's `retry` field: the delay before a resumption. */
  retry(ms: number): void;
  /** The stream ended unanswered after event ids: resume it (GET with Last-Event-ID). */
  resume(options: ResumeOptions): void;
}

/** Sends `message`; resolves with the response once its head has arrived. */
export function post(
  sockets: KeepAlive,
  url: URL,
  headers: Record<string, string>,
  message: JSONRPCMessage,
  signal: AbortSignal | undefined,
  open: Set<{ destroy(): void }>,
  retried = false,
): Promise<IncomingMessage> {
  const body = JSON.stringify(message);
  headers['content-length'] = String(Buffer.byteLength(body));
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = sockets.request(url, { method: 'POST', headers }, (res) => {
      responded = true;
      // The response stream is what the request's lifetime now hangs on.
      open.delete(req);
      open.add(res);
      res.once('close', () => open.delete(res));
      resolve(res);
    });
    open.add(req);
    const onAbort = () => req.destroy(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => {
      open.delete(req);
      signal?.removeEventListener('abort', onAbort);
    });
    req.once('error', (err) => {
      // The server closed the kept-alive socket as we reused it: it never read the request, so send it once more.
      if (!retried && !signal?.aborted && staleKeepAlive(req, err, responded)) return resolve(post(sockets, url, headers, message, signal, open, true));
      // Shaped like a failed fetch, so isConnectionLost reads `cause.code` the same way.
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
    });
    req.end(body);
  });
}

export function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      if (text.length <= MAX_MESSAGE_CHARS) return;
      res.destroy();
      reject(tooLarge());
    });
    res.once('end', () => resolve(text));
    res.once('error', reject);
  });
}

/** The messages of a JSON answer (one, or a batch); throws on anything else. */
export function parseJsonAnswer(text: string): JSONRPCMessage[] {
  const data: unknown = JSON.parse(text);
  const messages: unknown[] = Array.isArray(data) ? data : [data];
  if (!messages.every(isJsonRpcMessage)) throw new Error(`Invalid JSON-RPC message from the upstream: ${text.slice(0, 200)}`);
  return messages as JSONRPCMessage[];
}

/**
 * Reads a POST's SSE stream to its end, delivering each message. Like the
 * SDK: a stream that ends without the answer is resumed when the server gave
 * event ids, and otherwise reported through `onRequestStreamEnd`.
 */
export function readEvents(res: IncomingMessage, sink: StreamSink, options: TransportSendOptions | undefined, intentional: () => boolean): void {
  const parser = new SseParser();
  let lastEventId: string | undefined;
  let answered = false;
  const dispatch = (event: SseEvent) => {
    if (event.id !== undefined) {
      lastEventId = event.id;
      options?.onresumptiontoken?.(event.id);
    }
    if (event.retry !== undefined) sink.retry(event.retry);
    if (!event.data || (event.event && event.event !== 'message')) return;
    let message: unknown;
    try {
      message = JSON.parse(event.data);
    } catch (err) {
      return sink.error(err as Error);
    }
    if (!isJsonRpcMessage(message)) return sink.error(new Error(`Invalid JSON-RPC message from the upstream: ${event.data.slice(0, 200)}`));
    if (!('method' in message)) answered = true;
    sink.message(message);
  };
  let oversized = false;
  const ended = (err?: Error) => {
    if (intentional()) return;
    if (err) sink.error(new Error(`SSE stream disconnected: ${err.message}`));
    if (answered) return;
    // An oversized event would come back just as large from a resumption.
    if (lastEventId === undefined || oversized) return options?.onRequestStreamEnd?.();
    sink.resume({
      resumptionToken: lastEventId,
      onresumptiontoken: options?.onresumptiontoken,
      requestSignal: options?.requestSignal,
      onRequestStreamEnd: options?.onRequestStreamEnd,
    });
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    parser.feed(chunk, dispatch);
    if (parser.pending <= MAX_MESSAGE_CHARS) return;
    oversized = true;
    res.destroy(tooLarge());
  });
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    ended(err);
  };
  res.once('end', () => finish());
  res.once('error', (err) => finish(err));
  res.once('close', () => finish(res.complete ? undefined : new Error('terminated')));
}

function tooLarge(): Error {
  return new Error(`The upstream sent a message larger than ${MAX_MESSAGE_CHARS} characters`);
}
