/**
 * A JWKS endpoint on 127.0.0.1 (port 0) for auth tests, plus signing keys and
 * token minting with jose. `/jwks.json` serves the current `keys`; every
 * request is counted. Tests change `keys`, `status` and `delayMs` at will.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK, with kid, alg and use. */
  jwk: JWK;
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export interface SignOptions {
  /** Header kid; `null` leaves it out; default the key's kid. */
  kid?: string | null;
  /** Header alg; default the key's alg. */
  alg?: string;
  /** Seconds since the epoch, or `null` to leave exp out; default now + 300. */
  exp?: number | null;
}

/** A signed JWT with `claims` as its payload (iss/aud/sub etc. are whatever the caller puts there). */
export async function signToken(key: TestKey, claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const kid = options.kid === undefined ? key.kid : options.kid;
  const header = { alg: options.alg ?? key.alg, ...(kid === null ? {} : { kid }) };
  const exp = options.exp === undefined ? nowSec() + 300 : options.exp;
  const jwt = new SignJWT({ ...claims }).setProtectedHeader(header).setIssuedAt();
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(key.privateKey);
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

export interface JwksServer {
  /** Full URL of `/jwks.json`. */
  readonly url: string;
  /** Keys served from now on. */
  keys: JWK[];
  /** HTTP status of the next answers (the body is the JWKS only on 200). */
  status: number;
  /** Delay before answering, ms. */
  delayMs: number;
  /** Requests to `/jwks.json` so far. */
  readonly fetches: number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  let fetches = 0;
  const state = { keys, status: 200, delayMs: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end();
    fetches++;
    const answer = () => {
      if (state.status !== 200) return void res.writeHead(state.status).end();
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: state.keys }));
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get status() {
      return state.status;
    },
    set status(value) {
      state.status = value;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value) {
      state.delayMs = value;
    },
    get fetches() {
      return fetches;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
