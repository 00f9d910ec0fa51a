/**
 * What the CLI says about itself: the synopsis (`switchboard --help`), each
 * command's help (`switchboard <command> --help`, `switchboard help
 * <command>`: what it does, its options with their defaults, an example),
 * the version, and the form of a usage error. The options a help lists are
 * the options its command accepts (args.ts reads them from here), so the two
 * cannot disagree.
 */
import { packageInfo } from '../infra/package-info.js';

export interface OptionHelp {
  /** As written on the command line: `--config F`, `--json`. */
  flag: string;
  /** What it does, and its default. */
  text: string;
}

export interface CommandHelp {
  /** Synopsis lines, each starting with `switchboard`. */
  usage: string[];
  summary: string;
  options: OptionHelp[];
  examples: string[];
  /** At most this many operands after the command (and subcommand) words; unlimited when absent. */
  operands?: number;
}

const CONFIG: OptionHelp = {
  flag: '--config F',
  text: 'the configuration file (default: $SWITCHBOARD_CONFIG, then ./switchboard.json, ./switchboard.yaml, ./switchboard.yml, ./.mcp.json)',
};
const JSON_OUT: OptionHelp = { flag: '--json', text: 'print JSON instead of text (default: text)' };
const QUIET_LOG: OptionHelp = { flag: '--log-level L', text: 'debug, info, warn or error: the upstreams’ logs on stderr (default: error)' };
const PROFILE: OptionHelp = { flag: '--profile NAME', text: 'only what that profile (gateway.profiles) shows (default: the whole catalog)' };

/** Every command and subcommand, by the words that name it. */
export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  serve: {
    usage: [
      'switchboard [serve] [--config F] [--host H] [--port P] [--log-level L]',
      'switchboard [serve] --stdio [--config F] [--profile NAME] [--log-level L]',
    ],
    summary:
      'Serves every configured server behind one MCP endpoint over HTTP (GET / lists the endpoints), or one client on stdin/stdout with --stdio. Runs until SIGINT or SIGTERM (with --stdio, also until stdin closes).',
    options: [
      CONFIG,
      { flag: '--host H', text: 'the address to listen on (default: gateway.listen.host, else 127.0.0.1)' },
      { flag: '--port P', text: 'the port to listen on; 0 picks a free one (default: gateway.listen.port, else 8080)' },
      { flag: '--log-level L', text: 'debug, info, warn or error (default: gateway.logLevel, else info)' },
      { flag: '--stdio', text: 'serve one client on stdin/stdout; stdout then carries nothing but protocol (default: HTTP)' },
      { flag: '--profile NAME', text: 'with --stdio: serve that profile’s view (default: the whole catalog)' },
    ],
    examples: ['switchboard --config switchboard.json', 'switchboard serve --port 9090 --log-level debug', 'switchboard --stdio --config ~/switchboard.json'],
    operands: 0,
  },
  validate: {
    usage: ['switchboard validate [--config F]'],
    summary:
      'Loads and checks the configuration, its policies and (with pinning on) its contract lock, and starts nothing. Exit 0 valid, 1 invalid (each problem with its file, JSON path and fix).',
    options: [CONFIG],
    examples: ['switchboard validate --config switchboard.json'],
    operands: 0,
  },
  catalog: {
    usage: ['switchboard catalog [--config F] [--json] [--profile NAME] [--log-level L]'],
    summary:
      'Connects to every upstream (waiting up to 15 s), prints the merged catalog (KIND SERVER EXPOSED ORIGINAL READ-ONLY-HINT), names on stderr the servers that did not connect and the tool names longer than 64 characters, then exits 0.',
    options: [CONFIG, JSON_OUT, PROFILE, QUIET_LOG],
    examples: ['switchboard catalog', 'switchboard catalog --json --config switchboard.json'],
    operands: 0,
  },
  bridge: {
    usage: ['switchboard bridge [--host H] [--port P] [--log-level L] -- <command> [args…]'],
    summary:
      'Serves one stdio MCP server over HTTP at /mcp with its names unchanged, without a config file or policies. Exits 1 at once, naming the command and the cause, if the command cannot start.',
    options: [
      { flag: '--host H', text: 'the address to listen on (default: 127.0.0.1)' },
      { flag: '--port P', text: 'the port to listen on; 0 picks a free one (default: 8081, beside serve’s 8080)' },
      { flag: '--log-level L', text: 'debug, info, warn or error (default: info)' },
    ],
    examples: ['switchboard bridge -- npx -y @modelcontextprotocol/server-memory', 'switchboard bridge --port 9000 -- node server.js --verbose'],
    operands: 0,
  },
  'policy test': {
    usage: ['switchboard policy test [--config F] [--min-coverage N]'],
    summary:
      'Runs every *.tests.yaml in the policy directory: one line per case, then "N passed, M failed". Exit 1 on a failed case, when there is none, or when coverage is below N %.',
    options: [
      CONFIG,
      {
        flag: '--min-coverage N',
        text: 'also connect to the upstreams and fail when fewer than N % (0–100) of the catalog’s entries are matched by a rule (default: not checked)',
      },
    ],
    examples: ['switchboard policy test', 'switchboard policy test --min-coverage 80'],
    operands: 0,
  },
  'policy coverage': {
    usage: ['switchboard policy coverage [--config F] [--json] [--log-level L] [AUDIT_FILE…]'],
    summary:
      'Connects to the upstreams and lists the entries no rule matches and the rules that never match or are shadowed; with audit files, the rules that never fired and the tools never called.',
    options: [CONFIG, JSON_OUT, QUIET_LOG],
    examples: ['switchboard policy coverage', 'switchboard policy coverage --json audit.log.1 audit.log'],
  },
  'policy explain': {
    usage: ['switchboard policy explain [--config F] --call server__tool [--principal P.json] [--args A.json]'],
    summary:
      'Decides one call as the gateway would (contract, arguments, policy, rate limits) and prints every rule looked at. It reads the tool names from the contract lock, else from the named server; a name that is not served is a usage error (exit 2) listing near matches.',
    options: [
      CONFIG,
      { flag: '--call NAME', text: 'the exposed tool name, <prefix><separator><tool> (required)' },
      { flag: '--principal F', text: 'a JSON file: {"kind": "apikey", "id": "ci-bot", "scopes": [], "groups": []} (default: anonymous)' },
      { flag: '--args F', text: 'a JSON file with the call’s arguments (default: {})' },
    ],
    examples: ['switchboard policy explain --call github__create_issue --principal bot.json --args issue.json'],
    operands: 0,
  },
  pin: {
    usage: [
      'switchboard pin [--config F] [--profile NAME] [--log-level L]',
      'switchboard pin --check [--json]',
      'switchboard pin diff',
      'switchboard pin approve <server>[__<name>]',
    ],
    summary:
      'Writes switchboard.lock (gateway.pinning.lock) from what the servers serve now; --check exits 1 listing each difference from the lock; diff prints a per-field diff; approve takes one server’s changes, or one entry, into the lock. A server that cannot be read keeps its entries and makes it exit 1.',
    options: [
      CONFIG,
      PROFILE,
      { flag: '--check', text: 'write nothing; exit 1 listing every difference from the lock, for CI (default: write the lock)' },
      { flag: '--json', text: 'with --check: the differences as JSON (default: text)' },
      QUIET_LOG,
    ],
    examples: ['switchboard pin', 'switchboard pin --check --json', 'switchboard pin approve github__create_issue'],
    operands: 2,
  },
  scan: {
    usage: ['switchboard scan [--config F] [--profile NAME] [--json] [--log-level L]'],
    summary: 'Runs the poisoning lint over every description and schema the servers serve. Exit 1 if a finding reaches gateway.scan.severity (default: high).',
    options: [CONFIG, PROFILE, JSON_OUT, QUIET_LOG],
    examples: ['switchboard scan', 'switchboard scan --json > findings.json'],
    operands: 0,
  },
  'audit verify': {
    usage: ['switchboard audit verify FILE… [--public-key PEM] [--json]'],
    summary: 'Checks the hash chain of audit files given oldest first. Exit 0 intact, 1 at the first broken link, 2 when a file or the key cannot be read.',
    options: [{ flag: '--public-key PEM', text: 'the Ed25519 public key of the signed checkpoints (default: signatures not checked)' }, JSON_OUT],
    examples: ['switchboard audit verify audit.log.20260101T000000.000Z audit.log --public-key audit-public.pem'],
  },
  'audit replay': {
    usage: ['switchboard audit replay --policies DIR [--config F] [--json] FILE…'],
    summary: 'Decides every request the audit files record again under the policy set in DIR and reports what would change. Exit 0 whatever it finds.',
    options: [{ flag: '--policies DIR', text: 'the candidate policy directory (required)' }, CONFIG, JSON_OUT],
    examples: ['switchboard audit replay --policies ./candidate audit.log'],
  },
  'hash-key': {
    usage: ['switchboard hash-key [KEY]'],
    summary:
      'Prints the SHA-256 of an API key for gateway.auth.apiKeys[].sha256. Without KEY it reads the key from stdin, which keeps it out of shell history.',
    options: [],
    examples: ['printf %s "$KEY" | switchboard hash-key'],
    operands: 1,
  },
  login: {
    usage: ['switchboard login <server> [--config F]'],
    summary:
      'One-time OAuth login (authorization code + PKCE) for a server with oauth: { clientId, callbackPort }: prints the URL to open, waits up to 5 min (SWITCHBOARD_LOGIN_TIMEOUT_MS) for the redirect, stores the tokens. Exit 0 signed in, 1 failed, 2 no such server or nothing to log in to.',
    options: [CONFIG],
    examples: ['switchboard login github'],
    operands: 1,
  },
  'credentials list': {
    usage: ['switchboard credentials list [--config F] [--principal P] [--json]'],
    summary: 'Users’ stored upstream credentials (gateway.credentials): principal, server, subject, when obtained, when it expires; never a token.',
    options: [
      CONFIG,
      { flag: '--principal P', text: 'only this principal id: apikey:<key id>, jwt:<issuer>#<sub> or stdio:<id> (default: everyone)' },
      JSON_OUT,
    ],
    examples: ['switchboard credentials list --principal apikey:ci-bot'],
    operands: 0,
  },
  'credentials revoke': {
    usage: ['switchboard credentials revoke --principal P --server S [--config F]'],
    summary: 'Deletes one stored credential. Exit 0 removed, 1 nothing to remove. Safe while a gateway runs on the same store.',
    options: [
      { flag: '--principal P', text: 'whose: apikey:<key id>, jwt:<issuer>#<sub> or stdio:<id> (required)' },
      { flag: '--server S', text: 'which server’s credential (required)' },
      CONFIG,
    ],
    examples: ['switchboard credentials revoke --principal jwt:https://idp.example.com#alice --server github'],
    operands: 0,
  },
};

/** Commands whose first operand names a subcommand with a help of its own. */
export const GROUPS: Readonly<Record<string, readonly string[]>> = {
  policy: ['test', 'coverage', 'explain'],
  audit: ['verify', 'replay'],
  credentials: ['list', 'revoke'],
};

export const COMMAND_NAMES = ['serve', 'validate', 'catalog', 'bridge', 'policy', 'pin', 'scan', 'audit', 'hash-key', 'login', 'credentials'] as const;

/** The helps a command word covers: its own, or each of its subcommands'. */
export function helpsOf(key: string): [string, CommandHelp][] {
  const own = COMMAND_HELP[key];
  if (own) return [[key, own]];
  return (GROUPS[key] ?? []).map((sub) => [`${key} ${sub}`, COMMAND_HELP[`${key} ${sub}`]!]);
}

/** The main usage text: `switchboard --help`. */
export const USAGE = `Usage:
${Object.values(COMMAND_HELP)
  .flatMap((h) => h.usage)
  .map((line) => `  ${line}`)
  .join('\n')}

Run 'switchboard <command> --help' (or 'switchboard help <command>') for what a command does, its options with
their defaults, and an example.
  -h, --help       this text
  -V, --version    the version
Config lookup: --config, then $SWITCHBOARD_CONFIG, then ./switchboard.json, ./switchboard.yaml, ./switchboard.yml, ./.mcp.json
Exit codes: 0 ok, 1 failed (an invalid configuration: each problem with its file, JSON path and fix), 2 usage error`;

/** A command's help (a group's: each subcommand's in turn); undefined for a word that names no command. */
export function helpText(key: string): string | undefined {
  const helps = helpsOf(key);
  if (helps.length === 0) return undefined;
  return helps.map(([, h]) => formatHelp(h)).join(`\n${'-'.repeat(40)}\n\n`);
}

function formatHelp(h: CommandHelp): string {
  const options = [...h.options, { flag: '-h, --help', text: 'this help' }];
  const width = Math.max(...options.map((o) => o.flag.length)) + 2;
  return [
    `Usage: ${h.usage.join('\n       ')}`,
    '',
    h.summary,
    '',
    'Options:',
    ...options.map((o) => `  ${o.flag.padEnd(width)}${o.text}`),
    '',
    h.examples.length === 1 ? 'Example:' : 'Examples:',
    ...h.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/**
 * A usage error as the user reads it: one line saying what is wrong, the
 * command's synopsis, and where its help is. `key` names the command (or
 * group); without one, the pointer is to the main help.
 */
export function usageErrorText(message: string, key?: string): string {
  const helps = key === undefined ? [] : helpsOf(key);
  if (helps.length === 0) return `switchboard: ${message}\nRun 'switchboard --help' for the commands and their options.\n`;
  const word = key!.split(' ')[0]!;
  // The whole command's synopsis (every subcommand's), so that a wrong subcommand shows the right ones.
  const lines = helpsOf(word).flatMap(([, h]) => h.usage);
  return `switchboard ${word}: ${message}\nUsage: ${lines.join('\n       ')}\nRun 'switchboard ${key} --help' for its options and an example.\n`;
}

/** The version in package.json, read at run time next to the build. */
export function packageVersion(): string {
  return packageInfo().version;
}
