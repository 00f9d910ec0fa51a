/**
 * `switchboard credentials list|revoke`: what users' own upstream credentials
 * the gateway holds (never a token), and removing one. Both open the store
 * `gateway.credentials` describes; it is safe to use while a gateway runs on
 * the same file or Redis. Exit codes: 0 done, 1 nothing to revoke or the store
 * or configuration cannot be used, 2 usage.
 *
 * It parses its own arguments (`--server` is its own flag), from the argv
 * after the word `credentials`.
 */
import { parsePrincipalId } from '../../core/principal.js';
import { createCredentialStore, CredentialStoreError, describeCredentialStore, type CredentialStore, type CredentialSummary } from '../../credentials/index.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../observability/log.js';
import { tokenize, type ArgvToken } from '../argv.js';
import { loadConfigFromFlag } from '../config-file.js';
import { table } from '../table.js';

export const CREDENTIALS_USAGE = `Usage:
  switchboard credentials list   [--config F] [--principal P] [--json]
  switchboard credentials revoke --principal P --server S [--config F]
P is a principal id as the gateway has it: apikey:<key id>, jwt:<issuer>#<sub> or stdio:<id>.`;

interface CredentialsArgs {
  sub?: string;
  positionals: string[];
  config?: string;
  principal?: string;
  server?: string;
  json: boolean;
  help: boolean;
}

const VALUED = new Set(['config', 'principal', 'server']);
const BOOLEAN = new Set(['json', 'help']);

class UsageError extends Error {}

/** `argv`: the arguments after `credentials`. */
export async function credentialsCommand(argv: string[]): Promise<number> {
  let args: CredentialsArgs;
  try {
    args = parse(argv);
  } catch (err) {
    return usage((err as Error).message);
  }
  if (args.help) {
    process.stderr.write(`${CREDENTIALS_USAGE}\n`);
    return 0;
  }
  if (args.sub !== 'list' && args.sub !== 'revoke') {
    return usage(args.sub === undefined ? "expected 'list' or 'revoke'" : `unknown subcommand '${args.sub}' (expected 'list' or 'revoke')`);
  }
  if (args.positionals.length > 0) return usage(`unexpected argument '${args.positionals[0]}'`);
  if (args.sub === 'revoke') {
    if (!args.principal || !args.server) return usage('revoke needs --principal P and --server S');
  } else if (args.server !== undefined) {
    return usage('--server applies to revoke only');
  }

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
    return args.sub === 'list' ? await list(store, args) : await revoke(store, args.principal!, args.server!, where);
  } catch (err) {
    if (!(err instanceof CredentialStoreError)) throw err;
    process.stderr.write(`switchboard credentials: ${err.message}\n`);
    return 1;
  } finally {
    await store.close().catch(() => {});
  }
}

async function list(store: CredentialStore, args: CredentialsArgs): Promise<number> {
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

function parse(argv: string[]): CredentialsArgs {
  const args: CredentialsArgs = { positionals: [], json: false, help: false };
  for (const token of tokenize(argv, [...VALUED])) {
    // `--` ends nothing here: there is no command to pass arguments to.
    if (token.kind === 'terminator') throw new UsageError('unknown option --');
    if (token.kind === 'option') readOption(args, token);
    else if (args.sub === undefined) args.sub = token.value;
    else args.positionals.push(token.value);
  }
  return args;
}

function readOption(args: CredentialsArgs, { name, value, inline }: Extract<ArgvToken, { kind: 'option' }>): void {
  if (BOOLEAN.has(name)) {
    if (inline) throw new UsageError(`--${name} takes no value`);
    args[name as 'json' | 'help'] = true;
  } else if (VALUED.has(name)) {
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    args[name as 'config' | 'principal' | 'server'] = value;
  } else throw new UsageError(`unknown option --${name}`);
}

function usage(message: string): number {
  process.stderr.write(`switchboard credentials: ${message}\n\n${CREDENTIALS_USAGE}\n`);
  return 2;
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
