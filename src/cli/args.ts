/**
 * The command line: a command word (and a subcommand's), `--flag value` /
 * `--flag=value` / boolean flags, operands, and everything after `--` kept
 * verbatim for the bridged command (for any other command, what follows `--`
 * is operands). Tokenized by node:util's parseArgs (argv.ts). Which options a
 * command takes comes from its help (usage.ts); the messages for wrong ones
 * are here. `-h`/`--help` and `-V`/`--version` win over anything else.
 */
import { tokenize, type ArgvToken } from './argv.js';
import { COMMAND_HELP, COMMAND_NAMES, GROUPS, helpsOf } from './usage.js';

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
    version?: boolean;
    [key: string]: string | boolean | undefined;
  };
  /** Everything after `--` (bridge only). */
  rest: string[];
}

/** A mistake on the command line (exit 2). `key` names the command it is about, for the synopsis and the help pointer. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** Option name → whether it takes a value, for the options `key`'s help lists (a group: all of its subcommands'). */
function optionsOf(key: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const [, help] of helpsOf(key)) {
    for (const o of help.options) {
      const m = /^--([a-z-]+)( \S)?/.exec(o.flag);
      if (m) out.set(m[1]!, m[2] !== undefined);
    }
  }
  return out;
}

const ALL_OPTIONS = new Map(Object.keys(COMMAND_HELP).flatMap((key) => [...optionsOf(key)]));
const VALUED = [...ALL_OPTIONS].filter(([, valued]) => valued).map(([name]) => name);

/** Throws a UsageError whose message is the one line to print. */
export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { command: 'serve', positionals: [], flags: {}, rest: [] };
  let start = 0;
  if (argv[0] !== undefined && !argv[0].startsWith('-')) {
    parsed.command = argv[0];
    start = 1;
  }
  const options: Extract<ArgvToken, { kind: 'option' }>[] = [];
  for (const token of tokenize(argv.slice(start), VALUED)) {
    if (token.kind === 'terminator') parsed.rest = token.rest;
    else if (token.kind === 'positional') parsed.positionals.push(token.value);
    else options.push(token);
  }
  for (const global of ['help', 'version'] as const) {
    if (options.some((o) => o.name === global)) {
      parsed.flags[global] = true;
      return parsed;
    }
  }
  if (parsed.command === 'help') return parsed;
  if (!(COMMAND_NAMES as readonly string[]).includes(parsed.command)) {
    throw new UsageError(`unknown command '${parsed.command}'${didYouMean(parsed.command, COMMAND_NAMES, "'")}`);
  }
  const key = commandKey(parsed);
  if (parsed.command !== 'bridge') {
    parsed.positionals.push(...parsed.rest);
    parsed.rest = [];
  }
  const accepted = optionsOf(key);
  for (const option of options) readFlag(parsed.flags, option, accepted, key);
  checkOperands(parsed, key);
  checkValues(parsed.flags, key);
  return parsed;
}

/** `policy explain`, `audit verify`, …: the command and, for a group, its subcommand when it names one. */
export function commandKey(args: Pick<ParsedArgs, 'command' | 'positionals'>): string {
  const sub = args.positionals[0];
  return sub !== undefined && GROUPS[args.command]?.includes(sub) ? `${args.command} ${sub}` : args.command;
}

function readFlag(
  flags: ParsedArgs['flags'],
  { name, value, inline }: Extract<ArgvToken, { kind: 'option' }>,
  accepted: Map<string, boolean>,
  key: string,
): void {
  const valued = accepted.get(name);
  if (valued === undefined) {
    if (name === '') throw new UsageError(`unknown option --${inline ? `=${value}` : ''}`, key);
    const elsewhere = ALL_OPTIONS.has(name) ? ` (${key} does not take it)` : didYouMean(name, [...accepted.keys()], '--');
    throw new UsageError(`unknown option --${name}${elsewhere}`, key);
  }
  if (!valued) {
    if (inline) throw new UsageError(`--${name} takes no value`, key);
    flags[name] = true;
  } else {
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`, key);
    flags[name] = value;
  }
}

function checkOperands(parsed: ParsedArgs, key: string): void {
  const max = COMMAND_HELP[key]?.operands;
  if (max === undefined) return;
  const operands = key.includes(' ') ? parsed.positionals.slice(1) : parsed.positionals;
  if (operands.length <= max) return;
  const hint = key === 'bridge' ? ' (the command to bridge goes after --)' : '';
  throw new UsageError(`unexpected argument '${operands[max]}'${hint}`, key);
}

/** Values checked here so that a typo is a usage error (exit 2), not a failure later. */
function checkValues(flags: ParsedArgs['flags'], key: string): void {
  const level = flags['log-level'];
  if (level !== undefined && !LOG_LEVELS.includes(level)) {
    throw new UsageError(`--log-level must be one of debug, info, warn, error (got '${level}')`, key);
  }
  const port = flags.port;
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) <= 65535))
    throw new UsageError(`--port must be a number from 0 to 65535 (got '${port}')`, key);
}

function didYouMean(word: string, candidates: readonly string[], mark: string): string {
  const [best] = nearest(word, candidates, 1);
  if (best === undefined) return '';
  return mark === "'" ? ` (did you mean '${best}'?)` : ` (did you mean ${mark}${best}?)`;
}

/**
 * The candidates closest to `word` (edit distance, a swap of two neighbours
 * counting one), closest first: those within a third of its length (at least
 * 2), and those that contain it or that it contains.
 */
export function nearest(word: string, candidates: Iterable<string>, max = 5): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.floor(w.length / 3));
  return [...new Set(candidates)]
    .map((candidate) => ({ candidate, d: distance(w, candidate.toLowerCase()) }))
    .filter(({ candidate, d }) => d <= limit || (w.length >= 3 && (candidate.toLowerCase().includes(w) || w.includes(candidate.toLowerCase()))))
    .sort((a, b) => a.d - b.d || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map(({ candidate }) => candidate);
}

/** Optimal string alignment distance. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
