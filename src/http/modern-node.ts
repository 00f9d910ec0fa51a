/**
 * 2026-07-28 requests reach the SDK's web-standard handler (createMcpHandler)
 * through this adapter rather than @modelcontextprotocol/node's toNodeHandler.
 * The conversion is the same; the difference is an SSE body. toNodeHandler
 * waits for `drain` before it reads the next chunk, which is right for the
 * socket but leaves the SDK's own ReadableStream queue to grow without limit
 * behind a client that stops reading. Here the body is read as fast as the
 * SDK produces it and written through a bounded stream (bounded-stream.ts):
 * logs dropped, progress coalesced, the response closed past the bound, and
 * closing it aborts the request, which ends the call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toWebRequest } from '@modelcontextprotocol/node';
import type { AuthInfo, McpHttpHandler } from '@modelcontextprotocol/server';
import { JsonRpc } from '../core/errors.js';
import { BoundedSseStream, kindOfFrame, type StreamLimits } from './bounded-stream.js';

export type NodeMcpHandler = (req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, parsedBody?: unknown) => Promise<void>;

export function toBoundedNodeHandler(handler: Pick<McpHttpHandler, 'fetch'>, limits?: StreamLimits): NodeMcpHandler {
  return async (req, res, parsedBody) => {
    let finished = false;
    const abort = new AbortController();
    // The client went away (or the stream was given up on): the SDK aborts the exchange and its handler.
    res.once('close', () => finished || abort.abort());
    let response: Response;
    try {
      const request = await toWebRequest(req, parsedBody, { signal: abort.signal });
      response = await handler.fetch(request, { ...(req.auth !== undefined && { authInfo: req.auth }), ...(parsedBody !== undefined && { parsedBody }) });
    } catch {
      const id = (parsedBody as { id?: unknown } | undefined)?.id;
      const error = { code: JsonRpc.INTERNAL_ERROR, message: 'Internal server error' };
      response = Response.json({ jsonrpc: '2.0', error, id: typeof id === 'string' || typeof id === 'number' ? id : null }, { status: 500 });
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    res.writeHead(response.status, headers);
    if (!response.body) return end();
    if (!/^text\/event-stream/i.test(response.headers.get('content-type') ?? '')) {
      // A JSON answer is built whole by the SDK: one write.
      const body = Buffer.from(await response.arrayBuffer());
      return end(body);
    }
    const stream = new BoundedSseStream(res, limits, () => abort.abort());
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || stream.closed) break;
        // One chunk is one SSE frame (the SDK enqueues whole frames); parsed only if the client is behind.
        stream.write(value, () => kindOfFrame(value));
      }
    } catch {
      // The SDK errored the body: the response ends here either way.
    }
    if (stream.closed) return void reader.cancel().catch(() => {});
    finished = true;
    // After what the stream still holds for a client a moment behind: the answer is usually the last frame.
    stream.end();

    function end(body?: Buffer): void {
      finished = true;
      res.end(body);
    }
  };
}
