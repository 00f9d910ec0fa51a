/**
 * Splitting a command line into options, positionals and what follows `--`,
 * with node:util's parseArgs doing the tokenizing (non-strict: its own error
 * messages are not ours). Which options exist and what is an error are each
 * command line's own rules: args.ts for the main one, and `credentials`, which
 * words its errors its own way.
 */
import { parseArgs } from 'node:util';

export type ArgvToken =
  | { kind: 'option'; name: string; value: string | undefined; inline: boolean }
  | { kind: 'positional'; value: string }
  /** `--`: the arguments after it, verbatim. Always the last token. */
  | { kind: 'terminator'; rest: string[] };

const SHORT: Readonly<Record<string, string>> = { '-h': 'help', '-V': 'version' };

type ParsedToken = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * The tokens of `argv`, in order. An option named in `valued` takes the next
 * argument as its value, whatever it looks like, unless written `--name=value`.
 * `-h` is the option "help" and `-V` the option "version"; any other argument
 * starting with a single "-" (`-x`, `-5`, `-abc`) is a positional, as it always was.
 */
export function tokenize(argv: readonly string[], valued: readonly string[]): ArgvToken[] {
  const options = Object.fromEntries(valued.map((name) => [name, { type: 'string' as const }]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out: ArgvToken[] = [];
  const shortSeen = new Set<number>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      out.push({ kind: 'terminator', rest: argv.slice(token.index + 1) });
      break;
    }
    if (token.kind === 'positional') out.push({ kind: 'positional', value: token.value });
    else if (token.rawName.startsWith('--')) out.push(longOption(token));
    // A group such as -abc is one token per letter, all with the argument's index: keep the argument once.
    else if (!shortSeen.has(token.index)) {
      shortSeen.add(token.index);
      const arg = argv[token.index]!;
      const short = SHORT[arg];
      out.push(short ? { kind: 'option', name: short, value: undefined, inline: false } : { kind: 'positional', value: arg });
    }
  }
  return out;
}

function longOption(token: Extract<ParsedToken, { kind: 'option' }>): ArgvToken {
  // parseArgs reads "--=x" as an option named "=x"; it is an option with no name and the value "x".
  if (token.name.startsWith('=')) return { kind: 'option', name: '', value: token.name.slice(1), inline: true };
  return { kind: 'option', name: token.name, value: token.value, inline: token.inlineValue === true };
}
