'use strict';
// Client behaviour that a well-behaved server never triggers: heartbeat
// loss, malformed input, refused handshakes, payload limits, failed
// upgrades. A tiny scripted Engine.IO polling server (node:http) plays the
// server, so these tests never depend on SERVER_URL.
const { test, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const io = require('../socket.io.js');
const { once, until, delay } = require('./helpers');

const T = { timeout: 20000 };
const cleanups = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

/**
 * Starts a scripted polling-only server. `send(...raw)` queues raw Engine.IO
 * packets for the next GET; `posts` records POST bodies. It answers the
 * client's CONNECT to "/" automatically.
 */
async function fakeServer(opts = {}) {
  const handshake = { sid: 'fake-sid', upgrades: opts.upgrades || [], pingInterval: opts.pingInterval || 25000,
    pingTimeout: opts.pingTimeout || 20000, maxPayload: opts.maxPayload || 1000000 };
  const state = { queue: [], pendingGet: null, posts: [], requests: [] };
  const flush = () => {
    if (state.pendingGet && state.queue.length) {
      const res = state.pendingGet;
      state.pendingGet = null;
      res.end(state.queue.splice(0).join('\x1e'));
    }
  };
  const send = (...raw) => { state.queue.push(...raw); flush(); };
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    state.requests.push({ method: req.method, url, headers: req.headers });
    if (opts.refuse) {
      res.writeHead(opts.refuse, { 'Content-Type': 'application/json' });
      res.end('{"code":3,"message":"Bad request"}');
      return;
    }
    if (req.method === 'GET' && !url.searchParams.get('sid')) {
      if (opts.hangHandshake) return; // never answered; closed with the server
      res.end('0' + JSON.stringify(handshake));
      return;
    }
    if (req.method === 'GET') {
      state.pendingGet = res;
      flush();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      state.posts.push(body);
      res.end('ok');
      for (const p of body.split('\x1e')) {
        if (p === '40' && !opts.silent) send('40{"sid":"socket-1"}');
      }
    });
  });
  // A WebSocket upgrade request is refused by closing the socket.
  srv.on('upgrade', (req, socket) => socket.destroy());
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const fake = { url: `http://127.0.0.1:${srv.address().port}`, send, posts: state.posts, requests: state.requests };
  cleanups.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  return fake;
}

function client(url, opts) {
  const s = io(url, Object.assign({ forceNew: true, transports: ['polling'], reconnection: false }, opts));
  cleanups.push(() => s.disconnect());
  return s;
}

test('no ping within pingInterval + pingTimeout closes with "ping timeout"', T, async () => {
  const fake = await fakeServer({ pingInterval: 200, pingTimeout: 200 });
  const s = client(fake.url);
  let opened = 0;
  s.io.on('open', () => { opened = Date.now(); }); // the deadline counts from the handshake
  await once(s, 'connect');
  const [reason] = await once(s, 'disconnect', 3000);
  assert.equal(reason, 'ping timeout');
  const elapsed = Date.now() - opened;
  assert.ok(elapsed >= 395, `closed after ${elapsed} ms, before the 400 ms deadline`);
});

test('every ping gets a pong and keeps the link alive', T, async () => {
  const fake = await fakeServer({ pingInterval: 100, pingTimeout: 1000 });
  const s = client(fake.url);
  await once(s, 'connect');
  let pings = 0;
  s.io.on('ping', () => { pings++; });
  for (let i = 0; i < 5; i++) {
    fake.send('2');
    await delay(100);
  }
  assert.equal(s.connected, true);
  assert.equal(pings, 5);
  await until(() => fake.posts.filter((b) => b.split('\x1e').includes('3')).length >= 5, 2000, 'five pongs');
});

const MALFORMED = {
  'unknown Engine.IO type': ['z'],
  'bad base64': ['b!!!'],
  'unknown Socket.IO type': ['49'],
  'EVENT payload not an array': ['42{}'],
  'reserved event name': ['42["disconnect"]'],
  'bad JSON': ['42["a",'],
  'attachments without a dash': ['45["a"]'],
  'too many attachments': ['4511-["a"]'],
  'placeholder out of range': ['451-["a",{"_placeholder":true,"num":3}]', 'bAQID'],
  'text while attachments are expected': ['451-["a",{"_placeholder":true,"num":0}]', '42["b"]'],
  'binary when none is expected': ['bAQID'],
  'DISCONNECT with a payload': ['41{}'],
  'second handshake': ['0{"sid":"x"}'],
};

for (const [label, raw] of Object.entries(MALFORMED)) {
  test(`malformed input closes with "parse error": ${label}`, T, async () => {
    const fake = await fakeServer();
    const s = client(fake.url);
    await once(s, 'connect');
    const events = [];
    s.onAny((ev) => events.push(ev));
    const gone = once(s, 'disconnect');
    fake.send(...raw);
    assert.equal((await gone)[0], 'parse error');
    assert.deepEqual(events, [], 'nothing half-decoded reached the application');
  });
}

test('a parse error reconnects when reconnection is on', T, async () => {
  const fake = await fakeServer();
  const s = client(fake.url, { reconnection: true, reconnectionDelay: 20, randomizationFactor: 0 });
  await once(s, 'connect');
  const gone = once(s, 'disconnect');
  fake.send('42{}');
  assert.equal((await gone)[0], 'parse error');
  await once(s.io, 'reconnect');
  await until(() => s.connected, 3000, 'the new connection');
});

test('a refused handshake gives connect_error with the HTTP status', T, async () => {
  const fake = await fakeServer({ refuse: 400 });
  const s = client(fake.url);
  const [err] = await once(s, 'connect_error');
  assert.equal(err.message, 'xhr poll error');
  assert.equal(err.type, 'TransportError');
  assert.equal(err.description, 400);
  assert.match(err.context, /Bad request/);
});

test('a close packet from the server gives "transport close"', T, async () => {
  const fake = await fakeServer();
  const s = client(fake.url);
  await once(s, 'connect');
  const gone = once(s, 'disconnect');
  fake.send('1');
  assert.equal((await gone)[0], 'transport close');
});

test('the connect timeout fires when the handshake never completes', T, async () => {
  const fake = await fakeServer({ hangHandshake: true });
  const s = client(fake.url, { timeout: 300 });
  const start = Date.now();
  const [err] = await once(s, 'connect_error', 3000);
  assert.equal(err.message, 'timeout');
  assert.ok(Date.now() - start >= 250);
});

test('the connect timeout covers the Engine.IO handshake only, as in the official client', T, async () => {
  const fake = await fakeServer({ silent: true });
  const s = client(fake.url, { timeout: 300 });
  await once(s.io, 'open');
  await delay(400);
  assert.equal(s.connected, false);
  assert.equal(s.active, true, 'still waiting for the CONNECT reply');
});

test('an unreachable server: connect_error, reconnect_* events, reconnect_failed', T, async () => {
  const probe = http.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const s = client(`http://127.0.0.1:${port}`, { reconnection: true, reconnectionAttempts: 2,
    reconnectionDelay: 10, reconnectionDelayMax: 20 });
  const events = [];
  s.on('connect_error', () => events.push('connect_error'));
  s.io.on('reconnect_attempt', (n) => events.push('attempt:' + n));
  s.io.on('reconnect_error', () => events.push('reconnect_error'));
  const failed = once(s.io, 'reconnect_failed', 5000);
  await failed;
  assert.deepEqual(events, ['connect_error', 'attempt:1', 'connect_error', 'reconnect_error',
    'attempt:2', 'connect_error', 'reconnect_error']);
});

test('buffered packets are POSTed in batches within maxPayload', T, async () => {
  const fake = await fakeServer({ maxPayload: 60 });
  const s = client(fake.url);
  const expected = [];
  for (let i = 0; i < 8; i++) {
    s.emit('message', 'payload-' + i);
    expected.push(`42["message","payload-${i}"]`);
  }
  await once(s, 'connect');
  await until(() => fake.posts.join('\x1e').split('\x1e').filter((p) => p.startsWith('42')).length === 8,
    3000, 'all messages');
  const bodies = fake.posts.filter((b) => b.includes('42['));
  assert.ok(bodies.length > 1, 'split into several POSTs');
  for (const b of bodies) assert.ok(Buffer.byteLength(b) <= 60, `POST of ${Buffer.byteLength(b)} bytes`);
  assert.deepEqual(bodies.join('\x1e').split('\x1e'), expected);
});

test('a failed upgrade keeps the session on polling', T, async () => {
  const fake = await fakeServer({ upgrades: ['websocket'] });
  const s = client(fake.url, { transports: ['polling', 'websocket'] });
  const upgradeError = once(s.io.engine, 'upgradeError');
  await once(s, 'connect');
  await upgradeError;
  assert.equal(s.io.engine.transport.name, 'polling');
  s.emit('message', 'still here');
  await until(() => fake.posts.some((b) => b.includes('still here')), 3000, 'the POST');
  assert.equal(s.connected, true);
});

test('exceptions in application listeners do not break the connection', T, async () => {
  const fake = await fakeServer();
  const s = client(fake.url);
  await once(s, 'connect');
  // Browsers report such errors with reportError(); Node (no reportError)
  // gets them re-thrown in a task of their own, which node:test would count
  // as a failure, so stand in for the browser here.
  const thrown = [];
  globalThis.reportError = (err) => thrown.push(err.message);
  cleanups.push(() => { delete globalThis.reportError; });
  s.on('boom', () => { throw new Error('listener failed'); });
  const after = once(s, 'after');
  fake.send('42["boom"]', '42["after",1]');
  assert.deepEqual(await after, [1]);
  await until(() => thrown.length === 1, 2000, 'the reported exception');
  assert.deepEqual(thrown, ['listener failed']);
  assert.equal(s.connected, true);
});

test('path, query and extraHeaders reach the polling requests', T, async () => {
  const fake = await fakeServer();
  const s = client(fake.url + '/?fromUrl=1&shared=url', { path: '/my-path', query: { token: 'q t', shared: 'opt' },
    extraHeaders: { 'x-test': 'yes' } });
  await once(s, 'connect');
  s.emit('message', 'x');
  await until(() => fake.posts.some((b) => b.includes('"x"')), 3000, 'the POST');
  for (const r of fake.requests) {
    assert.equal(r.url.pathname, '/my-path/');
    const q = r.url.searchParams;
    assert.deepEqual([q.get('EIO'), q.get('transport'), q.get('token'), q.get('fromUrl'), q.get('shared')],
      ['4', 'polling', 'q t', '1', 'opt']);
    assert.equal(typeof q.get('t'), 'string');
    assert.equal(r.headers['x-test'], 'yes');
  }
  const after = fake.requests.slice(1);
  assert.ok(after.length >= 2 && after.every((r) => r.url.searchParams.get('sid') === 'fake-sid'));
  assert.equal(fake.requests[0].url.searchParams.get('sid'), null);
  assert.equal(new Set(fake.requests.map((r) => r.url.searchParams.get('t'))).size, fake.requests.length, 'cache buster per request');
});

test('closing sends a close packet and leaves no request behind', T, async () => {
  const fake = await fakeServer();
  const s = client(fake.url);
  await once(s, 'connect');
  s.disconnect();
  await until(() => fake.posts.includes('1'), 3000, 'the close packet');
  assert.ok(fake.posts.some((b) => b.split('\x1e').includes('41')), 'DISCONNECT sent before closing');
  assert.equal(s.io.engine.readyState, 'closed');
});

test('an invalid handshake gives connect_error, not a hang', T, async () => {
  const srv = http.createServer((req, res) => res.end('0{"nope":true}'));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  const s = client(`http://127.0.0.1:${srv.address().port}`);
  const [err] = await once(s, 'connect_error', 3000);
  assert.equal(err.message, 'parse error');
  assert.equal(err.description, 'invalid handshake');
});
