/**
 * A bound on the `clientInfo` a 2025-era session keeps. The SDK server
 * stores what `initialize` sent for the session's whole life, and only the
 * body limit (megabytes) bounded it: thousands of sessions with padded
 * clientInfo were an easy way to fill the gateway's memory.
 *
 * An oversized clientInfo is trimmed, not refused: real clients send tens of
 * bytes, but the 2025-11-25 schema lets a well-meaning one add icons (data:
 * URIs) and a description, and the gateway itself never reads clientInfo, so
 * refusing would break such a client for nothing. What is kept identifies the
 * client in the SDK's view: name, version and title, each cut short.
 */

/** The serialized clientInfo (UTF-8 bytes of its JSON) a session keeps as sent. */
export const MAX_CLIENT_INFO_BYTES = 1024;
/** Each kept field's serialized size once trimmed: three of them and their keys stay under the bound. */
const MAX_FIELD_BYTES = 300;
const KEPT_FIELDS = ['name', 'version', 'title'] as const;

/**
 * The body of a POST with any `initialize` in it carrying a clientInfo within
 * the bound (the same body when nothing needed trimming).
 */
export function boundClientInfo(body: unknown): unknown {
  if (Array.isArray(body)) {
    const bounded = body.map(boundMessage);
    return bounded.some((m, i) => m !== body[i]) ? bounded : body;
  }
  return boundMessage(body);
}

function boundMessage(message: unknown): unknown {
  const m = message as { method?: unknown; params?: { clientInfo?: unknown } } | null;
  if (typeof m !== 'object' || m === null || m.method !== 'initialize') return message;
  const info = m.params?.clientInfo;
  if (typeof info !== 'object' || info === null || serializedBytes(info) <= MAX_CLIENT_INFO_BYTES) return message;
  return { ...m, params: { ...m.params, clientInfo: trimmed(info as Record<string, unknown>) } };
}

/** Only the identifying fields, each cut to fit; a missing or non-string name is left for the SDK to reject. */
function trimmed(info: Record<string, unknown>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const field of KEPT_FIELDS) {
    const value = info[field];
    if (typeof value === 'string') kept[field] = cut(value, MAX_FIELD_BYTES);
  }
  return kept;
}

/** The longest prefix of `text` (whole code points) whose JSON form takes at most `maxBytes`. */
function cut(text: string, maxBytes: number): string {
  if (serializedBytes(text) <= maxBytes) return text;
  // Every code unit costs at least one byte serialized, so no more than maxBytes of them can fit.
  const points = Array.from(text.slice(0, maxBytes));
  // The slice may have split a surrogate pair: its lone first half goes.
  if (/^[\uD800-\uDBFF]$/.test(points.at(-1) ?? '')) points.pop();
  while (points.length > 0 && serializedBytes(points.join('')) > maxBytes) points.pop();
  return points.join('');
}

function serializedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
