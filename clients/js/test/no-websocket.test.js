'use strict';
// Transparent fallback to polling when the environment has no usable
// WebSocket: the global is deleted before the client loads (each test file
// runs in its own process), then replaced by a stub that always fails.
delete globalThis.WebSocket;

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const io = require('../socket.io.js');
const { startServer, once, delay } = require('./helpers');

const T = { timeout: 20000 };
let server;
const sockets = [];

before(async () => { server = await startServer(); });
after(() => server && server.close());
afterEach(() => {
  for (const s of sockets.splice(0)) s.disconnect();
  delete globalThis.WebSocket;
});

function client(opts) {
  const s = io(server.url, Object.assign({ forceNew: true, reconnection: false }, opts));
  sockets.push(s);
  return s;
}

/** A WebSocket that never connects, as behind a proxy that blocks upgrades. */
class FailingWebSocket {
  constructor() {
    setTimeout(() => {
      if (this.onerror) this.onerror({ type: 'error' });
      if (this.onclose) this.onclose({ type: 'close', code: 1006 });
    }, 5);
  }
  send() { throw new Error('not open'); }
  close() {}
}

async function echoes(s) {
  const back = once(s, 'message-back');
  s.emit('message', 'over polling', new Uint8Array([1, 2]));
  const [text, bin] = await back;
  assert.equal(text, 'over polling');
  assert.deepEqual(Array.from(new Uint8Array(bin)), [1, 2]);
}

test('without WebSocket the default transports stay on polling', T, async () => {
  assert.equal(typeof WebSocket, 'undefined');
  const s = client();
  await once(s, 'connect');
  assert.deepEqual(s.io.engine.upgrades, [], 'no upgrade is attempted');
  await delay(200);
  assert.equal(s.io.engine.transport.name, 'polling');
  await echoes(s);
});

test('without WebSocket a websocket-first list falls back to polling', T, async () => {
  const s = client({ transports: ['websocket', 'polling'] });
  await once(s, 'connect');
  assert.equal(s.io.engine.transport.name, 'polling');
  await echoes(s);
});

test('without WebSocket a websocket-only client reports connect_error', T, async () => {
  const s = client({ transports: ['websocket'] });
  const [err] = await once(s, 'connect_error');
  assert.match(err.message, /no transports available/);
});

test('a failing WebSocket: the upgrade probe fails and polling continues', T, async () => {
  globalThis.WebSocket = FailingWebSocket;
  const s = client();
  const upgradeError = once(s.io.engine, 'upgradeError');
  await once(s, 'connect');
  await upgradeError;
  assert.equal(s.io.engine.transport.name, 'polling');
  await echoes(s);
});

test('a failing WebSocket: a websocket-first connection falls back to polling', T, async () => {
  globalThis.WebSocket = FailingWebSocket;
  const s = client({ transports: ['websocket', 'polling'] });
  await once(s, 'connect');
  assert.equal(s.io.engine.transport.name, 'polling');
  await echoes(s);
});
