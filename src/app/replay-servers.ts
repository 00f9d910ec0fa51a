/**
 * The configured servers as a replay needs them (its transport, and how it
 * exposes prompts and resources, to tell a completion's ref): shared by
 * `switchboard audit replay` and the console's playground.
 */
import { exposeName, exposeUri } from '../catalog/names.js';
import type { LoadedConfig } from '../config/schema/index.js';
import type { ReplayServer } from '../policy/replay.js';

/** Every configured server (enabled or not): its transport, and how it exposes a prompt and a resource (to tell a completion's ref). */
export function replayServers(config: LoadedConfig): Map<string, ReplayServer> {
  const sep = config.gateway.separator;
  return new Map(
    config.servers.map((s): [string, ReplayServer] => [
      s.name,
      {
        transport: s.spec.type,
        refKind: (exposed, original) => {
          const prompt = exposeName(s.prefix, original, sep) === exposed;
          const resource = exposeUri(s.prefix, original) === exposed;
          return prompt === resource ? undefined : prompt ? 'prompt' : 'resource';
        },
      },
    ]),
  );
}
