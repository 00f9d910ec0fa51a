/**
 * The calls in flight on one upstream, by who caused them: where the
 * upstream's server-to-client requests and unsolicited notifications go.
 * Kept per upstream (not per connection), as a reconnect does not change who
 * is waiting on it.
 */
import type { ClientCapabilities, Notification, Result } from '@modelcontextprotocol/client';

/** Who caused a forwarded request: where server-to-client traffic for it goes. */
export interface CallOrigin {
  readonly sessionId: string;
  /** The downstream client's declared capabilities. */
  readonly clientCapabilities: ClientCapabilities | undefined;
  /** Sends a request to the downstream client, related to the call in flight. */
  send(request: { method: string; params?: Record<string, unknown> }, signal: AbortSignal): Promise<Result>;
  /** Sends a notification to the downstream client, related to the call in flight. */
  notify(notification: Notification): Promise<void>;
}

export class CallsInFlight {
  /** One entry per call (a session may have several in flight), oldest first. */
  private readonly calls = new Set<{ origin: CallOrigin }>();

  /** Counts a call from `origin` as in flight; the returned function ends it. */
  add(origin: CallOrigin): () => void {
    const call = { origin };
    this.calls.add(call);
    return () => void this.calls.delete(call);
  }

  /** Every origin with a call in flight, each once. */
  origins(): CallOrigin[] {
    return [...new Set([...this.calls].map((call) => call.origin))];
  }

  /** The origins in flight by session: one per session. */
  bySession(): Map<string, CallOrigin> {
    const sessions = new Map<string, CallOrigin>();
    for (const { origin } of this.calls) sessions.set(origin.sessionId, origin);
    return sessions;
  }
}
