/**
 * Server-to-client requests for a 2026-07-28 client. Such a client cannot be
 * sent a request; it is answered with an `input_required` result instead and
 * retries the call with the responses. So when an upstream asks for sampling,
 * elicitation or roots during such a call, the call is parked: the client gets
 * `input_required` naming what the upstream asked, and its retry (carrying
 * the parked call's `requestState`) delivers the answers to the upstream and
 * waits for what comes next — a result, or another round.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Result } from '@modelcontextprotocol/server';
import { GatewayError } from '../core/errors.js';

/** How long a parked call waits for the client's retry. */
const PARK_TTL_MS = 5 * 60_000;
const MAX_PARKED = 1_000;

interface PendingInput {
  request: { method: string; params?: Record<string, unknown> };
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/** One upstream call that is waiting on its client's input. */
export class ParkedCall {
  readonly id: string;
  readonly controller = new AbortController();
  private readonly pending = new Map<string, PendingInput>();
  private nextKey = 0;
  private wake?: () => void;
  result!: Promise<Result>;

  /** `replicaId`: names the replica in the id, so a retry that reaches another replica can say where the call lives. */
  constructor(
    readonly principalId: string,
    replicaId?: string,
  ) {
    this.id = replicaId === undefined ? randomUUID() : `${replicaId}.${randomUUID()}`;
  }

  /** Called by the call's origin when the upstream asks the client for something. */
  ask(request: PendingInput['request']): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.pending.set(`input-${this.nextKey++}`, { request, resolve, reject });
      this.wake?.();
    });
  }

  /** Delivers the client's answers to the upstream's waiting requests. */
  answer(responses: Record<string, unknown> | undefined): void {
    for (const [key, input] of this.pending) {
      const response = responses?.[key];
      if (response === undefined) continue;
      this.pending.delete(key);
      input.resolve(response as Result);
    }
  }

  /** Waits for whichever comes first: the call's result, or a request for input. */
  async next(): Promise<{ kind: 'result'; result: Result } | { kind: 'input'; inputRequests: Record<string, unknown> }> {
    if (this.pending.size === 0) {
      const asked = new Promise<void>((resolve) => (this.wake = resolve));
      const outcome = await Promise.race([this.result.then((result) => ({ result })), asked.then(() => undefined)]);
      this.wake = undefined;
      if (outcome) return { kind: 'result', result: outcome.result };
    }
    const inputRequests = Object.fromEntries([...this.pending].map(([key, p]) => [key, p.request]));
    return { kind: 'input', inputRequests };
  }

  abandon(reason: unknown): void {
    this.controller.abort(reason);
    for (const input of this.pending.values()) input.reject(reason);
    this.pending.clear();
  }
}

export class InputBridge {
  constructor(private readonly replicaId?: string) {}

  private readonly parked = new LRUCache<string, ParkedCall>({
    max: MAX_PARKED,
    ttl: PARK_TTL_MS,
    dispose: (call, _id, reason) => {
      if (reason !== 'delete')
        call.abandon(new GatewayError('UPSTREAM_TIMEOUT', 'The client did not answer the input request in time', { reason: 'input-expired' }));
    },
  });

  /**
   * Runs a call for a 2026-07-28 client: `start` begins it (given the parked
   * call, whose `ask` is the origin's way to the client); a retry with a
   * `requestState` resumes the parked call instead.
   */
  async run(
    principalId: string,
    request: { state?: string; inputResponses?: Record<string, unknown>; signal: AbortSignal },
    start: (call: ParkedCall) => Promise<Result>,
  ): Promise<Result> {
    const { state: requestState, inputResponses } = request;
    let call: ParkedCall;
    if (requestState !== undefined) {
      const found = this.parked.get(requestState);
      // The state is a random id bound to the caller: another principal's is as good as unknown.
      if (!found || found.principalId !== principalId) {
        const elsewhere = this.replicaId !== undefined && !requestState.startsWith(`${this.replicaId}.`) && /^[A-Za-z0-9_-]+\./.exec(requestState)?.[0];
        const why = elsewhere
          ? `it was parked on replica ${elsewhere.slice(0, -1)}, not this one (input rounds need the replica that started the call)`
          : 'it is unknown or expired';
        throw new GatewayError('INVALID_PARAMS', `Cannot resume this call: ${why}; retry the call from the start`, { reason: 'requestState' });
      }
      call = found;
      call.answer(inputResponses);
    } else {
      call = new ParkedCall(principalId, this.replicaId);
      call.result = start(call);
      // A result nobody is waiting for yet must not become an unhandled rejection.
      call.result.catch(() => {});
    }
    // The client giving up on this request gives up on the call.
    const cancel = () => call.abandon(request.signal.reason);
    request.signal.addEventListener('abort', cancel, { once: true });
    let next: Awaited<ReturnType<ParkedCall['next']>>;
    try {
      next = await call.next();
    } catch (err) {
      this.parked.delete(call.id);
      throw err;
    } finally {
      request.signal.removeEventListener('abort', cancel);
    }
    if (next.kind === 'result') {
      this.parked.delete(call.id);
      return next.result;
    }
    this.parked.set(call.id, call);
    return { resultType: 'input_required', inputRequests: next.inputRequests, requestState: call.id } as Result;
  }

  close(): void {
    this.parked.clear();
  }
}
