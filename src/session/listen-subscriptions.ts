/**
 * A 2026-07-28 client names the resources it wants updates for in its
 * `subscriptions/listen` filter, and the SDK delivers what the hub publishes;
 * but an upstream still has to be subscribed. Each URI goes through the
 * pipeline as a `resources/subscribe` (so policy, limits and audit apply) and
 * stays subscribed until the returned release is called (the stream closed).
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/principal.js';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../observability/log.js';
import type { Pipeline, SessionInfo } from '../pipeline/index.js';
import type { View } from '../pipeline/view.js';
import type { CallOrigin } from '../upstream/server.js';
import type { SubscriptionRegistry } from './registry.js';

/** Resources one listen stream may have the gateway subscribe to upstream. */
const MAX_LISTEN_URIS = 256;

export interface ListenEnv {
  pipeline: Pipeline;
  log: Logger;
  /** The gateway's shutdown: a subscription still being made gives up. */
  shutdown: AbortSignal;
  subscriptions: SubscriptionRegistry;
}

export interface ListenRequest {
  principal: Principal;
  view: View;
  profile: string | undefined;
  uris: readonly string[];
}

/** Subscribes upstream for one listen stream; the release drops what it made (`drop` is given the stream's session id). */
export async function subscribeForListen(env: ListenEnv, request: ListenRequest, drop: (listenId: string) => void): Promise<() => void> {
  const info: SessionInfo = { id: `listen-${randomUUID()}`, transport: 'streamable-http', era: 'modern', profile: request.profile };
  const origin: CallOrigin = {
    sessionId: info.id,
    clientCapabilities: undefined,
    send: () => Promise.reject(new GatewayError('CLIENT_CAPABILITY_MISSING', 'A subscription stream cannot be asked for input', {})),
    notify: async () => {},
  };
  let released = false;
  await Promise.all(
    [...new Set(request.uris)].slice(0, MAX_LISTEN_URIS).map(async (uri) => {
      const ctx: Parameters<Pipeline>[0] = {
        method: 'resources/subscribe',
        params: { uri },
        session: info,
        principal: request.principal,
        view: request.view,
        origin,
        signal: env.shutdown,
        startedAt: performance.now(),
        unattended: true,
      };
      try {
        await env.pipeline(ctx);
      } catch (err) {
        // Refused or unknown: the stream simply gets no updates for it (the outcome is audited).
        env.log.debug('listen subscription not made upstream', { uri, error: String(err) });
        return;
      }
      if (ctx.target && ctx.connection && !released) env.subscriptions.add(ctx.connection, ctx.target.original, ctx.target.exposed, info.id);
    }),
  );
  return () => {
    released = true;
    drop(info.id);
  };
}
