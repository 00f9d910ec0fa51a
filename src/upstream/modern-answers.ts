/**
 * What a 2026-07-28 upstream connection answers without asking the upstream,
 * and what each request to one carries instead of a session's settings.
 */
import { LOG_LEVEL_META_KEY, type Result } from '@modelcontextprotocol/client';
import type { ModernListener } from './listen.js';

/**
 * What a 2026-07-28 upstream has no method for, the gateway answers itself:
 * subscriptions become the filter of its listen stream, and the log level
 * travels with each request instead of being set once.
 */
export async function answerForModern(listener: ModernListener, method: string, params: Record<string, unknown> | undefined): Promise<Result | undefined> {
  const uri = typeof params?.uri === 'string' ? params.uri : '';
  switch (method) {
    case 'resources/subscribe':
      await listener.subscribe(uri);
      return {};
    case 'resources/unsubscribe':
      await listener.unsubscribe(uri);
      return {};
    case 'logging/setLevel':
      return {};
    default:
      return undefined;
  }
}

export function withLogLevel(params: Record<string, unknown> | undefined, level: string | undefined): Record<string, unknown> | undefined {
  if (level === undefined) return params;
  const meta = (params?._meta ?? {}) as Record<string, unknown>;
  return { ...params, _meta: { ...meta, [LOG_LEVEL_META_KEY]: level } };
}
