/**
 * The SDK leaves a request pending when the SSE stream that should carry its
 * answer ends without one (the server died mid-call): the caller would wait
 * for its whole timeout. This layer answers such a request at once with an
 * error that `isStreamEnded` recognises.
 */
import {
  INTERNAL_ERROR,
  ProtocolError,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type TransportSendOptions,
} from '@modelcontextprotocol/client';
import { isRequest } from '../../core/json-rpc.js';
import { TransportLayer } from './layer.js';

const STREAM_ENDED = 'stream-ended';

export class StreamEndGuard extends TransportLayer {
  /** Requests sent and not yet answered. */
  private readonly pending = new Set<RequestId>();

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (!this.engaged || Array.isArray(message) || !isRequest(message)) return this.inner.send(message, options);
    const { id } = message;
    this.pending.add(id);
    const onRequestStreamEnd = () => {
      options?.onRequestStreamEnd?.();
      if (this.pending.delete(id)) this.answerUnanswered(id);
    };
    try {
      return await this.inner.send(message, { ...options, onRequestStreamEnd });
    } catch (err) {
      this.pending.delete(id);
      throw err;
    }
  }

  protected override receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (!('method' in message) && 'id' in message && message.id !== undefined) this.pending.delete(message.id);
    super.receive(message, extra);
  }

  protected override closed(): void {
    this.pending.clear();
    super.closed();
  }

  /** Delivered like any answer, so the layers above (notification order) see it too. */
  private answerUnanswered(id: RequestId): void {
    const unanswered: JSONRPCMessage = {
      jsonrpc: '2.0',
      id,
      error: { code: INTERNAL_ERROR, message: 'The upstream closed the response stream before answering', data: { reason: STREAM_ENDED } },
    };
    super.receive(unanswered);
  }
}

/** The error a request gets when its response stream ended unanswered. */
export function isStreamEnded(err: unknown): boolean {
  return err instanceof ProtocolError && (err.data as { reason?: unknown } | undefined)?.reason === STREAM_ENDED;
}
