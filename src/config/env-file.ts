/**
 * A server's `envFile` (VS Code, Cursor): a dotenv file whose variables go
 * into that server's environment, below its explicit `env`. `KEY=VALUE` lines,
 * `#` comments, an optional `export `, values in single quotes (literal) or
 * double quotes (`\n` escapes, may span lines). No `${VAR}` expansion inside the
 * file, as in VS Code. A line that is none of these is an issue naming its
 * number (never its text: it may hold a secret).
 */
import { readFileSync } from 'node:fs';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

export type EnvFileResult = { env: Record<string, string> } | { error: string };

/** Reads and parses `file` (absolute). */
export function readEnvFile(file: string): EnvFileResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  return parseEnvText(text.replace(/^\uFEFF/, ''), file);
}

export function parseEnvText(text: string, file = 'the env file'): EnvFileResult {
  const lines = text.split(/\r?\n/);
  const env: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const m = LINE.exec(line);
    if (!m) return { error: `line ${i + 1} of ${file} is not KEY=VALUE` };
    const [, key = '', rest = ''] = m;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const start = i + 1;
      // The value runs to the matching quote, on this line or (double quotes) a later one.
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && quote === '"' && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        end = closingQuote(body, quote);
      }
      if (end < 0) return { error: `line ${start} of ${file} has an unclosed ${quote === '"' ? 'double' : 'single'} quote` };
      const tail = body.slice(end + 1);
      if (!/^\s*(#.*)?$/.test(tail)) return { error: `line ${i + 1} of ${file} has text after the closing quote` };
      const raw = body.slice(0, end);
      env[key] = quote === '"' ? raw.replace(/\\([nrt"\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c) : raw;
    } else {
      env[key] = rest.replace(/\s+#.*$/, '').trim();
    }
  }
  return { env };
}

/** Index of the quote that closes `body` (a backslash escapes one inside double quotes), or -1. */
function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}
