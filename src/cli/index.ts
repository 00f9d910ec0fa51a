/**
 * argv → the command it names, and exit codes: 0 ok, 1 configuration (a
 * `ConfigError`, printed with its file, path and fix), 2 usage. Everything the
 * user reads goes to stderr, except a command's output (catalog, policy,
 * hash-key, credentials list), so that in `--stdio` mode stdout carries
 * nothing but protocol. Each command is a file of commands/.
 */
import { ConfigError } from '../core/errors.js';
import { parseArgs, type ParsedArgs } from './args.js';
import { USAGE } from './usage.js';

/** `argv` is the whole command line, for a command that parses its own. */
type Command = (args: ParsedArgs, argv: string[]) => number | Promise<number>;

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
  // Its own flags (e.g. --server), so it reads the words after its name itself.
  [
    'credentials',
    async () => {
      const { credentialsCommand } = await import('./commands/credentials.js');
      return (_args, argv) => credentialsCommand(argv.slice(1));
    },
  ],
]);

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
  const load = COMMANDS.get(args.command);
  if (!load) {
    process.stderr.write(`switchboard: unknown command '${args.command}'\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const command = await load();
    return await command(args, argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: invalid configuration\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
