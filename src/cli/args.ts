/**
 * A small argv parser: a command word, `--flag value` / `--flag=value` /
 * boolean flags, and everything after `--` kept verbatim (the bridged
 * command). Ten lines of parsing do not earn a dependency.
 */
const COMMANDS = new Set(['serve', 'validate', 'catalog', 'bridge', 'policy', 'hash-key', 'login']);
const BOOLEAN = new Set(['stdio', 'json', 'help']);
const VALUED = new Set(['config', 'host', 'port', 'log-level', 'profile', 'principal', 'call', 'args']);

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

export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { command: 'serve', positionals: [], flags: {}, rest: [] };
  let i = 0;
  if (argv[0] && !argv[0].startsWith('-')) {
    parsed.command = argv[0];
    if (!COMMANDS.has(parsed.command)) return parsed;
    i = 1;
  }
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      parsed.rest = argv.slice(i + 1);
      break;
    }
    if (arg === '-h') {
      parsed.flags.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      parsed.positionals.push(arg);
      continue;
    }
    const [name, inline] = splitFlag(arg.slice(2));
    if (BOOLEAN.has(name)) parsed.flags[name] = true;
    else if (VALUED.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      parsed.flags[name] = value;
    } else throw new Error(`unknown option --${name}`);
  }
  const level = parsed.flags['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new Error(`--log-level must be one of debug, info, warn, error (got '${level}')`);
  }
  const port = parsed.flags.port;
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new Error(`--port must be a number (got '${port}')`);
  return parsed;
}

function splitFlag(flag: string): [string, string | undefined] {
  const eq = flag.indexOf('=');
  return eq === -1 ? [flag, undefined] : [flag.slice(0, eq), flag.slice(eq + 1)];
}
