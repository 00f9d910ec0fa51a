/**
 * Where audit lines go: stderr, or a file (0600, appended) that rotates by
 * size or age. A rotated file is renamed `<file>.<UTC time>` and the chain
 * simply continues in the new file; the oldest rotated files beyond `keep`
 * are deleted. Each target says how much it holds unwritten, so the sink can
 * tell when it falls behind.
 */
import { closeSync, createWriteStream, existsSync, fstatSync, openSync, readdirSync, renameSync, unlinkSync, writeSync, type WriteStream } from 'node:fs';
import path from 'node:path';

export interface Target {
  /** False when the text was known not to be written (the target is failing); true once handed on. */
  write(text: string): boolean;
  /** Bytes accepted but not yet handed to the OS. */
  pending(): number;
  /** The class of the last write error (never its message), while the target cannot write. */
  failure(): string | undefined;
  close(): Promise<void>;
}

export interface Rotation {
  maxBytes?: number;
  maxAgeMs?: number;
  /** Rotated files kept (the oldest beyond it are deleted). */
  keep: number;
}

export function stderrTarget(): Target {
  return {
    write: (text) => {
      process.stderr.write(text);
      return true;
    },
    pending: () => process.stderr.writableLength ?? 0,
    failure: () => undefined,
    close: async () => {},
  };
}

export function fileTarget(file: string, rotation?: Rotation, now: () => number = Date.now): Target {
  let stream: WriteStream | undefined;
  let bytes = 0;
  let openedAt = 0;
  let error: string | undefined;
  const closing: Promise<void>[] = [];

  const open = () => {
    // Opened synchronously, so the file exists at once: a rotation right after cannot miss it.
    const fd = openSync(file, 'a', 0o600);
    bytes = fstatSync(fd).size;
    openedAt = now();
    stream = streamOn(fd);
    return stream;
  };
  function streamOn(fd: number): WriteStream {
    const s = createWriteStream(file, { fd, flags: 'a' });
    s.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? 'write-error';
      if (stream === s) stream = undefined;
    });
    return s;
  }
  /**
   * After a failed write, each batch is tried synchronously on a fresh handle:
   * the sink then knows whether it was written (and rolls the chain back if
   * not) instead of losing it in a stream that fails later.
   */
  const writeAfterFailure = (text: string): boolean => {
    stream?.destroy();
    stream = undefined;
    const fd = openSync(file, 'a', 0o600);
    try {
      writeSync(fd, text);
    } catch (err) {
      closeSync(fd);
      error = (err as NodeJS.ErrnoException).code ?? 'write-error';
      return false;
    }
    error = undefined;
    bytes = fstatSync(fd).size;
    openedAt = now();
    stream = streamOn(fd);
    return true;
  };
  const due = (next: number) =>
    rotation !== undefined &&
    bytes > 0 &&
    ((rotation.maxBytes !== undefined && bytes + next > rotation.maxBytes) || (rotation.maxAgeMs !== undefined && now() - openedAt >= rotation.maxAgeMs));
  const rotate = () => {
    const old = stream;
    stream = undefined;
    // Renaming an open file is safe: what the old stream still holds lands in the renamed file.
    renameSync(file, rotatedName(file, now()));
    if (old) closing.push(new Promise((resolve) => old.end(resolve)));
    prune(file, rotation!.keep);
  };

  return {
    write(text) {
      try {
        const size = Buffer.byteLength(text);
        if (stream && due(size)) rotate();
        if (error !== undefined) return writeAfterFailure(text);
        (stream ?? open()).write(text);
        bytes += size;
        return true;
      } catch (err) {
        error = (err as NodeJS.ErrnoException).code ?? 'write-error';
        return false;
      }
    },
    pending: () => stream?.writableLength ?? 0,
    failure: () => error,
    async close() {
      await Promise.all(closing);
      await new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve()));
    },
  };
}

/** `<file>.<UTC time>`: rotated names sort by time, so `audit verify audit.log.* audit.log` reads them in order. */
function rotatedName(file: string, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '');
  let name = `${file}.${stamp}`;
  for (let i = 1; existsSync(name); i++) name = `${file}.${stamp}-${i}`;
  return name;
}

function prune(file: string, keep: number): void {
  const dir = path.dirname(file);
  const base = `${path.basename(file)}.`;
  const rotated = readdirSync(dir)
    .filter((name) => name.startsWith(base) && /^\d{8}T\d{6}\.\d{3}Z(-\d+)?$/.test(name.slice(base.length)))
    .sort();
  for (const name of rotated.slice(0, Math.max(0, rotated.length - keep))) unlinkSync(path.join(dir, name));
}
