/**
 * Structured JSON logs, one object per line, to stderr only: in stdio mode
 * stdout belongs to the protocol, so nothing here may ever write to it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr unless a test captures them. */
  write?: (line: string) => void;
  /** Human-readable lines instead of JSON (for a terminal). */
  pretty?: boolean;
}

/** Fields every line logged while handling one request carries (its request and session ids). */
const requestFields = new AsyncLocalStorage<LogFields>();

/** Runs `fn` so that whatever it logs, however deep, names the request it belongs to. */
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  return requestFields.run(fields, fn);
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = options.level ?? 'info';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[lvl] < rank[level]) return;
    const record = { time: new Date().toISOString(), level: lvl, msg, ...requestFields.getStore(), ...bound, ...fields };
    write(options.pretty ? prettyLine(record) : `${safeStringify(record)}\n`);
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({ write: () => {}, level: 'error' });

function prettyLine(record: Record<string, unknown>): string {
  const { time: _t, level, msg, ...rest } = record;
  const extra = Object.keys(rest).length > 0 ? ` ${safeStringify(rest)}` : '';
  return `[switchboard] ${String(level)}: ${String(msg)}${extra}\n`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { message: v.message, name: v.name } : v));
  } catch {
    return JSON.stringify({ msg: 'unserialisable log record' });
  }
}
