/**
 * The main command line: a command word, `--flag value` / `--flag=value` /
 * boolean flags, and everything after `--` kept verbatim (the bridged
 * command). Tokenized by node:util's parseArgs (argv.ts); which flags exist
 * and the messages for wrong ones are here.
 */
import { tokenize, type ArgvToken } from './argv.js';

/** Words whose flags are read here; any other word is left to its command (`credentials`) or is unknown. */
const COMMANDS = new Set(['serve', 'validate', 'catalog', 'bridge', 'policy', 'hash-key', 'login', 'pin', 'scan', 'audit']);
const BOOLEAN = new Set(['stdio', 'json', 'help', 'check']);
const VALUED = ['config', 'host', 'port', 'log-level', 'profile', 'principal', 'call', 'args', 'policies', 'min-coverage', 'public-key'];
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

export interface ParsedArgs {
  command: string;
  positionals: string[];
  flags: {
    config?: string;
    host?: string;
    port?: string;
    'log-level'?: string;
    stdio?: boolean;
    json?: boolean;
    help?: boolean;
    [key: string]: string | boolean | undefined;
  };
  /** Everything after `--`. */
  rest: string[];
}

/** Throws an Error whose message is the usage error to print. */
export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { command: 'serve', positionals: [], flags: {}, rest: [] };
  let start = 0;
  if (argv[0] && !argv[0].startsWith('-')) {
    parsed.command = argv[0];
    if (!COMMANDS.has(parsed.command)) return parsed;
    start = 1;
  }
  for (const token of tokenize(argv.slice(start), VALUED)) {
    if (token.kind === 'terminator') parsed.rest = token.rest;
    else if (token.kind === 'positional') parsed.positionals.push(token.value);
    else readFlag(parsed.flags, token);
  }
  checkValues(parsed.flags);
  return parsed;
}

function readFlag(flags: ParsedArgs['flags'], { name, value }: Extract<ArgvToken, { kind: 'option' }>): void {
  if (BOOLEAN.has(name)) flags[name] = true;
  else if (VALUED.includes(name)) {
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags[name] = value;
  } else throw new Error(`unknown option --${name}`);
}

/** Values checked here so that a typo is a usage error (exit 2), not a failure later. */
function checkValues(flags: ParsedArgs['flags']): void {
  const level = flags['log-level'];
  if (level !== undefined && !LOG_LEVELS.includes(level)) {
    throw new Error(`--log-level must be one of debug, info, warn, error (got '${level}')`);
  }
  const port = flags.port;
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new Error(`--port must be a number (got '${port}')`);
}
