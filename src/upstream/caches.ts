/**
 * What every upstream connection of one gateway shares, and nothing else
 * does: the upstreams' OAuth providers (one token per server's credential)
 * and the keep-alive sockets towards upstreams. The gateway creates one and
 * hands it to each Upstream; a session's or caller's own connection takes its
 * server's. Held here rather than at module level so that two gateways in one
 * process (tests, an embedding host) never share a token or a socket.
 */
import { UpstreamAuths } from './oauth.js';
import { KeepAlive } from './transport/fetch.js';

export class UpstreamCaches {
  readonly auths = new UpstreamAuths();
  readonly keepAlive = new KeepAlive();

  /** Closes the idle keep-alive sockets (the gateway has stopped). */
  close(): void {
    this.keepAlive.destroy();
  }
}
