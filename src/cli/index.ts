/**
 * argv → the command it names, and exit codes: 0 ok, 1 failed (a
 * `ConfigError`, printed with its file, path and fix), 2 usage (a
 * `UsageError`: one line, the command's synopsis and where its help is).
 * `--help`, `help <command>` and `--version` print to stdout. Everything else
 * the user reads goes to stderr, except a command's output (catalog, policy,
 * hash-key, credentials list), so that in `--stdio` mode stdout carries
 * nothing but protocol. Each command is a file of commands/.
 */
import { ConfigError } from '../core/errors.js';
import { commandKey, parseArgs, UsageError, type ParsedArgs } from './args.js';
import { helpText, packageVersion, USAGE, usageErrorText } from './usage.js';

type Command = (args: ParsedArgs) => number | Promise<number>;

/**
 * Each command's module is loaded when it runs: `--help`, `hash-key` or
 * `credentials` need not load the whole gateway (it took over a second).
 */
const COMMANDS = new Map<string, () => Promise<Command>>([
  ['serve', async () => (await import('./commands/serve.js')).serveCommand],
  ['validate', async () => (await import('./commands/validate.js')).validateCommand],
  ['catalog', async () => (await import('./commands/catalog.js')).catalogCommand],
  ['bridge', async () => (await import('./commands/bridge.js')).bridgeCommand],
  ['hash-key', async () => (await import('./commands/hash-key.js')).hashKeyCommand],
  ['policy', async () => (await import('./commands/policy.js')).policyCommand],
  ['pin', async () => (await import('./commands/pin.js')).pinCommand],
  ['scan', async () => (await import('./commands/scan.js')).scanCommand],
  ['audit', async () => (await import('./commands/audit.js')).auditCommand],
  ['login', async () => (await import('./commands/login.js')).loginCommand],
  ['credentials', async () => (await import('./commands/credentials.js')).credentialsCommand],
]);

export async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.flags.version) return say(`${packageVersion()}\n`);
    if (args.command === 'help') return help(args.positionals.join(' '));
    // `switchboard --help` (no command word) is the main help, not serve's.
    if (args.flags.help) return help(argv[0] === undefined || argv[0].startsWith('-') ? '' : COMMANDS.has(args.command) ? commandKey(args) : args.command);
    const command = await COMMANDS.get(args.command)!();
    return await command(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(usageErrorText(err.message, err.key));
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: invalid configuration\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `switchboard help [command [subcommand]]`, `switchboard <command> --help`. */
function help(key: string): number {
  if (key === '') return say(`${USAGE}\n`);
  const text = helpText(key);
  if (text === undefined) throw new UsageError(`no command '${key}' to explain`);
  return say(text);
}

function say(text: string): number {
  process.stdout.write(text);
  return 0;
}
