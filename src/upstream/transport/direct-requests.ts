/**
 * Requests the gateway sends on an established connection without the SDK
 * client's request bookkeeping, and whose answers it reads as they are: the
 * 2026-07-28 tasks extension's `resultType: "task"` and its `tasks/*`
 * methods, which the SDK client does not know and would refuse. The layer
 * gives each such request an id of its own (a string, so it can never meet
 * the client's numeric ids) and takes its answer off the wire before the
 * client sees it; everything else passes through untouched.
 *
 * Outermost of the layers (connect.ts): the layers under it order, guard and
 * carry these requests as they do the client's, and a stream that ends
 * unanswered is answered with an error by the StreamEndGuard here too.
 */
import type { JSONRPCMessage, JSONRPCRequest, JSONRPCResponse, MessageExtraInfo, Transport } from '@modelcontextprotocol/client';
import { TransportLayer } from './layer.js';

/** Direct requests one connection may have in flight: beyond it a request fails at once. */
export const MAX_DIRECT_IN_FLIGHT = 1_000;
const ID_PREFIX = 'switchboard-direct-';

export interface DirectRequestOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** HTTP headers for this request's POST (stdio ignores them). */
  headers?: Record<string, string>;
}

export class DirectRequestError extends Error {
  override readonly name = 'DirectRequestError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'closed' | 'busy',
  ) {
    super(message);
  }
}

interface Waiting {
  resolve(response: JSONRPCResponse): void;
  reject(err: unknown): void;
}

export class DirectRequests extends TransportLayer {
  private readonly waiting = new Map<string, Waiting>();
  private nextId = 0;

  constructor(inner: Transport) {
    super(inner);
  }

  /** Sends `request` (its id replaced) and resolves with the response to it, result or error. */
  request(request: Omit<JSONRPCRequest, 'id' | 'jsonrpc'>, options: DirectRequestOptions): Promise<JSONRPCResponse> {
    if (this.waiting.size >= MAX_DIRECT_IN_FLIGHT) return Promise.reject(new DirectRequestError('too many requests in flight', 'busy'));
    const id = `${ID_PREFIX}${++this.nextId}`;
    return new Promise<JSONRPCResponse>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new DirectRequestError(`no answer within ${options.timeoutMs} ms`, 'timeout'))), options.timeoutMs);
      const onAbort = () => settle(() => reject(options.signal?.reason));
      const settle = (how: () => void) => {
        if (!this.waiting.delete(id)) return;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        how();
      };
      this.waiting.set(id, { resolve: (response) => settle(() => resolve(response)), reject: (err) => settle(() => reject(err)) });
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const message = { ...request, jsonrpc: '2.0', id } as JSONRPCMessage;
      this.inner.send(message, { headers: options.headers, requestSignal: options.signal }).catch((err: unknown) => this.waiting.get(id)?.reject(err));
    });
  }

  protected override receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'string' && id.startsWith(ID_PREFIX) && !('method' in message)) {
      this.waiting.get(id)?.resolve(message as JSONRPCResponse);
      return;
    }
    super.receive(message, extra);
  }

  protected override closed(): void {
    for (const waiting of [...this.waiting.values()]) waiting.reject(new DirectRequestError('the connection closed', 'closed'));
    super.closed();
  }
}
