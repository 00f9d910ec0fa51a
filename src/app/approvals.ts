/**
 * The gateway's approvals: the store (this process, or Redis shared by the
 * replicas), the approvers' webhook, and every step reported as an audit
 * event (`type: "approval"`) and counted.
 */
import { Approvals } from '../approvals/approvals.js';
import { MemoryApprovalStore } from '../approvals/memory-store.js';
import { ApprovalNotifier } from '../approvals/notify.js';
import { RedisApprovalStore } from '../approvals/redis-store.js';
import type { ApprovalDecision, ApprovalStore, PendingApproval } from '../approvals/types.js';
import type { GatewaySettings } from '../config/schema/index.js';
import type { AuditSink } from '../observability/audit.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { approverText } from '../policy/tests-runner.js';

export interface GatewayApprovals {
  approvals: Approvals;
  /** Calls waiting for a decision on this replica (the gauge). */
  waiting: () => number;
  close(): Promise<void>;
}

export function createApprovals(
  settings: GatewaySettings,
  parts: { audit: AuditSink; metrics: () => Metrics; log: Logger; publicUrl: () => string; linkable: () => boolean },
): GatewayApprovals {
  const { audit, log } = parts;
  const config = settings.approvals;
  const store: ApprovalStore =
    config.store.type === 'redis'
      ? new RedisApprovalStore({ url: config.store.url, prefix: config.store.prefix, timeoutMs: config.store.timeoutMs }, log)
      : new MemoryApprovalStore();
  const notifier = config.notify
    ? new ApprovalNotifier(
        config.notify,
        { delivered: () => parts.metrics().approvalNotify('delivered'), failed: (why) => parts.metrics().approvalNotify(why) },
        log,
      )
    : undefined;
  let waiting = 0;
  const event = (name: 'requested' | 'granted' | 'declined' | 'expired', a: PendingApproval, decision?: ApprovalDecision) => {
    audit.writeEvent({
      type: 'approval',
      time: new Date().toISOString(),
      event: name,
      approvalId: a.id,
      principal: a.principal,
      server: a.server,
      tool: a.tool,
      ruleId: a.ruleId,
      digest: a.digest,
      ...(a.requestId ? { requestId: a.requestId } : {}),
      ...(name === 'requested' ? { approvers: a.approvers.map(approverText), expiresAt: new Date(a.expiresAt).toISOString() } : {}),
      ...(decision ? { by: decision.by, channel: decision.channel } : {}),
    });
    parts.metrics().approval(a.server, name);
  };
  const approvals = new Approvals({
    store,
    publicUrl: parts.publicUrl,
    linkable: parts.linkable,
    replicaId: settings.replicaId,
    ...(notifier ? { announce: (a: PendingApproval, link: string) => notifier.notify(a, link) } : {}),
    events: {
      requested: (a) => {
        if (!a.detached) waiting++;
        event('requested', a);
      },
      decided: (a, d) => event(d.outcome, a, d),
      expired: (a) => event('expired', a),
      settled: () => void waiting--,
      remembered: (server) => parts.metrics().approval(server, 'remembered'),
    },
  });
  return {
    approvals,
    waiting: () => waiting,
    async close() {
      notifier?.close();
      await store.shutdown();
    },
  };
}
