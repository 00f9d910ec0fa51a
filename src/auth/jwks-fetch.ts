/**
 * One request for an issuer's JSON Web Key Set: bounded in time and size, no
 * redirects, and only public keys kept. What the keys are worth is jose's to
 * judge (jwt.ts); this only makes sure the answer is a key set at all.
 */

/** A JWKS response larger than this is refused (a JWKS of a dozen RSA keys is ~10 KB). */
export const MAX_JWKS_BYTES = 256 * 1024;

/** A key set as fetched: its members are objects, otherwise unchecked. */
export interface FetchedKeySet {
  keys: Record<string, unknown>[];
}

export interface JwksRequest {
  fetch: typeof fetch;
  timeoutMs: number;
}

export async function fetchJwks(url: string, request: JwksRequest): Promise<FetchedKeySet> {
  const response = await request.fetch(url, {
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(request.timeoutMs),
  });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`JWKS request answered ${response.status}`);
  }
  const text = await readCapped(response, MAX_JWKS_BYTES);
  const jwks = JSON.parse(text) as unknown;
  if (!isKeySet(jwks)) throw new Error('JWKS response is not a JSON Web Key Set');
  // Private or symmetric members are never trusted for verification.
  return { keys: jwks.keys.filter((k) => k.kty !== 'oct' && !('d' in k)) };
}

function isKeySet(value: unknown): value is FetchedKeySet {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { keys?: unknown }).keys) &&
    (value as { keys: unknown[] }).keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))
  );
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new Error(`JWKS response larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`JWKS response larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
