'use strict';
// Connection state recovery (Socket.IO >= 4.6): needs a server with
// `connectionStateRecovery` on and the `close-transport` hook: a spawned
// `reference-server.mjs --recovery`, or RECOVERY_SERVER_URL.
const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const io = require('../socket.io.js');
const { startRecoveryServer, once, until } = require('./helpers');

const T = { timeout: 20000 };
let server;
const sockets = [];

before(async () => { server = await startRecoveryServer(); });
after(() => server && server.close());
afterEach(() => { for (const s of sockets.splice(0)) s.disconnect(); });

for (const transports of [['polling'], ['websocket'], undefined]) {
  const label = transports ? transports.join('+') : 'default';
  test(`recovers the session and replays a missed event (${label})`, T, async (t) => {
    if (!server) { t.skip('no recovery server (set RECOVERY_SERVER_URL)'); return; }
    const s = io(server.url + '/custom', { forceNew: true, transports, auth: { user: 'u1' },
      reconnectionDelay: 100, randomizationFactor: 0 });
    sockets.push(s);
    // The server's first emit (`auth`) carries an offset: the client keeps it.
    const [auth, offset] = await once(s, 'auth');
    assert.deepEqual(auth, { user: 'u1' });
    assert.equal(typeof offset, 'string');
    assert.equal(s.recovered, false);
    if (!transports) await until(() => s.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    const firstId = s.id;

    const outbound = [];
    const origPacket = s.io._packet.bind(s.io);
    s.io._packet = (p) => { outbound.push(p); origPacket(p); };

    const missed = once(s, 'missed', 8000);
    const gone = once(s, 'disconnect');
    s.emit('close-transport', { while: 'away' });
    assert.equal((await gone)[0], 'transport close');
    const [data] = await missed;
    assert.deepEqual(data, { while: 'away' });
    await until(() => s.connected, 5000, 'the reconnection');
    assert.equal(s.recovered, true);
    assert.equal(s.id, firstId, 'same socket id after recovery');

    const connectPacket = outbound.find((p) => p.type === 0);
    assert.ok(connectPacket, 'a CONNECT was sent');
    assert.equal(typeof connectPacket.data.pid, 'string');
    assert.equal(typeof connectPacket.data.offset, 'string');
    assert.equal(connectPacket.data.user, 'u1', 'auth is sent along');
  });
}
