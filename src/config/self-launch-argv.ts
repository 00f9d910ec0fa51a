/**
 * Whether a command line runs Switchboard, and with which arguments: the
 * spellings a client config uses to start it. `switchboard …` (a bin on the
 * PATH or a path to it), `npx [-y] switchboard[@v] …`, `npx -p switchboard
 * switchboard …`, `npx @scope/switchboard …`, `bunx`/`pnpx`, `npm|pnpm|yarn
 * exec|dlx|x …`, `node [node options] <…/bin/switchboard.js> …`, and any of
 * these behind `sh|bash -c "…"`, `cmd /c …` or `env [VAR=x] …`.
 */
import path from 'node:path';
import { realpathSync } from 'node:fs';

const MAX_DEPTH = 4;
/** Node options that take the next argument as their value. */
const NODE_VALUED = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--env-file',
  '--title',
  '--input-type',
]);
/** Node options after which no script runs. */
const NODE_NO_SCRIPT = new Set(['-e', '--eval', '-p', '--print', '-i', '--interactive', '-c', '--check', '-v', '--version', '-h', '--help', '--test']);
/** npm options that take the next argument as their value. */
const NPM_VALUED = new Set(['--cache', '--registry', '--userconfig', '--prefix', '-w', '--workspace', '--loglevel', '--shell', '--script-shell']);

const real = (file: string): string => {
  try {
    return realpathSync.native(file);
  } catch {
    return path.resolve(file);
  }
};

/** The executable's name without folder and Windows extension, lower case. */
const exe = (command: string): string =>
  path
    .basename(command.replace(/\\/g, '/'))
    .toLowerCase()
    .replace(/\.(cmd|exe|bat|ps1)$/, '');

/** Switchboard's own argv if `command args` (run in `cwd`) starts Switchboard, else undefined. */
export function selfLaunchArgv(command: string, args: readonly string[], cwd: string, ownBin: string, depth = 0): string[] | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const name = exe(command);
  const again = (words: readonly string[]) => (words[0] === undefined ? undefined : selfLaunchArgv(words[0], words.slice(1), cwd, ownBin, depth + 1));
  if (name === 'switchboard' || name === 'switchboard.js' || isSwitchboardScript(command, cwd, ownBin)) return [...args];
  if (name === 'node' || name === 'nodejs' || command === process.execPath) return afterNodeScript(args, cwd, ownBin);
  if (name === 'npx' || name === 'bunx' || name === 'pnpx') return afterPackage(args);
  if (name === 'npm' || name === 'pnpm' || name === 'yarn' || name === 'bun') {
    const i = args.findIndex((a) => !a.startsWith('-'));
    return ['exec', 'x', 'dlx'].includes(args[i] ?? '') ? afterPackage(args.slice(i + 1)) : undefined;
  }
  if (['sh', 'bash', 'zsh', 'dash', 'ksh'].includes(name)) {
    const i = args.findIndex((a) => /^-[a-z]*c[a-z]*$/.test(a));
    return i < 0 || args[i + 1] === undefined ? undefined : again(shellWords(args[i + 1]!));
  }
  if (name === 'cmd') {
    const i = args.findIndex((a) => /^\/[ck]$/i.test(a));
    if (i < 0) return undefined;
    const rest = args.slice(i + 1);
    return again(rest.length === 1 ? shellWords(rest[0]!) : rest);
  }
  if (name === 'env') {
    let i = 0;
    while (i < args.length && (args[i]!.startsWith('-') || args[i]!.includes('='))) i += args[i] === '-u' || args[i] === '--unset' ? 2 : 1;
    return again(args.slice(i));
  }
  return undefined;
}

/** A script (against `cwd`) that is a Switchboard bin: this installation's, a `bin/switchboard.js` or a `switchboard` bin link. */
function isSwitchboardScript(script: string, cwd: string, ownBin: string): boolean {
  const abs = path.resolve(cwd, script);
  return /[\\/]\.?bin[\\/]switchboard(\.js|\.cmd|\.ps1)?$/i.test(abs) || real(abs) === real(ownBin);
}

function afterNodeScript(args: readonly string[], cwd: string, ownBin: string): string[] | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1] !== undefined && isSwitchboardScript(args[i + 1]!, cwd, ownBin) ? args.slice(i + 2) : undefined;
    if (NODE_NO_SCRIPT.has(a)) return undefined;
    if (NODE_VALUED.has(a)) i++;
    else if (!a.startsWith('-')) return isSwitchboardScript(a, cwd, ownBin) ? args.slice(i + 1) : undefined;
  }
  return undefined;
}

/** `npx`'s arguments: options, then a package (or, after -p, a bin name), then its arguments. */
function afterPackage(args: readonly string[]): string[] | undefined {
  let packages = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') continue;
    if (a === '-p' || a === '--package') {
      packages++;
      i++;
    } else if (a.startsWith('--package=')) packages++;
    else if (a === '-c' || a === '--call') {
      const words = shellWords(args[i + 1] ?? '');
      return words[0] === 'switchboard' ? words.slice(1) : undefined;
    } else if (NPM_VALUED.has(a)) i++;
    else if (!a.startsWith('-')) {
      const name = packages > 0 ? a : packageName(a);
      if (name !== 'switchboard') return undefined;
      const rest = args.slice(i + 1);
      return rest[0] === '--' ? rest.slice(1) : rest;
    }
  }
  return undefined;
}

/** `switchboard`, `switchboard@1.2`, `@acme/switchboard@latest` → the name without scope and version. */
function packageName(spec: string): string {
  const unscoped = spec.startsWith('@') ? spec.slice(spec.indexOf('/') + 1) : spec;
  return unscoped.split('@')[0]!;
}

/** A shell command line split into words: whitespace separates, single and double quotes group, `\` escapes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < line.length) word = (word ?? '') + line[++i]!;
    else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === ';' || c === '&' || c === '|') break;
    else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  if (words[0] === 'exec') words.shift();
  return words;
}
