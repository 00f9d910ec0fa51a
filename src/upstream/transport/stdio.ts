/**
 * stdio transport to a local upstream server. Unlike the SDK's transport it
 * spawns the child in its own process group and kills the whole group on
 * close, so an `npx …` or shell wrapper can never leave the real server
 * running as an orphan. It also keeps the last lines of the child's stderr so
 * that a server which fails to start can be reported with its own words; the
 * lines are cut at a bounded length (stderr-lines.ts), whatever the child writes.
 * Each child learns which gateway config runs it (SWITCHBOARD_PARENT_CONFIG,
 * config/self-launch.ts), so a gateway started by a gateway on its own config refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ReadBuffer, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { StdioServerSpec } from '../../config/schema/index.js';
import { PARENT_CONFIG_ENV, childParentConfig } from '../../config/self-launch.js';
import { MAX_MESSAGE_CHARS } from '../../core/json-rpc.js';
import { StderrLines } from './stderr-lines.js';

const STDERR_TAIL_LINES = 20;
const GRACE_MS = 2_000;

export interface StdioTransportOptions {
  spec: StdioServerSpec;
  /** Called with each line the child writes to stderr (`\r` ends a line too; long lines are cut). */
  onStderr?: (line: string) => void;
  /** Called when a stderr line is cut at its bounded length. */
  onStderrTruncated?: () => void;
  maxMessageBytes?: number;
}

export class StdioUpstreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child?: ChildProcess;
  private readonly buffer: ReadBuffer;
  private readonly stderrTail: string[] = [];
  private readonly stderrLines: StderrLines;
  private closed = false;
  private exited?: Promise<void>;

  constructor(private readonly options: StdioTransportOptions) {
    this.buffer = new ReadBuffer({ maxBufferSize: options.maxMessageBytes ?? MAX_MESSAGE_CHARS });
    this.stderrLines = new StderrLines((line) => this.stderrLine(line), options.onStderrTruncated);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the child wrote to stderr, for error reports. */
  get recentStderr(): string {
    return this.stderrTail.join('\n');
  }

  /** How much of an unfinished stderr line is held (bounded), and how many lines were cut. */
  get stderrState(): { partialChars: number; truncatedLines: number } {
    return { partialChars: this.stderrLines.partialChars, truncatedLines: this.stderrLines.truncated };
  }

  start(): Promise<void> {
    const { spec } = this.options;
    return new Promise((resolve, reject) => {
      const child = spawn(resolveCommand(spec.command), spec.args, {
        cwd: spec.cwd,
        env: childEnv(spec),
        stdio: ['pipe', 'pipe', 'pipe'],
        // Own process group: close() signals the group, grandchildren included.
        detached: true,
        windowsHide: true,
      });
      this.child = child;
      this.exited = new Promise((done) => child.once('exit', () => done()));
      child.once('error', (err) => {
        reject(err);
        this.onerror?.(err);
        this.finish();
      });
      child.once('spawn', () => resolve());
      child.once('exit', () => this.finish());
      child.stdout!.on('data', (chunk: Buffer) => {
        this.receive(chunk);
        // One chunk per turn: an upstream that floods must not starve every other session.
        child.stdout!.pause();
        setImmediate(() => child.stdout!.resume());
      });
      child.stdout!.on('error', (err) => this.onerror?.(err));
      child.stdin!.on('error', (err) => this.onerror?.(err));
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => this.stderrLines.push(text));
      // A last line without a line end (the child died mid-sentence) still counts.
      child.stderr!.once('end', () => this.stderrLines.flush());
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || this.closed) return reject(new Error('stdio upstream is not running'));
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', () => resolve());
    });
  }

  /** Polite then firm: close stdin, SIGTERM the group, SIGKILL the group. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.finish();
      return;
    }
    child.stdin?.end();
    if (!(await this.waitExit(GRACE_MS))) {
      signalGroup(child, 'SIGTERM');
      if (!(await this.waitExit(GRACE_MS))) {
        signalGroup(child, 'SIGKILL');
        await this.waitExit(GRACE_MS);
      }
    }
    // The leader may be gone while group members linger.
    signalGroup(child, 'SIGKILL');
    this.finish();
  }

  /** Immediate kill of the whole group; for shutdown paths with no time left. */
  kill(): void {
    if (this.child) signalGroup(this.child, 'SIGKILL');
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (!this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const result = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  private receive(chunk: Buffer): void {
    try {
      this.buffer.append(chunk);
    } catch (err) {
      // A line longer than the read buffer: the buffer is dropped and the upstream
      // reported; the call waiting for that line times out, the gateway stays up.
      this.buffer.clear();
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (err) {
        // A line that is not JSON-RPC: report it and keep reading the next ones.
        this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  private stderrLine(line: string): void {
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.options.onStderr?.(line);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}

/** The default variables, the server's own, and the gateway-loop marker (this gateway's config before its ancestors'). */
function childEnv(spec: StdioServerSpec): Record<string, string> {
  const env: Record<string, string> = { ...getDefaultEnvironment(), ...spec.env };
  const marker = childParentConfig(spec.gatewayConfig, process.env[PARENT_CONFIG_ENV]);
  if (marker !== undefined) env[PARENT_CONFIG_ENV] = marker;
  return env;
}

/** `node` means the node running the gateway, so a PATH without node still works. */
function resolveCommand(command: string): string {
  return command === 'node' ? process.execPath : command;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}
