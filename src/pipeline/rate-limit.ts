/**
 * Token buckets per caller and server (or whatever key the policy names).
 * Runs after authorize, so a denied call never spends a token.
 */
import { GatewayError } from '../core/errors.js';
import type { RateLimitStore } from '../ratelimit/store.js';
import type { DecisionInput, RateLimitSpec } from '../policy/types.js';
import type { Stage } from './chain.js';

export interface LimitSource {
  rateLimitsFor(input: DecisionInput): { limits: RateLimitSpec[]; keys: string[]; ruleId?: string };
}

export function rateLimit(policy: () => LimitSource, store: RateLimitStore, onLimited: (server: string) => void = () => {}): Stage {
  return {
    name: 'rate-limit',
    run(ctx) {
      const input = ctx.decisionInput;
      if (!input) return;
      const { limits, keys, ruleId } = policy().rateLimitsFor(input);
      if (limits.length === 0) return;
      return spend(input, keys, limits, ruleId);
    },
  };

  async function spend(input: DecisionInput, keys: string[], limits: RateLimitSpec[], ruleId: string | undefined): Promise<void> {
    const outcome = await store.take(keys, limits, Date.now());
    if (outcome.ok) return;
    onLimited(input.server.name);
    if (outcome.unavailable) {
      throw new GatewayError('RATE_LIMITED', `Rate limits cannot be checked right now; retry in ${outcome.retryAfterMs} ms`, {
        ruleId: ruleId ?? `servers.${input.server.name}.rateLimit`,
        reason: 'the shared rate-limit store is unreachable and gateway.rateLimit.store.failMode is "closed"',
        retryAfterMs: outcome.retryAfterMs,
      });
    }
    const { limit, per } = outcome.limit;
    throw new GatewayError('RATE_LIMITED', `Rate limit of ${limit} per ${per} reached; retry in ${outcome.retryAfterMs} ms`, {
      ruleId: ruleId ?? `servers.${input.server.name}.rateLimit`,
      reason: `${limit} per ${per}`,
      retryAfterMs: outcome.retryAfterMs,
    });
  }
}
