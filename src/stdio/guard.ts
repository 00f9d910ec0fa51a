/**
 * What the stdio front reads before the SDK's transport does: one JSON-RPC
 * message per line passes; anything else is answered here, as the HTTP front
 * answers it, instead of being dropped without a word (the SDK's reader
 * reports a bad line to `onerror` and moves on, leaving the client waiting):
 * a line that is not JSON gets -32700, a batch or a value that is not a
 * JSON-RPC message gets -32600, and a line longer than the message bound is
 * discarded with -32600 without being buffered.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { JsonRpc } from '../core/errors.js';
import { isJsonRpcMessage, MAX_MESSAGE_CHARS } from '../core/json-rpc.js';

type Answer = (error: { code: number; message: string }, id: string | number | null) => void;

export function guardStdin(answer: Answer, maxLineBytes = MAX_MESSAGE_CHARS): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let discarding = false;

  const finishLine = (push: (chunk: Buffer) => void, tail: Buffer) => {
    const line = Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    if (discarding) {
      discarding = false;
      return;
    }
    const verdict = checkLine(line.toString('utf8'));
    if (verdict === 'pass') push(Buffer.concat([line, NEWLINE]));
    else if (verdict !== 'skip') answer(verdict.error, verdict.id);
  };

  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        finishLine((c) => this.push(c), chunk.subarray(start, nl));
        start = nl + 1;
      }
      const rest = chunk.subarray(start);
      if (!discarding && pendingBytes + rest.length > maxLineBytes) {
        // Too long to be a message: stop buffering it, say so once, and skip to its end.
        discarding = true;
        pending = [];
        pendingBytes = 0;
        answer({ code: JsonRpc.INVALID_REQUEST, message: `Invalid Request: message longer than ${maxLineBytes} bytes` }, null);
      }
      if (!discarding && rest.length > 0) {
        pending.push(rest);
        pendingBytes += rest.length;
      }
      done();
    },
  });
}

const NEWLINE = Buffer.from('\n');

type Verdict = 'pass' | 'skip' | { error: { code: number; message: string }; id: string | number | null };

/** Whether one line is a single JSON-RPC message; if not, the error to answer with. */
export function checkLine(text: string): Verdict {
  const line = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (line.trim() === '') return 'skip';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: { code: JsonRpc.PARSE_ERROR, message: 'Parse error' }, id: null };
  }
  if (Array.isArray(value)) return { error: { code: JsonRpc.INVALID_REQUEST, message: 'Invalid Request: batches are not supported' }, id: null };
  if (isJsonRpcMessage(value)) return 'pass';
  return { error: { code: JsonRpc.INVALID_REQUEST, message: 'Invalid Request: not a JSON-RPC 2.0 message' }, id: idOf(value) };
}

function idOf(value: unknown): string | number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || Number.isSafeInteger(id) ? (id as string | number) : null;
}
