/**
 * argv → the command it names, and exit codes: 0 ok, 1 configuration (a
 * `ConfigError`, printed with its file, path and fix), 2 usage. Everything the
 * user reads goes to stderr, except a command's output (catalog, policy,
 * hash-key, credentials list), so that in `--stdio` mode stdout carries
 * nothing but protocol. Each command is a file of commands/.
 */
import { ConfigError } from '../core/errors.js';
import { parseArgs, type ParsedArgs } from './args.js';
import { auditCommand } from './commands/audit.js';
import { bridgeCommand } from './commands/bridge.js';
import { catalogCommand } from './commands/catalog.js';
import { credentialsCommand } from './commands/credentials.js';
import { hashKeyCommand } from './commands/hash-key.js';
import { loginCommand } from './commands/login.js';
import { pinCommand } from './commands/pin.js';
import { policyCommand } from './commands/policy.js';
import { scanCommand } from './commands/scan.js';
import { serveCommand } from './commands/serve.js';
import { validateCommand } from './commands/validate.js';
import { USAGE } from './usage.js';

/** `argv` is the whole command line, for a command that parses its own. */
type Command = (args: ParsedArgs, argv: string[]) => number | Promise<number>;

const COMMANDS = new Map<string, Command>([
  ['serve', serveCommand],
  ['validate', validateCommand],
  ['catalog', catalogCommand],
  ['bridge', bridgeCommand],
  ['hash-key', hashKeyCommand],
  ['policy', policyCommand],
  ['pin', pinCommand],
  ['scan', scanCommand],
  ['audit', auditCommand],
  ['login', loginCommand],
  // Its own flags (e.g. --server), so it reads the words after its name itself.
  ['credentials', (_args, argv) => credentialsCommand(argv.slice(1))],
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
  const command = COMMANDS.get(args.command);
  if (!command) {
    process.stderr.write(`switchboard: unknown command '${args.command}'\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command(args, argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`switchboard: invalid configuration\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
