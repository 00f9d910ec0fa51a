/**
 * The canonical form of a resource URI, pure. Policy, profiles, the audit
 * record and the upstream must all see the same string, and upstreams
 * resolve URIs the WHATWG way (the SDKs' servers look resources up by
 * `new URL(uri).toString()`): so the gateway canonicalises first and decides
 * on, and forwards, the canonical form. A URI that still holds a dot segment
 * afterwards (an opaque path such as `urn:a/../b`), or that does not parse,
 * cannot be decided on and is refused.
 */

export type CanonicalUri = { ok: true; uri: string } | { ok: false; reason: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
/** Percent-escapes of RFC 3986 unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~"). */
const UNRESERVED_ESCAPE = /%(4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2D|2E|5F|7E)/gi;
const DOT_SEGMENT = /(^|\/)\.{1,2}(\/|$)/;

/**
 * Scheme lower-cased; parsed and re-serialised by WHATWG URL rules (dot
 * segments and their `%2e` spellings removed, `\` as `/` for special
 * schemes, tabs and newlines dropped); the host lower-cased; escapes of
 * unreserved characters decoded.
 */
export function canonicalUri(uri: string): CanonicalUri {
  const scheme = SCHEME.exec(uri);
  if (!scheme) return { ok: false, reason: 'not an absolute URI (it needs a scheme such as "file:")' };
  let url: URL;
  try {
    url = new URL(scheme[1]!.toLowerCase() + uri.slice(scheme[1]!.length));
  } catch {
    return { ok: false, reason: 'not a valid URI' };
  }
  if (url.host !== '' && url.host !== url.host.toLowerCase()) url.host = url.host.toLowerCase();
  if (hasDotSegment(decodeUnreserved(url.pathname))) return { ok: false, reason: 'it has a "." or ".." segment that cannot be resolved' };
  return { ok: true, uri: decodeUnreserved(url.href) };
}

const decodeUnreserved = (text: string): string => text.replace(UNRESERVED_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** Whether a string has a `.` or `..` path segment (globs over URIs never let `*` span one). */
export const hasDotSegment = (value: string): boolean => DOT_SEGMENT.test(value);
