/**
 * The SDK client handles a notification a microtask later but settles a
 * response at once, so a progress notification that arrives in the same read
 * as its call's result would find its handler gone and be dropped. With this
 * layer, a response that follows a notification within the same turn is
 * delivered one turn later, after the notification has been handled.
 */
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/client';
import { TransportLayer } from './layer.js';

export class NotificationOrder extends TransportLayer {
  private notifiedThisTurn = false;

  protected override receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (!this.engaged) return super.receive(message, extra);
    const isNotification = 'method' in message && !('id' in message);
    const isResponse = !('method' in message);
    if (isNotification && !this.notifiedThisTurn) {
      this.notifiedThisTurn = true;
      setImmediate(() => (this.notifiedThisTurn = false));
    }
    if (isResponse && this.notifiedThisTurn) setImmediate(() => super.receive(message, extra));
    else super.receive(message, extra);
  }
}
