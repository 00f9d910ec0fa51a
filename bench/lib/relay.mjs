// A do-nothing HTTP relay: it buffers each request, forwards it to the
// upstream on a keep-alive agent, and returns the buffered answer. No MCP
// work at all, so "(a) HTTP upstream" can show what the extra loopback hop
// alone costs on this machine, beside what the gateway adds.
//
//   node bench/lib/relay.mjs <upstream-url>     prints `LISTENING <url>`
import http from 'node:http';

const upstream = new URL(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function collect(stream, done) {
  const chunks = [];
  stream.on('data', (chunk) => chunks.push(chunk));
  stream.on('end', () => done(Buffer.concat(chunks)));
}

const server = http.createServer((req, res) => {
  collect(req, (body) => {
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    const forwarded = http.request(upstream, { method: req.method, headers, agent }, (answer) => {
      collect(answer, (text) => {
        const out = { ...answer.headers, 'content-length': String(text.length) };
        delete out['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 502, out).end(text);
      });
    });
    forwarded.on('error', () => res.writeHead(502).end());
    forwarded.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`LISTENING http://127.0.0.1:${server.address().port}${upstream.pathname}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
