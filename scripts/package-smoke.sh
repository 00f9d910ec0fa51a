#!/usr/bin/env bash
# The package as a user gets it, without publishing: pack a clean build, install the tarball globally into a
# temporary prefix (its dependencies from the registry), then run the installed `switchboard`: its version, and one
# real MCP call through `switchboard bridge` to a tiny stdio server. Also checks that the tarball holds only what
# runs and that no devDependency was installed. Leaves nothing behind; exit 1 with a message on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$SECONDS

fail() {
  echo "package-smoke: FAIL: $*" >&2
  exit 1
}
step() { echo "package-smoke: $*"; }

tmp="$(mktemp -d)"
bridge_pid=""
cleanup() {
  if [ -n "$bridge_pid" ] && kill -0 "$bridge_pid" 2>/dev/null; then
    kill "$bridge_pid" 2>/dev/null || true
    wait "$bridge_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

name="$(node -p 'require("./package.json").name')"
version="$(node -p 'require("./package.json").version')"

# 1. A clean copy of the tree (what a fresh clone holds: tracked and new files, not ignored ones such as a stale
#    dist/), packed there, so that the tarball is built from src/ now and not from whatever dist/ this tree has.
#    node_modules is the tree's own (the build needs typescript); npm never packs it.
stage="$tmp/stage"
mkdir -p "$stage"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard \
    | (cd "$root" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) \
    | tar -C "$root" --null -T - -cf - | tar -C "$stage" -xf -
else
  tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf - . | tar -C "$stage" -xf -
fi
[ -d "$root/node_modules" ] || fail "no node_modules in $root: run npm ci first"
ln -s "$root/node_modules" "$stage/node_modules"

step "packing $name@$version (prepack cleans dist/, prepare builds it)"
(cd "$stage" && npm pack --json --pack-destination "$tmp" >"$tmp/pack.json" 2>"$tmp/pack.log") \
  || { cat "$tmp/pack.log" >&2; fail "npm pack failed"; }

# 2. What the tarball holds: only these top-level entries, a built CLI, the console, no source maps.
node - "$tmp/pack.json" <<'EOF' || fail "the tarball's contents are wrong (see above)"
const fs = require('node:fs');
const [info] = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const paths = info.files.map((f) => f.path);
const allowed = /^(bin\/|dist\/|console\/|schema\/|policies\/|package\.json$|README\.md$|CHANGELOG\.md$|LICENSE(\.\w+)?$)/;
const problems = [];
for (const p of paths) {
  if (!allowed.test(p)) problems.push(`unexpected file in the tarball: ${p}`);
  if (p.endsWith('.map')) problems.push(`source map in the tarball: ${p}`);
}
for (const p of ['bin/switchboard.js', 'dist/cli/index.js', 'dist/console/routes.js', 'console/index.html', 'schema/switchboard.schema.json', 'README.md']) {
  if (!paths.includes(p)) problems.push(`missing from the tarball: ${p}`);
}
for (const p of problems) console.error(`package-smoke: ${p}`);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`package-smoke: tarball ${info.filename}: ${kib(info.size)} packed, ${kib(info.unpackedSize)} unpacked, ${info.entryCount} files`);
process.exitCode = problems.length ? 1 : 0;
EOF
tarball="$tmp/$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].filename' "$tmp/pack.json")"
[ -f "$tarball" ] || fail "npm pack wrote no tarball at $tarball"

# 3. Installed as a user installs it: the tarball and its runtime dependencies only (no lock file, no overrides).
prefix="$tmp/prefix"
step "installing the tarball into a temporary prefix (dependencies from the registry)"
npm install -g --prefix "$prefix" --no-audit --no-fund --loglevel=error "$tarball" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "npm install -g of the tarball failed"; }
bin="$prefix/bin/switchboard"
pkg="$prefix/lib/node_modules/$name"
[ -x "$bin" ] || fail "the install made no $bin"
[ -d "$pkg" ] || fail "the package is not at $pkg"
for dir in test src bench deploy docs examples conformance scripts; do
  [ ! -e "$pkg/$dir" ] || fail "the installed package has a $dir/ folder"
done
# Dev-only packages: what the lock file marks "dev" (reachable from devDependencies alone, e.g. oidc-provider,
# playwright-core, vitest, the reference servers). A devDependency that a runtime dependency also needs is not one
# (@opentelemetry/api comes with prom-client).
node - "$root/package-lock.json" "$pkg" "$prefix/lib/node_modules" <<'EOF' || fail "a dev-only package was installed with the package"
const fs = require('node:fs');
const path = require('node:path');
const [lock, pkg, globalModules] = process.argv.slice(2);
const devOnly = Object.entries(JSON.parse(fs.readFileSync(lock, 'utf8')).packages)
  .filter(([key, entry]) => entry.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
  .map(([key]) => key.slice('node_modules/'.length));
if (devOnly.length === 0) throw new Error('the lock file names no dev-only package: nothing to check');
for (const dep of ['oidc-provider', 'playwright-core', 'vitest', '@modelcontextprotocol/sdk']) {
  if (!devOnly.includes(dep)) throw new Error(`the lock file does not mark ${dep} dev-only`);
}
let leaked = 0;
for (const dep of devOnly) {
  for (const where of [path.join(pkg, 'node_modules', dep), path.join(globalModules, dep)]) {
    if (fs.existsSync(where)) {
      console.error(`package-smoke: dev-only package installed: ${where}`);
      leaked++;
    }
  }
}
const installed = fs.readdirSync(path.join(pkg, 'node_modules')).length;
console.log(`package-smoke: none of the ${devOnly.length} dev-only packages of the lock file is installed (${installed} entries in node_modules)`);
process.exitCode = leaked ? 1 : 0;
EOF

# 4. The version the installed CLI reports.
if out="$("$bin" --version 2>&1)"; then
  [ "$(printf '%s' "$out" | tr -d '[:space:]')" = "$version" ] || fail "switchboard --version printed '$out', expected '$version'"
  step "switchboard --version: $out"
elif printf '%s' "$out" | grep -q "unknown option --version"; then
  # The CLI has no --version flag yet: check that it runs (--help) and, below, the version it tells MCP clients.
  "$bin" --help >/dev/null 2>&1 || fail "switchboard --help failed"
  step "switchboard has no --version flag; checked --help, and the version comes from initialize below"
else
  fail "switchboard --version failed: $out"
fi

# 5. One real MCP call: the installed bridge in front of a tiny stdio server that needs nothing but node.
cat >"$tmp/echo-server.mjs" <<'EOF'
// A minimal MCP server over stdio (newline-delimited JSON-RPC): initialize, ping, tools/list and one `echo` tool.
import { createInterface } from 'node:readline';

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const echo = {
  name: 'echo',
  description: 'Returns its message.',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
};
createInterface({ input: process.stdin }).on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return send({ id: null, error: { code: -32700, message: 'Parse error' } });
  }
  if (msg.id === undefined || typeof msg.method !== 'string') return; // a notification or a response
  const { id, method, params = {} } = msg;
  if (method === 'initialize') {
    return send({
      id,
      result: { protocolVersion: params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'echo', version: '1.0.0' } },
    });
  }
  if (method === 'ping') return send({ id, result: {} });
  if (method === 'tools/list') return send({ id, result: { tools: [echo] } });
  if (method === 'tools/call' && params.name === 'echo') {
    return send({ id, result: { content: [{ type: 'text', text: String(params.arguments?.message) }] } });
  }
  send({ id, error: { code: -32601, message: `Method not found: ${method}` } });
});
EOF
port="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
step "starting the installed bridge on 127.0.0.1:$port"
# From an empty directory, so that nothing of this tree (a switchboard.json, policies/) is picked up.
mkdir -p "$tmp/cwd"
(cd "$tmp/cwd" && exec "$bin" bridge --host 127.0.0.1 --port "$port" -- node "$tmp/echo-server.mjs") >"$tmp/bridge.log" 2>&1 &
bridge_pid=$!

node - "$port" "$version" <<'EOF' || { echo "--- bridge log" >&2; cat "$tmp/bridge.log" >&2; fail "the MCP call through the installed bridge failed"; }
const [port, version] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const PROTOCOL = '2025-11-25';
const deadline = Date.now() + 20_000;

async function ready() {
  for (;;) {
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error('the bridge was not ready (/readyz) within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON-RPC message answering `id`, from a JSON or an SSE body. */
async function answer(res, id) {
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  const type = res.headers.get('content-type') ?? '';
  const messages = type.includes('text/event-stream')
    ? text.split(/\r?\n\r?\n/).map((e) => e.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n')).filter(Boolean).map((d) => JSON.parse(d))
    : [JSON.parse(text)].flat();
  const msg = messages.find((m) => m.id === id);
  if (!msg) throw new Error(`no answer to request ${id} in: ${text.slice(0, 300)}`);
  if (msg.error) throw new Error(`request ${id}: ${JSON.stringify(msg.error)}`);
  return msg.result;
}

await ready();
const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const post = (body, extra = {}) => fetch(`${base}/mcp`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });

const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'package-smoke', version: '1' } } });
const session = init.headers.get('mcp-session-id');
const info = await answer(init, 1);
if (!session) throw new Error('initialize: no Mcp-Session-Id header');
if (info.serverInfo?.name !== 'switchboard') throw new Error(`initialize: serverInfo ${JSON.stringify(info.serverInfo)}`);
if (info.serverInfo.version !== version) throw new Error(`initialize: the gateway says version ${info.serverInfo.version}, package.json says ${version}`);
const sessionHeaders = { 'mcp-session-id': session, 'mcp-protocol-version': info.protocolVersion };
const ack = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionHeaders);
if (ack.status !== 202) throw new Error(`notifications/initialized: HTTP ${ack.status}`);

const list = await answer(await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, sessionHeaders), 2);
if (!list.tools?.some((t) => t.name === 'echo')) throw new Error(`tools/list: no echo in ${JSON.stringify(list.tools?.map((t) => t.name))}`);
const call = await answer(await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello from the package' } } }, sessionHeaders), 3);
const text = call.content?.[0]?.text;
if (text !== 'hello from the package') throw new Error(`tools/call echo answered ${JSON.stringify(call)}`);
console.log(`package-smoke: initialize (${info.serverInfo.name} ${info.serverInfo.version}, ${info.protocolVersion}), tools/list, tools/call echo → "${text}"`);
EOF

kill "$bridge_pid" 2>/dev/null || true
wait "$bridge_pid" 2>/dev/null || true
bridge_pid=""
step "ok in $((SECONDS - started)) s"
