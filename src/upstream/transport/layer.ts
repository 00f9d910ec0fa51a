/**
 * A transport that wraps another by delegation: everything the SDK client
 * uses of a transport passes through, and a layer overrides only what it
 * changes (`send`, `receive`, `closed`, `close`). The wrapped transport is
 * never patched: the layer installs the callbacks every owner of a transport
 * sets, and nothing else.
 *
 * A layer is engaged only once the handshake is done: what layers add
 * belongs to the established connection (the handshake's own requests,
 * `notifications/initialized` included, go through untouched, as they did
 * when these were patches applied after connecting).
 */
import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from '@modelcontextprotocol/client';

export class TransportLayer implements Transport {
  onmessage?: Transport['onmessage'];
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private isEngaged = false;

  constructor(readonly inner: Transport) {
    inner.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => this.receive(message, extra);
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => this.closed();
  }

  /** Switches this layer and every layer under it on (the handshake is done). */
  engage(): void {
    this.isEngaged = true;
    if (this.inner instanceof TransportLayer) this.inner.engage();
  }

  protected get engaged(): boolean {
    return this.isEngaged;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** Streamable HTTP's per-request streams: the 2026-07-28 client cancels by aborting one. */
  get hasPerRequestStream(): boolean | undefined {
    return this.inner.hasPerRequestStream;
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  setSupportedProtocolVersions(versions: string[]): void {
    this.inner.setSupportedProtocolVersions?.(versions);
  }

  /** A message from the wrapped transport, on its way to the client. */
  protected receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    this.onmessage?.(message, extra);
  }

  /** The wrapped transport closed. */
  protected closed(): void {
    this.onclose?.();
  }
}

/** The transports under `outer`, outermost first, ending with the wire's own. */
export function layersOf(outer: Transport): Transport[] {
  const layers: Transport[] = [outer];
  for (let t = outer; t instanceof TransportLayer; t = t.inner) layers.push(t.inner);
  return layers;
}
