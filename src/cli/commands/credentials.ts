/**
 * `switchboard credentials list|revoke`: what users' own upstream credentials
 * the gateway holds (never a token), and removing one. Both open the store
 * `gateway.credentials` describes; it is safe to use while a gateway runs on
 * the same file or Redis. Exit codes: 0 done, 1 nothing to revoke or the store
 * or configuration cannot be used, 2 usage.
 *
 * Options and operands are checked by args.ts (`--server` is revoke's only).
 */
import { parsePrincipalId } from '../../core/principal.js';
import { createCredentialStore, CredentialStoreError, describeCredentialStore, type CredentialStore, type CredentialSummary } from '../../credentials/index.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../observability/log.js';
import { UsageError, type ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { table } from '../table.js';

export async function credentialsCommand(parsed: ParsedArgs): Promise<number> {
  const [sub] = parsed.positionals;
  if (sub !== 'list' && sub !== 'revoke') {
    throw new UsageError(sub === undefined ? "expected 'list' or 'revoke'" : `unknown subcommand '${sub}' (expected 'list' or 'revoke')`, 'credentials');
  }
  const text = (name: string) => (typeof parsed.flags[name] === 'string' ? (parsed.flags[name] as string) : undefined);
  const args = { config: text('config'), principal: text('principal'), server: text('server'), json: parsed.flags.json === true };
  if (sub === 'revoke' && (!args.principal || !args.server)) throw new UsageError('revoke needs --principal P and --server S', 'credentials revoke');

  const config = loadConfigFromFlag(args.config);
  const settings = config.gateway.credentials;
  if (!settings) {
    throw new ConfigError([
      {
        file: config.file,
        path: 'gateway.credentials',
        message: 'no credential store is configured (gateway.credentials is missing)',
        fix: 'pass --config with the gateway\'s own configuration, or add "gateway": { "credentials": { "key": "${SWITCHBOARD_CREDENTIALS_KEY}" } }',
      },
    ]);
  }
  const where = describeCredentialStore(settings);
  const store = createCredentialStore(settings, createLogger({ level: 'error', pretty: process.stderr.isTTY === true }));
  try {
    return sub === 'list' ? await list(store, args) : await revoke(store, args.principal!, args.server!, where);
  } catch (err) {
    if (!(err instanceof CredentialStoreError)) throw err;
    process.stderr.write(`switchboard credentials: ${err.message}\n`);
    return 1;
  } finally {
    await store.close().catch(() => {});
  }
}

async function list(store: CredentialStore, args: { principal?: string; json: boolean }): Promise<number> {
  const summaries = await store.list(args.principal);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ credentials: summaries }, null, 2)}\n`);
    return 0;
  }
  if (summaries.length === 0) {
    process.stderr.write(`no stored credentials${args.principal !== undefined ? ` for principal "${args.principal}"${namespaceHint(args.principal)}` : ''}\n`);
    return 0;
  }
  const now = Date.now();
  const rows = summaries.map((s) => [s.principal, s.server, s.subject ?? '-', when(s.obtainedAt), expiry(s, now), s.refreshable ? 'yes' : 'no']);
  process.stdout.write(
    table(
      ['PRINCIPAL', 'SERVER', 'SUBJECT', 'OBTAINED', 'EXPIRES', 'REFRESHABLE'],
      rows.map((r) => r.map(printable)),
    ),
  );
  return 0;
}

async function revoke(store: CredentialStore, principal: string, server: string, where: string): Promise<number> {
  const removed = await store.delete(principal, server);
  if (removed) {
    process.stderr.write(`revoked the credential of "${principal}" for server "${server}" (${where})\n`);
    return 0;
  }
  process.stderr.write(`nothing to revoke: no credential of "${principal}" for server "${server}" in ${where}${namespaceHint(principal)}\n`);
  return 1;
}

/**
 * Principal ids are namespaced by credential kind (auth/principal.ts), and
 * `--principal` is matched exactly, so a bare id finds nothing stored since
 * then (only credentials stored before ids were namespaced, which can still
 * be listed and revoked by their bare id). Said when a bare id found nothing.
 */
function namespaceHint(principal: string): string {
  if (parsePrincipalId(principal)) return '';
  return `; principal ids are namespaced by credential kind: did you mean "apikey:${principal}", "jwt:<issuer>#${principal}" or "stdio:${principal}"?`;
}

/** `2025-01-31 14:05Z`: UTC, to the minute. */
function when(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d{3}Z$/, 'Z');
}

function expiry(s: CredentialSummary, now: number): string {
  if (s.expiresAt === undefined) return 'unknown';
  return `${when(s.expiresAt)}${s.expiresAt <= now ? ' (expired)' : ''}`;
}

/** Ids come from tokens and configs: no control characters reach the terminal. */
function printable(cell: string): string {
  return cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
