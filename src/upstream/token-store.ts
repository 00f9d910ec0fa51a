/**
 * Upstream OAuth tokens on disk: one JSON file per server under
 * `<gateway.stateDir>/tokens/`, written by `switchboard login` and rewritten
 * by the gateway when it refreshes them. Files are 0600 in a 0700 folder and
 * replaced atomically (write a temporary file, then rename), so a reader never
 * sees half a file. Nothing here logs a token.
 */
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { OAuthDiscoveryState, StoredOAuthTokens } from '@modelcontextprotocol/client';
import { z } from 'zod';
import { writePrivateFile } from '../infra/files.js';

/** What a token file holds. */
export interface TokenRecord {
  version: 1;
  /** The server name, the upstream URL and the client id the tokens were issued for. */
  server: string;
  url: string;
  clientId: string;
  tokens: StoredOAuthTokens;
  /** Epoch ms when the tokens were obtained, and when the access token expires (absent: no `expires_in`). */
  obtainedAt: number;
  expiresAt?: number;
  /** The RFC 8707 resource indicator used at login, sent again on refresh. */
  resource?: string;
  /** Authorization server and resource metadata found at login; a refresh goes to the same server. */
  discovery?: OAuthDiscoveryState;
}

const RecordSchema = z.looseObject({
  version: z.literal(1),
  server: z.string(),
  url: z.string(),
  clientId: z.string(),
  tokens: z.looseObject({ access_token: z.string().min(1), token_type: z.string() }),
  obtainedAt: z.number(),
  expiresAt: z.number().optional(),
  resource: z.string().optional(),
  discovery: z.looseObject({ authorizationServerUrl: z.string() }).optional(),
});

/** A token file that exists but cannot be used (unreadable, not JSON, wrong shape). */
export class TokenFileError extends Error {
  constructor(
    readonly file: string,
    /** e.g. "is not valid JSON": what is wrong, without the path. */
    readonly why: string,
  ) {
    super(`token file ${file} ${why}`);
    this.name = 'TokenFileError';
  }
}

/** `<stateDir>/tokens/<server>.json` (server names are restricted to `[A-Za-z0-9_-]`). */
export function tokenFilePath(stateDir: string, server: string): string {
  return path.join(stateDir, 'tokens', `${server}.json`);
}

/** The record in `file`, or undefined if there is none. */
export async function readTokenFile(file: string): Promise<TokenRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new TokenFileError(file, `cannot be read (${code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TokenFileError(file, 'is not valid JSON');
  }
  const parsed = RecordSchema.safeParse(json);
  if (!parsed.success) throw new TokenFileError(file, 'does not hold Switchboard tokens');
  return parsed.data as unknown as TokenRecord;
}

/** Writes `record` to `file` atomically with mode 0600, creating its folder with mode 0700. */
export async function writeTokenFile(file: string, record: TokenRecord): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The tokens folder is ours: keep it private even if it was created looser.
  await chmod(dir, 0o700);
  await writePrivateFile(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** Removes the tokens (after the authorization server rejected them): the next use needs a login. */
export async function deleteTokenFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** When tokens obtained `now` expire: `expires_in` made absolute (absent without it). */
export function expiryOf(tokens: StoredOAuthTokens, now = Date.now()): { obtainedAt: number; expiresAt?: number } {
  const seconds = tokens.expires_in;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? { obtainedAt: now, expiresAt: now + seconds * 1000 } : { obtainedAt: now };
}

/** A record for freshly obtained tokens. */
export function recordOf(
  base: Pick<TokenRecord, 'server' | 'url' | 'clientId' | 'resource' | 'discovery'>,
  tokens: StoredOAuthTokens,
  now = Date.now(),
): TokenRecord {
  const record: TokenRecord = { version: 1, ...base, tokens, ...expiryOf(tokens, now) };
  for (const key of ['resource', 'discovery'] as const) if (record[key] === undefined) delete record[key];
  return record;
}

/**
 * Whether an access token should be renewed before it is used: it is within
 * a quarter of its lifetime (at most 30 s) of expiring. A token without an
 * expiry is used until the server rejects it.
 */
export function isStale(token: { obtainedAt: number; expiresAt?: number }, now = Date.now()): boolean {
  if (token.expiresAt === undefined) return false;
  const margin = Math.min(30_000, Math.max(0, token.expiresAt - token.obtainedAt) / 4);
  return now >= token.expiresAt - margin;
}
