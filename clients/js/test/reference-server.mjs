// Reference peer for the client tests: the official Node server (npm socket.io),
// listening on 127.0.0.1 with an ephemeral port. It prints one line,
// `listening <port>`, on stdout once it accepts connections.
//
// The "echo contract" below is the same as the Tidings echo example, so the
// tests can run unchanged against Tidings by setting SERVER_URL:
//   namespaces `/` and `/custom`; on connect each emits `auth` with the
//   handshake auth; `message` -> `message-back` (same args); `message-with-ack`
//   -> ack (same args); `join` (room); `to-room` (room, data) -> `room-back`
//   to the room; `broadcast` (...args) -> `broadcast-back` to everyone else.
//
// Test-only hooks (tests that use them are skipped against another server
// unless SERVER_HOOKS=1 says that server provides them too):
//   `server-ack` (data): the server emits `ack-request` (data) with an ack,
//       then emits `ack-result` with the client's ack arguments.
//   `server-disconnect`: the server disconnects this namespace socket.
//   `close-transport` (data?): the server closes the whole Engine.IO
//       connection; once the socket is gone, if `data` is given, it emits
//       `missed` (data) to the socket's own room, which with connection state
//       recovery is stored and replayed after reconnection.
//   namespace `/refuse`: a middleware refuses every connection with
//       Error('not authorized') and data {reason: 'token'}.
//
// Options: --stdin-lifeline exits when stdin closes; --recovery turns connection state recovery on; --ping-interval N
// and --ping-timeout N set the heartbeat (ms).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const args = process.argv.slice(2);
function numberArg(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

const httpServer = createServer();

// Test pages for the headless-browser test: our client files and the pages
// under /client/ (outside /socket.io/, which Engine.IO owns), and POST
// /client/report, which prints `report <json>` on stdout.
const root = fileURLToPath(new URL('..', import.meta.url));
const STATIC = {
  '/client/socket.io.js': ['socket.io.js', 'application/javascript'],
  '/client/socket.io.esm.js': ['socket.io.esm.js', 'application/javascript'],
  '/client/check.js': ['test/browser/check.js', 'application/javascript'],
  '/client/classic.html': ['test/browser/classic.html', 'text/html'],
  '/client/esm.html': ['test/browser/esm.html', 'text/html'],
};
httpServer.on('request', (req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  if (req.method === 'POST' && path === '/client/report') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      process.stdout.write(`report ${body.replace(/\n/g, ' ')}\n`);
      res.end('ok');
    });
    return;
  }
  const file = STATIC[path];
  if (!file) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'Content-Type': file[1] });
  res.end(readFileSync(join(root, file[0])));
});
const options = {
  pingInterval: numberArg('--ping-interval', 25000),
  pingTimeout: numberArg('--ping-timeout', 20000),
  // The tests run on one machine; a short connect timeout frees sessions of
  // clients that were killed before they joined a namespace.
  connectTimeout: 5000,
  // Never serve the official client by mistake: the tests load ours.
  serveClient: false,
};
if (args.includes('--recovery')) {
  options.connectionStateRecovery = { maxDisconnectionDuration: 60000 };
}
const io = new Server(httpServer, options);

function echo(nsp) {
  nsp.on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth);
    socket.on('message', (...a) => socket.emit('message-back', ...a));
    socket.on('message-with-ack', (...a) => {
      const ack = a.pop();
      if (typeof ack === 'function') ack(...a);
    });
    socket.on('join', (room) => socket.join(room));
    socket.on('to-room', (room, data) => nsp.to(room).emit('room-back', data));
    socket.on('broadcast', (...a) => socket.broadcast.emit('broadcast-back', ...a));

    // Test-only hooks.
    socket.on('server-ack', (data) => {
      socket.timeout(5000).emit('ack-request', data, (err, ...reply) => {
        socket.emit('ack-result', err ? { error: err.message } : reply);
      });
    });
    socket.on('server-disconnect', () => socket.disconnect());
    socket.on('close-transport', (data) => {
      const room = socket.id;
      if (data !== undefined) {
        // By the time `disconnect` fires the session has been saved for
        // recovery, so this emit is stored and replayed on reconnection.
        socket.once('disconnect', () => nsp.to(room).emit('missed', data));
      }
      socket.conn.close();
    });
  });
}

echo(io.of('/'));
echo(io.of('/custom'));
io.of('/refuse').use((socket, next) => {
  const err = new Error('not authorized');
  err.data = { reason: 'token' };
  next(err);
});

httpServer.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

// With --stdin-lifeline (used by the tests), exit when the parent process
// goes away and our stdin closes, so a crashed test run leaves no server.
if (args.includes('--stdin-lifeline')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
