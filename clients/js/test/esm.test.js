'use strict';
// socket.io.esm.js is generated from socket.io.js and must be up to date,
// load as an ES module, and work.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, once } = require('./helpers');

const root = path.join(__dirname, '..');
let server;
before(async () => { server = await startServer(); });
after(() => server && server.close());

test('socket.io.esm.js is up to date (run `npm run build:esm`)', async () => {
  const { buildEsm } = await import('../scripts/build-esm.mjs');
  const expected = buildEsm(fs.readFileSync(path.join(root, 'socket.io.js'), 'utf8'));
  assert.equal(fs.readFileSync(path.join(root, 'socket.io.esm.js'), 'utf8'), expected);
});

test('the classic script defines globalThis.io when there is no module system', () => {
  const vm = require('node:vm');
  const sandbox = { URL, URLSearchParams, setTimeout, clearTimeout, ArrayBuffer, Uint8Array };
  vm.createContext(sandbox);
  vm.runInContext(fs.readFileSync(path.join(root, 'socket.io.js'), 'utf8'), sandbox);
  assert.equal(typeof sandbox.io, 'function');
  assert.equal(sandbox.io.protocol, 5);
  assert.equal(typeof sandbox.io.Manager, 'function');
  assert.equal(typeof sandbox.io.Socket, 'function');
});

test('the ES module exports io (default and named), Manager, Socket and connects', { timeout: 20000 }, async () => {
  const source = fs.readFileSync(path.join(root, 'socket.io.esm.js'), 'utf8');
  const mod = await import('data:text/javascript,' + encodeURIComponent(source));
  assert.equal(mod.default, mod.io);
  assert.equal(typeof mod.Manager, 'function');
  assert.equal(typeof mod.Socket, 'function');
  assert.equal(mod.protocol, 5);
  const s = mod.io(server.url, { forceNew: true });
  try {
    const [auth] = await once(s, 'auth');
    assert.deepEqual(auth, {});
    assert.ok(s instanceof mod.Socket);
    assert.equal(await s.emitWithAck('message-with-ack', 'esm'), 'esm');
  } finally {
    s.disconnect();
  }
});
