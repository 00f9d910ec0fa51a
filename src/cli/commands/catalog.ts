/**
 * `switchboard catalog [--json] [--profile NAME]`: starts the upstreams, waits
 * for them (SETTLE_MS at most: one still connecting then is given up on), and
 * prints every tool, prompt and resource with its exposed and original name
 * (stdout); on stderr, what the contract guard holds back, the servers that
 * did not connect and the tool names too long for many clients. Then stops.
 */
import { createGateway } from '../../app/gateway.js';
import type { LogLevel } from '../../config/schema/index.js';
import { createLogger } from '../../observability/log.js';
import type { ParsedArgs } from '../args.js';
import { loadConfigFromFlag } from '../config-file.js';
import { inProfile, profileView } from '../profile-view.js';
import { table } from '../table.js';
import { LongNames } from './long-names.js';
import { SETTLE_MS } from './serve.js';

export async function catalogCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfigFromFlag(args.flags.config);
  const log = createLogger({ level: (args.flags['log-level'] as LogLevel | undefined) ?? 'error', pretty: true });
  // It serves no one: nothing it sees is audit evidence (drift is printed below instead).
  const gateway = createGateway(config, log, { auditWrite: () => {} });
  gateway.start();
  await gateway.settled(SETTLE_MS);
  const view = profileView(config, args);
  const entries = gateway.catalog.entries().filter((e) => inProfile(gateway, view, e));
  const states = Object.fromEntries(gateway.upstreams.map((u) => [u.name, { state: u.state, error: u.lastError }]));
  const quarantined = gateway.catalog.quarantinedRows();
  const long = new LongNames(() => config).check(entries);
  await gateway.stop();
  for (const n of long) process.stderr.write(`warning: ${n.message}\n  fix: ${n.fix}\n`);
  for (const [name, s] of Object.entries(states)) {
    if (s.state === 'ready' || s.state === 'disabled') continue;
    const why = s.state === 'connecting' ? `still connecting after ${SETTLE_MS / 1000} s` : (s.error ?? s.state);
    process.stderr.write(`switchboard catalog: server "${name}" did not connect (${why}); its entries are not listed\n`);
  }
  if (view.profile !== undefined && !entries.some((e) => e.kind === 'tool')) {
    process.stderr.write(
      `switchboard: profile "${view.profile}" matches no tool\n  fix: check its servers (are they up?) and its "tools" globs against \`switchboard catalog\`\n`,
    );
    return 1;
  }
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ upstreams: states, items: entries, quarantined }, null, 2)}\n`);
  } else {
    const rows = entries.map((e) => [e.kind, e.server, e.exposed, e.original, e.readOnly ? 'yes' : '']);
    process.stdout.write(table(['KIND', 'SERVER', 'EXPOSED', 'ORIGINAL', 'READ-ONLY-HINT'], rows));
    for (const q of quarantined)
      process.stderr.write(
        `quarantined: ${q.kind} ${q.exposed} (${q.reason}${q.drifted.length ? `: ${q.drifted.join(', ')}` : ''}); see \`switchboard pin diff\`\n`,
      );
  }
  return 0;
}
