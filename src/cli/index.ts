/**
 * argv → serve | validate | catalog | bridge, and exit codes. Everything the
 * user reads goes to stderr, except the output of `catalog`, so that in
 * `--stdio` mode stdout carries nothing but protocol.
 */
import { createGateway, type Gateway } from '../app/gateway.js';
import type { LoadedConfig, LogLevel } from '../config/schema.js';
import { findConfigFile, loadConfigFile, parseConfig } from '../config/load.js';
import { hashKey } from '../auth/api-keys.js';
import { login } from './login.js';
import { credentialsCommand } from './credentials.js';
import { policyExplain, policyTest } from './policy.js';
import { createPolicyEngine } from '../app/policy-runtime.js';
import { serveOverStdio } from '../stdio/front.js';
import type { CatalogEntry } from '../catalog/catalog.js';
import { createView, WHOLE_CATALOG, type View } from '../pipeline/view.js';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../observability/log.js';
import { parseArgs, type ParsedArgs } from './args.js';

const USAGE = `Usage:
  switchboard [serve] [--config F] [--stdio [--profile NAME]] [--host H] [--port P] [--log-level L]
  switchboard validate [--config F]
  switchboard catalog  [--config F] [--json] [--profile NAME]
  switchboard bridge [--host H] [--port P] [--log-level L] -- <command> [args…]
  switchboard policy test    [--config F]    # every policies/*.tests.yaml
  switchboard policy explain [--config F] --call server__tool [--principal P.json] [--args A.json]
  switchboard hash-key [KEY]                 # sha256 for gateway.auth.apiKeys (KEY or stdin)
  switchboard login <server> [--config F]    # upstream OAuth login (authorization code + PKCE)
  switchboard credentials list [--config F] [--principal P] [--json]   # users' stored upstream credentials (no tokens)
  switchboard credentials revoke --principal P --server S [--config F]

Config lookup: --config, then $SWITCHBOARD_CONFIG, then ./switchboard.json, ./switchboard.yaml, ./switchboard.yml, ./.mcp.json`;

const SETTLE_MS = 15_000;

export async function main(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`switchboard: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.flags.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  try {
    switch (args.command) {
      case 'serve':
        return await serve(loadFromArgs(args), args);
      case 'validate':
        return validate(args);
      case 'catalog':
        return await catalog(args);
      case 'bridge':
        return await serve(bridgeConfig(args), args);
      case 'hash-key':
        return await printKeyHash(args);
      case 'policy':
        return policyCommand(args);
      case 'login':
        return await login(args);
      case 'credentials':
        return await credentialsCommand(argv.slice(1));
      default:
        process.stderr.write(`switchboard: unknown command '${args.command}'\n\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: invalid configuration\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function loadFromArgs(args: ParsedArgs): LoadedConfig {
  const file = findConfigFile({ cwd: process.cwd(), env: process.env, explicit: args.flags.config });
  if (!file) {
    throw new ConfigError([
      {
        file: process.cwd(),
        path: '',
        message: 'no configuration file found',
        fix: 'pass --config FILE, set SWITCHBOARD_CONFIG, or create ./switchboard.json or ./.mcp.json',
      },
    ]);
  }
  return loadConfigFile(file, process.env);
}

function loggerFor(config: LoadedConfig, args: ParsedArgs): Logger {
  const level = (args.flags['log-level'] as LogLevel | undefined) ?? config.gateway.logLevel;
  return createLogger({ level, pretty: process.stderr.isTTY === true });
}

async function serve(config: LoadedConfig, args: ParsedArgs): Promise<number> {
  const log = loggerFor(config, args);
  for (const warning of config.warnings) log.warn(warning);
  const gateway = createGateway(config, log);
  gateway.start();
  const shutdown = onceShutdown(gateway, log);
  if (args.flags.stdio) {
    // Desktop clients list tools once, right after connecting: let the upstreams come up first.
    await gateway.settled(SETTLE_MS);
    const front = serveOverStdio(gateway.hub, gateway.stdioPrincipal, profileView(config, args));
    await Promise.race([front.closed, shutdown.requested]);
    await front.close();
    await shutdown.run();
    return 0;
  }
  const host = args.flags.host ?? config.gateway.listen.host;
  const port = args.flags.port !== undefined ? Number(args.flags.port) : config.gateway.listen.port;
  const { url } = await gateway.listen(host, port);
  log.info(`Switchboard listening on ${url}${config.gateway.path}`, { config: config.file });
  await gateway.settled(SETTLE_MS);
  for (const u of gateway.upstreams) {
    log.info(`upstream ${u.name}: ${u.state}`, { tools: u.lists.tools.length, error: u.state === 'ready' ? undefined : u.lastError });
  }
  warnEmptyProfiles(gateway, log);
  await shutdown.requested;
  await shutdown.run();
  return 0;
}

function validate(args: ParsedArgs): number {
  const config = loadFromArgs(args);
  // Policies are part of the configuration: a broken rule fails validation too.
  const policy = createPolicyEngine(config);
  const enabled = config.servers.filter((s) => s.enabled);
  process.stderr.write(`${config.file}: valid (${enabled.length} server(s) enabled, ${config.skipped.length} skipped)\n`);
  process.stderr.write(`${config.gateway.policies || 'no policy directory'}: ${policy.ruleIds.length} rule(s)\n`);
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  for (const w of policy.warnings) process.stderr.write(`warning: ${w.file} ${w.path}: ${w.message}${w.fix ? `\n  fix: ${w.fix}` : ''}\n`);
  return 0;
}

async function catalog(args: ParsedArgs): Promise<number> {
  const config = loadFromArgs(args);
  const log = createLogger({ level: (args.flags['log-level'] as LogLevel | undefined) ?? 'error', pretty: true });
  const gateway = createGateway(config, log);
  gateway.start();
  await gateway.settled(SETTLE_MS);
  const view = profileView(config, args);
  const entries = gateway.catalog.entries().filter((e) => inProfile(gateway, view, e));
  const states = Object.fromEntries(gateway.upstreams.map((u) => [u.name, { state: u.state, error: u.lastError }]));
  await gateway.stop();
  if (view.profile !== undefined && !entries.some((e) => e.kind === 'tool')) {
    process.stderr.write(`switchboard: profile "${view.profile}" matches no tool\n  fix: check its servers (are they up?) and its "tools" globs against \`switchboard catalog\`\n`);
    return 1;
  }
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ upstreams: states, items: entries }, null, 2)}\n`);
  } else {
    const rows = entries.map((e) => [e.kind, e.server, e.exposed, e.original, e.readOnly ? 'yes' : '']);
    process.stdout.write(table(['KIND', 'SERVER', 'EXPOSED', 'ORIGINAL', 'READ-ONLY-HINT'], rows));
    for (const [name, s] of Object.entries(states)) if (s.state !== 'ready') process.stderr.write(`${name}: ${s.state}${s.error ? ` (${s.error})` : ''}\n`);
  }
  return 0;
}

function policyCommand(args: ParsedArgs): number {
  const sub = args.positionals[0];
  if (sub === 'test') return policyTest(loadFromArgs(args));
  if (sub === 'explain') return policyExplain(loadFromArgs(args), args);
  process.stderr.write(`switchboard policy: expected 'test' or 'explain'\n\n${USAGE}\n`);
  return 2;
}

/** A profile whose servers are up but whose globs match nothing is almost certainly a typo. */
function warnEmptyProfiles(gateway: Gateway, log: Logger): void {
  for (const profile of Object.values(gateway.config.gateway.profiles)) {
    if (!profile.enabled) continue;
    const view = createView(profile);
    if (gateway.catalog.entries().some((e) => e.kind === 'tool' && inProfile(gateway, view, e))) continue;
    log.warn(`profile "${profile.name}" matches no tool`, { fix: 'check its servers and "tools" globs against `switchboard catalog`' });
  }
}

/** `--profile NAME`: that profile's view, or the whole catalog. */
function profileView(config: LoadedConfig, args: ParsedArgs): View {
  const name = typeof args.flags.profile === 'string' ? args.flags.profile : undefined;
  if (name === undefined) return WHOLE_CATALOG;
  const profile = config.gateway.profiles[name];
  if (!profile) {
    const known = Object.keys(config.gateway.profiles);
    throw new ConfigError([{ file: config.file, path: `gateway.profiles.${name}`, message: `no profile named "${name}"`, fix: known.length ? `one of: ${known.join(', ')}` : 'define it under gateway.profiles' }]);
  }
  return createView(profile);
}

function inProfile(gateway: Gateway, view: View, entry: CatalogEntry): boolean {
  const kind = entry.kind === 'tool' ? 'tools' : entry.kind === 'prompt' ? 'prompts' : entry.kind === 'resource' ? 'resources' : 'resourceTemplates';
  const upstream = gateway.upstreams.find((u) => u.name === entry.server)!;
  return view.shows(kind, { upstream, original: entry.original, item: {} }, entry.exposed);
}

/** `switchboard hash-key [KEY]` (or the key on stdin, so it stays out of shell history). */
async function printKeyHash(args: ParsedArgs): Promise<number> {
  let key = args.positionals[0];
  if (key === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    key = Buffer.concat(chunks).toString('utf8').trim();
  }
  if (!key) {
    process.stderr.write('switchboard hash-key: no key given (pass it as an argument or on stdin)\n');
    return 2;
  }
  process.stdout.write(`${hashKey(key)}\n`);
  return 0;
}

/** `switchboard bridge -- cmd args…`: one stdio server, names unchanged, no config file. */
function bridgeConfig(args: ParsedArgs): LoadedConfig {
  const [command, ...rest] = args.rest;
  if (!command) throw new ConfigError([{ file: '<bridge>', path: '', message: 'no command to bridge', fix: 'switchboard bridge -- <command> [args…]' }]);
  return parseConfig(
    // No config file, so no policy directory either: a policies/ folder in the working directory is not the bridge's.
    { mcpServers: { bridge: { command, args: rest } }, gateway: { servers: { bridge: { prefix: '' } }, policies: false } },
    '<bridge>',
    process.env,
  );
}

function onceShutdown(gateway: Gateway, log: Logger): { requested: Promise<void>; run(): Promise<void> } {
  let request!: () => void;
  const requested = new Promise<void>((resolve) => (request = resolve));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info('shutting down', { signal });
      request();
      // A second signal means now.
      process.once(signal, () => process.exit(130));
    });
  }
  let running: Promise<void> | undefined;
  return {
    requested,
    run: () => (running ??= gateway.stop()),
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
