// PGlite with TimescaleDB over the PostgreSQL wire protocol, on a free loopback port, for tests.
// Prints "listening <port>" when ready. One backend session is shared by all sockets: clients must take
// turns (one connection at a time); when the last one leaves the session is reset.
import net from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { timescaledb } from '@electric-sql/pglite/timescaledb';

const port = Number(process.argv[2] || 0);
const db = await PGlite.create({ extensions: { timescaledb } });
let queue = Promise.resolve();          // every protocol message runs alone, in arrival order
let clients = 0;
const run = (job) => (queue = queue.then(job).catch((e) => console.error('pglite:', e?.message ?? e)));

function frames(state, data) {
  state.buf = Buffer.concat([state.buf, data]);
  const out = [];
  for (;;) {
    let len = 0;
    const code = state.buf.length >= 8 ? state.buf.readInt32BE(4) : 0;
    if (!state.started && state.buf.length >= 8) len = state.buf.readInt32BE(0);   // startup or SSLRequest
    else if (state.started && state.buf.length >= 5) len = 1 + state.buf.readInt32BE(1);
    if (!len || state.buf.length < len) break;
    const msg = state.buf.subarray(0, len);
    state.buf = state.buf.subarray(len);
    if (!state.started && code === 80877103) { out.push({ ssl: true }); continue; }
    if (!state.started) state.started = true;
    out.push({ msg });
  }
  return out;
}

const server = net.createServer((sock) => {
  clients += 1;
  sock.setNoDelay(true);
  const state = { buf: Buffer.alloc(0), started: false };
  sock.on('data', (data) => {
    for (const f of frames(state, data)) {
      run(async () => {
        if (f.ssl) { sock.write('N'); return; }                 // no TLS here: go on in plain text
        if (f.msg[0] === 0x58) { sock.end(); return; }          // Terminate: close, as clients wait for it
        const reply = await db.execProtocolRaw(new Uint8Array(f.msg));
        if (reply.length && sock.writable) sock.write(Buffer.from(reply));
      });
    }
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    clients -= 1;
    if (clients === 0) {
      run(async () => {
        if (db.isInTransaction()) await db.exec('ROLLBACK');
        await db.exec('DISCARD ALL; SET search_path TO public');
      });
    }
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => db.close().then(() => process.exit(0))));
