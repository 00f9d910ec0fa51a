/**
 * From a file to the raw, substituted value that the schema validates:
 * reading it, strict JSON (a syntax error names line and column) or YAML by
 * its extension, then `${VAR}` substitution. Read and syntax failures are
 * `ConfigError`s for the whole file.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from '../core/errors.js';
import type { Report } from './issues.js';

type Env = Record<string, string | undefined>;

/** Reads `file` (absolute) and parses it: YAML if it ends in .yaml/.yml, else JSON. */
export function readRawConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const message = `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    throw new ConfigError([{ file, path: '', message, fix: 'check the path and its permissions' }]);
  }
  return /\.ya?ml$/i.test(file) ? parseYamlText(text, file) : parseJsonText(text, file);
}

export function parseYamlText(text: string, file: string): unknown {
  const fail = (message: string) => ({ file, path: '', message, fix: 'fix the YAML syntax' });
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const what = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return fail(`YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${what}`);
      }),
    );
  }
  try {
    return doc.toJS();
  } catch (err) {
    throw new ConfigError([fail(`YAML error: ${(err as Error).message}`)]);
  }
}

export function parseJsonText(text: string, file: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(body);
  } catch (err) {
    const offset = jsonErrorOffset(body);
    const before = body.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before[before.length - 1] ?? '').length + 1;
    // V8 may quote a snippet of the file: leave it out (it could hold a secret).
    const detail = (err as Error).message.replace(/( in JSON at position \d+|, ".*" is not valid JSON).*$/s, '');
    throw new ConfigError([
      {
        file,
        path: '',
        message: `JSON syntax error at line ${line}, column ${column}: ${detail}`,
        fix: 'fix the JSON syntax (JSON allows no comments and no trailing commas; use .yaml for those)',
      },
    ]);
  }
}

/** Offset of the first JSON syntax error (V8's messages do not always carry one). */
function jsonErrorOffset(s: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  };
  const str = () => {
    for (i++; ; ) {
      const c = s[i];
      if (c === undefined || c < ' ') fail();
      i++;
      if (c === '"') return;
      if (c === '\\') {
        if (s[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) i += 5;
        else if ('"\\/bfnrt'.includes(s[i] ?? 'x')) i++;
        else fail();
      }
    }
  };
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (s[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          if (s[i] !== '"') fail();
          str();
          ws();
          if (s[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (s[i] === close) return void i++;
        if (s[i] !== ',') fail();
        i++;
      }
    }
    if (c === '"') return str();
    for (const word of ['true', 'false', 'null']) if (s.startsWith(word, i)) return void (i += word.length);
    NUM.lastIndex = i;
    if (!NUM.test(s)) fail();
    i = NUM.lastIndex;
  };
  try {
    value();
    ws();
    return Math.min(i, s.length);
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/**
 * Expands `${VAR}`, `${VAR:-default}` (the default also when VAR is empty) and
 * VS Code's `${env:VAR}` in every string value (not in keys); `$${` is a
 * literal `${`. `predefined` names values that a bare `${NAME}` means before
 * the environment (VS Code's `${workspaceFolder}`); `${env:NAME}` is always
 * the environment. A value with a missing variable is reported and left as is;
 * VS Code's `${input:…}` (a prompt) and other `${kind:…}` references are
 * reported with what to write instead.
 */
export function substituteEnv(value: unknown, env: Env, report: Report, predefined: Env = {}, segs: PropertyKey[] = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, report, predefined, [...segs, i]));
  if (typeof value === 'object' && value !== null) {
    // fromEntries keeps a "__proto__" key an ordinary property.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, report, predefined, [...segs, k])]));
  }
  if (typeof value !== 'string' || !value.includes('${')) return value;
  let failed = false;
  const result = value.replace(/\$\$\{|\$\{([^}]*)(\}?)/g, (match, body: string | undefined, close: string) => {
    if (match === '$${') return '${';
    const ref = /^(env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body ?? '');
    if (!close || !ref) {
      failed = true;
      const vscode = close ? /^([A-Za-z]+):(.+)$/s.exec(body ?? '') : null;
      if (vscode && vscode[1] !== 'env') report(segs, ...editorReference(vscode[1]!, vscode[2]!));
      else report(segs, `malformed variable reference "${match}"`, 'write ${NAME} or ${NAME:-default}; $${ is a literal "${"');
      return match;
    }
    const [, prefix, name = '', fallback] = ref;
    const set = prefix === undefined && predefined[name] !== undefined ? predefined[name] : env[name];
    if (fallback !== undefined) return set ? set : fallback;
    if (set !== undefined) return set;
    failed = true;
    report(segs, `environment variable ${name} is not set`, `set ${name} or write \${${name}:-default}`);
    return match;
  });
  return failed ? value : result;
}

/** `${input:id}`, `${command:…}`, `${config:…}`: values only VS Code can supply. */
function editorReference(kind: string, id: string): [message: string, fix: string] {
  const name =
    id
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .toUpperCase() || 'NAME';
  const ref = `\${env:${/^[0-9]/.test(name) ? `_${name}` : name}}`;
  const envName = ref.slice(6, -1);
  if (kind === 'input')
    return [
      `"\${input:${id}}" is a VS Code input, a value VS Code prompts for; the gateway runs without VS Code and cannot prompt for input "${id}"`,
      `write ${ref} instead and set ${envName} in the gateway's environment`,
    ];
  return [`"\${${kind}:…}" is a VS Code variable the gateway cannot resolve`, `write ${ref} (an environment variable) or the value itself`];
}

/** `value` as YAML text (for files the gateway writes, such as the contract lock). */
export function toYamlText(value: unknown, header?: string): string {
  const text = YAML.stringify(value, { lineWidth: 0 });
  return header ? `${header.replace(/^/gm, '# ')}\n${text}` : text;
}
