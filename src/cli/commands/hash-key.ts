/** `switchboard hash-key [KEY]`: the sha256 to put in gateway.auth.apiKeys (the key may come on stdin, so it stays out of shell history). */
import { hashKey } from '../../auth/api-keys.js';
import { UsageError, type ParsedArgs } from '../args.js';

export async function hashKeyCommand(args: ParsedArgs): Promise<number> {
  let key = args.positionals[0];
  if (key === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    key = Buffer.concat(chunks).toString('utf8').trim();
  }
  if (!key) throw new UsageError('no key given (pass it as an argument or on stdin)', 'hash-key');
  process.stdout.write(`${hashKey(key)}\n`);
  return 0;
}
