#!/usr/bin/env node
// Reference chat server: the chat contract of apps/chat/README.md implemented
// on the official Node server (npm socket.io 4.8.4), so that the page and its
// browser tests can be checked before and beside the Rust `tidings-chat`.
//
//   node apps/chat/reference/server.mjs --addr 127.0.0.1:3000
//
// The address comes from --addr, else TIDINGS_ADDR, else 127.0.0.1:3000 (port 0
// picks a free one). Once it accepts connections it prints one line,
// `listening http://HOST:PORT`. SIGTERM and SIGINT stop it.
//
// socket.io is resolved from apps/chat/tests/node_modules (run `npm ci` there).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HISTORY_LIMIT = 50;
const TEXT_LIMIT = 500;
const NICK_LIMIT = 32;

const requireFromTests = createRequire(new URL('../tests/package.json', import.meta.url));
let Server;
try {
  ({ Server } = requireFromTests('socket.io'));
} catch (err) {
  process.stderr.write(`reference server: cannot load socket.io (${err.code}); run \`npm ci\` in apps/chat/tests\n`);
  process.exit(2);
}

// ---- command line ------------------------------------------------------------

const { values: flags } = parseArgs({ options: { addr: { type: 'string' } }, strict: true });
const addr = flags.addr ?? process.env.TIDINGS_ADDR ?? '127.0.0.1:3000';
const colon = addr.lastIndexOf(':');
const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
const port = Number(addr.slice(colon + 1));
if (colon < 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`reference server: --addr must be HOST:PORT, got ${JSON.stringify(addr)}\n`);
  process.exit(2);
}

// ---- static files ------------------------------------------------------------

const file = (relative) => readFileSync(fileURLToPath(new URL(relative, import.meta.url)));
const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
// The page's own script runs from 'self' only; nothing inline, no eval.
const CSP = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const page = { body: file('../static/index.html'), type: HTML };
const script = { body: file('../static/chat.js'), type: JS };
const CLIENT_PATH = '/socket.io/socket.io.js';
const routes = new Map([
  ['/', page],
  ['/sercetTalk', script],
  ['/static/chat.js', script],
  ['/static/chat.css', { body: file('../static/chat.css'), type: CSS }],
  [CLIENT_PATH, { body: file('../../../clients/js/socket.io.js'), type: JS }],
]);
const notFound = { body: file('../static/404.html'), type: HTML };

const pathOf = (req) => {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
};

function send(req, res, status, asset, extra = {}) {
  const headers = {
    'Content-Type': asset.type,
    'Content-Length': asset.body.length,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  };
  if (asset.type === HTML) headers['Content-Security-Policy'] = CSP;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

/** Everything that is not Engine.IO traffic: the page, its assets, our client, and the 404 page. */
function serveStatic(req, res) {
  const asset = routes.get(pathOf(req));
  if (!asset) return send(req, res, 404, notFound);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
    return res.end();
  }
  return send(req, res, 200, asset);
}

const httpServer = createServer(serveStatic);
const io = new Server(httpServer, { serveClient: false });

// Engine.IO has taken over the `request` event: it answers every path under
// /socket.io/ and hands the rest to serveStatic. Our client file lives under
// /socket.io/ too, so it must be answered before Engine.IO sees the request.
const engineListeners = httpServer.listeners('request');
httpServer.removeAllListeners('request');
httpServer.on('request', (req, res) => {
  if (pathOf(req) === CLIENT_PATH) return serveStatic(req, res);
  for (const listener of engineListeners) listener.call(httpServer, req, res);
});

// ---- the chat ----------------------------------------------------------------

/** The last accepted messages, oldest first. */
const history = [];
/** Connected sockets of the main namespace: id -> nick. */
const online = new Map();

/** Splits a trailing ack callback from the event arguments. */
function takeAck(args) {
  return typeof args[args.length - 1] === 'function' ? args.pop() : null;
}

const codePoints = (s) => Array.from(s).length;

function cleanNick(value) {
  const trimmed = typeof value === 'string' ? value.trim() : '';
  const cut = Array.from(trimmed).slice(0, NICK_LIMIT).join('').trim();
  return cut === '' ? 'anonymous' : cut;
}

io.on('connection', (socket) => {
  const id = socket.id;
  let nick = `guest-${id.slice(0, 4)}`;
  online.set(id, nick);

  socket.emit('history', history.slice());
  socket.broadcast.emit('joined', { id, nick });
  io.emit('online', online.size);

  socket.on('talk', (...args) => {
    const ack = takeAck(args);
    const text = typeof args[0] === 'string' ? args[0].trim() : '';
    const error = text === '' ? 'empty' : codePoints(text) > TEXT_LIMIT ? 'too long' : null;
    if (error) {
      if (ack) ack({ ok: false, error });
      else socket.emit('notice', { error });
      return;
    }
    const msg = { id, nick, text, at: Date.now() };
    history.push(msg);
    if (history.length > HISTORY_LIMIT) history.shift();
    io.emit('response', msg);
    socket.emit('tail', msg);
    if (ack) ack({ ok: true });
  });

  socket.on('nick', (...args) => {
    const ack = takeAck(args);
    const previous = nick;
    nick = cleanNick(args[0]);
    online.set(id, nick);
    if (ack) ack({ ok: true, nick });
    io.emit('renamed', { id, nick, previous });
  });

  socket.on('typing', (...args) => {
    takeAck(args);
    socket.broadcast.emit('typing', { id, nick, typing: args[0] === true });
  });

  socket.on('disconnect', () => {
    online.delete(id);
    io.emit('left', { id, nick });
    io.emit('online', online.size);
  });
});

// ---- run ---------------------------------------------------------------------

httpServer.listen(port, host, () => {
  const bound = httpServer.address();
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  process.stdout.write(`listening http://${shown}:${bound.port}\n`);
});

function stop() {
  io.close(() => process.exit(0));
  // Lingering keep-alive connections must not keep the process up.
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
