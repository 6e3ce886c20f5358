'use strict';
// Namespaces, multiplexing, connect errors and reconnection.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const io = require('../socket.io.js');
const { startServer, needsHooks, once, until, delay } = require('./helpers');

const T = { timeout: 20000 };
let server;
const sockets = [];

before(async () => { server = await startServer(); });
after(() => server && server.close());
afterEach(() => { for (const s of sockets.splice(0)) s.disconnect(); });

function track(s) {
  sockets.push(s);
  return s;
}

test('sockets of several namespaces share one Engine.IO connection', T, async () => {
  const main = track(io(server.url, { transports: ['polling'] }));
  const custom = track(io(server.url + '/custom'));
  assert.equal(main.io, custom.io, 'one Manager');
  const opened = [];
  // Count the Engine.IO handshakes of this Manager: one for both namespaces.
  main.io.on('open', () => opened.push(main.io.engine));
  await Promise.all([once(main, 'connect'), once(custom, 'connect')]);
  assert.equal(main.io.engine, custom.io.engine);
  assert.notEqual(main.id, custom.id);

  // Events stay in their namespace.
  let mainGot = false;
  main.on('message-back', () => { mainGot = true; });
  const back = once(custom, 'message-back');
  custom.emit('message', 'on custom');
  assert.deepEqual(await back, ['on custom']);
  await delay(50);
  assert.equal(mainGot, false);

  // Leaving one namespace keeps the connection; leaving the last closes it.
  custom.disconnect();
  await delay(50);
  assert.equal(main.io.engine.readyState, 'open');
  assert.deepEqual(await main.emitWithAck('message-with-ack', 'still'), 'still');
  main.disconnect();
  await until(() => main.io.engine.readyState === 'closed', 3000, 'the engine to close');
  assert.equal(opened.length, 1);
});

test('the same namespace twice, forceNew and multiplex:false get new Managers', T, async () => {
  const a = track(io(server.url + '/custom', { transports: ['polling'] }));
  const b = track(io(server.url + '/custom', { transports: ['polling'] }));
  const c = track(io(server.url, { forceNew: true, transports: ['polling'] }));
  const d = track(io(server.url, { multiplex: false, transports: ['polling'] }));
  assert.notEqual(a.io, b.io);
  assert.notEqual(c.io, d.io);
  await Promise.all([a, b, c, d].map((s) => once(s, 'connect')));
  assert.notEqual(a.io.engine.id, b.io.engine.id);
});

test('Manager used directly: socket() per namespace', T, async () => {
  const manager = new io.Manager(server.url, { autoConnect: false, transports: ['websocket'] });
  const s = track(manager.socket('/custom', { auth: { via: 'manager' } }));
  assert.equal(manager.socket('/custom'), s);
  const auth = once(s, 'auth');
  const opened = once(manager, 'open');
  s.connect();
  await opened;
  assert.deepEqual((await auth)[0], { via: 'manager' });
  assert.equal(s.connected, true);
  assert.equal(manager.reconnectionDelay(), 1000);
  assert.equal(manager.timeout(), 20000);
});

test('unknown namespace: connect_error "Invalid namespace"', T, async () => {
  const s = track(io(server.url + '/does-not-exist', { forceNew: true }));
  const [err] = await once(s, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  assert.equal(s.active, false);
});

test('middleware refusal: connect_error with err.data', { ...T, ...needsHooks }, async () => {
  const s = track(io(server.url + '/refuse', { forceNew: true }));
  const [err] = await once(s, 'connect_error');
  assert.ok(err instanceof Error);
  assert.equal(err.message, 'not authorized');
  assert.deepEqual(err.data, { reason: 'token' });
  assert.equal(s.connected, false);
  assert.equal(s.active, false, 'no automatic retry after a refusal');
});

for (const transports of [['polling'], ['websocket'], undefined]) {
  const label = transports ? transports.join('+') : 'default';
  test(`reconnects after the server closes the connection (${label})`, { ...T, ...needsHooks }, async () => {
    const s = track(io(server.url, { forceNew: true, transports, reconnectionDelay: 50, reconnectionDelayMax: 200 }));
    await once(s, 'connect');
    if (!transports) await until(() => s.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    const firstId = s.id;
    const events = [];
    s.io.on('close', (reason) => events.push('close:' + reason));
    s.io.on('reconnect_attempt', (n) => events.push('attempt:' + n));
    s.io.on('reconnect', (n) => events.push('reconnect:' + n));
    const gone = once(s, 'disconnect');
    const reconnected = once(s.io, 'reconnect');
    s.emit('close-transport');
    assert.equal((await gone)[0], 'transport close');
    assert.equal(s.active, true, 'still trying');
    await reconnected;
    await once(s, 'connect');
    assert.equal(s.connected, true);
    assert.notEqual(s.id, firstId);
    assert.equal(s.recovered, false, 'recovery is off on this server');
    assert.deepEqual(events, ['close:transport close', 'attempt:1', 'reconnect:1']);
    assert.deepEqual(await s.emitWithAck('message-with-ack', 'after'), 'after');
  });
}

test('ping events reach the Manager and the link stays up', T, async (t) => {
  if (process.env.SERVER_URL) { t.skip('needs a spawned reference server with a short ping interval'); return; }
  const { spawnServer } = require('./helpers');
  const fast = await spawnServer(['--ping-interval', '100', '--ping-timeout', '1000']);
  try {
    const s = track(io(fast.url, { forceNew: true }));
    await once(s, 'connect');
    let pings = 0;
    s.io.on('ping', () => { pings++; });
    await delay(1300); // longer than interval + timeout: only pongs keep it alive
    assert.ok(pings >= 5, `got ${pings} pings`);
    assert.equal(s.connected, true);
    s.disconnect();
  } finally {
    await fast.close();
  }
});
