/**
 * Why an ID-JAG flow failed, in words a caller may see: which leg (the IdP,
 * the upstream's authorization server, or finding it), and the OAuth error
 * code the server answered, never its description (which may echo what was
 * sent, the caller's token included).
 */

export type IdJagStep = 'discovery' | 'idp' | 'authorization-server';

export class IdJagError extends Error {
  override readonly name = 'IdJagError';

  constructor(
    readonly step: IdJagStep,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The short reason of one of the SDK's ID-JAG failures: the OAuth `error`
 * code ("Token exchange failed: invalid_grant - …"), the HTTP status when the
 * answer was no OAuth error, or what kind of failure it was.
 */
export function refusalOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /\bfailed: ([A-Za-z0-9_.:-]+)(?: - |$)/.exec(message)?.[1];
  if (code) return code;
  const status = /\bfailed with status (\d{3})\b/.exec(message)?.[1];
  if (status) return `HTTP ${status}`;
  if (/^Invalid (token exchange|token) response/.test(message)) return 'an answer that is not a token response';
  if (err instanceof Error && err.name === 'InsecureTokenEndpointError') return 'its token endpoint is not https';
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer in time';
  return 'unreachable';
}
