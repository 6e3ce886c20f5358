'use strict';
// Connection, events, acks and binary over each transport setup, against the
// reference server (or SERVER_URL).
const { describe, test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const io = require('../socket.io.js');
const { startServer, needsHooks, once, until, delay, bytes } = require('./helpers');

const T = { timeout: 20000 };
let server;
const sockets = [];

before(async () => { server = await startServer(); });
after(() => server && server.close());
afterEach(() => { for (const s of sockets.splice(0)) s.disconnect(); });

function client(nsp, opts) {
  const s = io(server.url + (nsp || ''), Object.assign({ forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500 }, opts));
  sockets.push(s);
  return s;
}

const SETUPS = [
  { label: 'polling only', transports: ['polling'], expected: 'polling' },
  { label: 'websocket only', transports: ['websocket'], expected: 'websocket' },
  { label: 'default (polling then upgrade)', transports: undefined, expected: 'websocket' },
];

for (const setup of SETUPS) {
  describe(setup.label, () => {
    const connect = async (opts) => {
      const s = client('', Object.assign({ transports: setup.transports }, opts));
      await once(s, 'connect');
      if (setup.expected === 'websocket' && s.io.engine.transport.name !== 'websocket') {
        await once(s.io.engine, 'upgrade');
      }
      return s;
    };

    test('connects and ends on the expected transport', T, async () => {
      const s = client('', { transports: setup.transports });
      const [auth] = await once(s, 'auth');
      assert.deepEqual(auth, {});
      assert.equal(s.connected, true);
      assert.equal(s.disconnected, false);
      assert.equal(s.active, true);
      assert.equal(typeof s.id, 'string');
      if (setup.transports === undefined) {
        // Opened with polling, then upgraded: the engine says so.
        assert.equal(s.io.engine.transport.name === 'polling' || s.io.engine.transport.name === 'websocket', true);
        await until(() => s.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
      }
      assert.equal(s.io.engine.transport.name, setup.expected);
    });

    test('events both ways', T, async () => {
      const s = await connect();
      const got = once(s, 'message-back');
      s.emit('message', 1, '2', { 3: [false] }, null, 'é€😀');
      assert.deepEqual(await got, [1, '2', { 3: [false] }, null, 'é€😀']);
      const got2 = once(s, 'message-back');
      s.send('via send');
      assert.deepEqual(await got2, ['via send']);
    });

    test('acks: callback, timeout().emit, emitWithAck', T, async () => {
      const s = await connect();
      const viaCallback = await new Promise((resolve) => s.emit('message-with-ack', 'a', 1, resolve));
      assert.equal(viaCallback, 'a');
      const withTimeout = await new Promise((resolve) =>
        s.timeout(5000).emit('message-with-ack', 'b', { c: 2 }, (...args) => resolve(args)));
      assert.deepEqual(withTimeout, [null, 'b', { c: 2 }]);
      assert.deepEqual(await s.emitWithAck('message-with-ack', [1, 2]), [1, 2]);
      assert.equal(await s.timeout(5000).emitWithAck('message-with-ack', 'd'), 'd');
    });

    test('ack timeout gives an error', T, async () => {
      const s = await connect();
      // `message` is never acknowledged by the server.
      const [err] = await new Promise((resolve) => s.timeout(200).emit('message', 'x', (...a) => resolve(a)));
      assert.ok(err instanceof Error);
      assert.equal(err.message, 'operation has timed out');
      await assert.rejects(s.timeout(200).emitWithAck('message', 'y'), /operation has timed out/);
      assert.equal(s.acks.size, 0);
    });

    test('binary both ways, nested, in events and acks', T, async () => {
      const s = await connect();
      const u8 = new Uint8Array([0, 1, 2, 255]);
      const ab = new Uint8Array([9, 8, 7]).buffer;
      const view = new Uint16Array([1, 0xffff]).subarray(1); // a window on a larger buffer
      const blob = new Blob([new Uint8Array([42, 43])]);
      const got = once(s, 'message-back');
      s.emit('message', { bin: u8, list: [ab, 'text', { deep: view }] }, blob, 7);
      const [obj, blobBack, seven] = await got;
      assert.ok(obj.bin instanceof ArrayBuffer);
      assert.deepEqual(bytes(obj.bin), [0, 1, 2, 255]);
      assert.deepEqual(bytes(obj.list[0]), [9, 8, 7]);
      assert.equal(obj.list[1], 'text');
      assert.deepEqual(bytes(obj.list[2].deep), [0xff, 0xff]);
      assert.deepEqual(bytes(blobBack), [42, 43]);
      assert.equal(seven, 7);
      const acked = await s.emitWithAck('message-with-ack', [new Uint8Array([5, 6])]);
      assert.deepEqual(bytes(acked[0]), [5, 6]);
    });

    test('server emits with an ack and the client answers', { ...T, ...needsHooks }, async () => {
      const s = await connect();
      s.on('ack-request', (data, ack) => ack('pong', data, new Uint8Array([1])));
      const got = once(s, 'ack-result');
      s.emit('server-ack', { n: 1 });
      const [reply] = await got;
      assert.equal(reply[0], 'pong');
      assert.deepEqual(reply[1], { n: 1 });
      assert.deepEqual(bytes(reply[2]), [1]);
    });
  });
}

test('emits before connect are buffered and flushed; volatile ones are dropped', T, async () => {
  const s = client();
  const seen = [];
  s.onAny((event, ...args) => { if (event === 'message-back') seen.push(args[0]); });
  s.volatile.emit('message', 'volatile');
  s.emit('message', 'early-1');
  s.emit('message', 'early-2');
  assert.equal(s.connected, false);
  await once(s, 'connect');
  await until(() => seen.length >= 2, 5000, 'the buffered echoes');
  await delay(100);
  assert.deepEqual(seen, ['early-1', 'early-2']);
});

test('auth as an object and as a function', T, async () => {
  const a = client('', { auth: { token: 'abc' } });
  assert.deepEqual((await once(a, 'auth'))[0], { token: 'abc' });
  const b = client('', { auth: (cb) => setTimeout(() => cb({ token: 'from-fn' }), 10) });
  assert.deepEqual((await once(b, 'auth'))[0], { token: 'from-fn' });
});

test('onAny, prependAny, offAny, onAnyOutgoing, offAnyOutgoing', T, async () => {
  const s = client();
  const incoming = [];
  const outgoing = [];
  const first = (ev) => incoming.push('first:' + ev);
  s.onAny((ev) => incoming.push(ev));
  s.prependAny(first);
  const out = (ev, ...args) => outgoing.push([ev, ...args]);
  s.onAnyOutgoing(out);
  await once(s, 'connect');
  const back = once(s, 'message-back');
  s.emit('message', 'hi');
  await back;
  assert.deepEqual(incoming.slice(0, 2), ['first:auth', 'auth']);
  assert.ok(incoming.includes('message-back'));
  assert.deepEqual(outgoing, [['message', 'hi']]);
  s.offAny(first);
  s.offAnyOutgoing(out);
  assert.equal(s.listenersAny().length, 1);
  assert.equal(s.listenersAnyOutgoing().length, 0);
});

test('rooms and broadcast', T, async () => {
  const a = client();
  const b = client();
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  a.emit('join', 'room-1');
  await a.emitWithAck('message-with-ack', 'sync'); // the join is processed before this ack
  const roomBack = once(a, 'room-back');
  b.emit('to-room', 'room-1', { hello: 'room' });
  assert.deepEqual(await roomBack, [{ hello: 'room' }]);

  let selfGot = false;
  a.on('broadcast-back', () => { selfGot = true; });
  const bc = once(b, 'broadcast-back');
  a.emit('broadcast', 'x', 2);
  assert.deepEqual(await bc, ['x', 2]);
  await delay(100);
  assert.equal(selfGot, false);
});

test('client disconnect: reason, state, and reserved names', T, async () => {
  const s = client();
  await once(s, 'connect');
  assert.throws(() => s.emit('disconnect'), /reserved event name/);
  const gone = once(s, 'disconnect');
  s.disconnect();
  assert.deepEqual(await gone, ['io client disconnect', undefined]);
  assert.equal(s.connected, false);
  assert.equal(s.active, false);
  assert.equal(s.id, undefined);
  await until(() => s.io.engine.readyState === 'closed', 3000, 'the engine to close');
  // connect() again works.
  s.connect();
  await once(s, 'connect');
  assert.equal(s.connected, true);
});

test('server disconnect gives "io server disconnect" and no reconnection', { ...T, ...needsHooks }, async () => {
  const s = client();
  await once(s, 'connect');
  let attempts = 0;
  s.io.on('reconnect_attempt', () => { attempts++; });
  const gone = once(s, 'disconnect');
  s.emit('server-disconnect');
  assert.equal((await gone)[0], 'io server disconnect');
  assert.equal(s.active, false);
  await delay(300);
  assert.equal(attempts, 0);
});

test('retries with ackTimeout: resends until acked, then fails', T, async () => {
  const s = client('', { transports: ['polling'], ackTimeout: 300, retries: 2 });
  let echoes = 0;
  s.on('message-back', () => { echoes++; });
  // `message` is never acked: 1 try + 2 retries, then the error.
  const [err] = await new Promise((resolve) => s.emit('message', 'again', (...a) => resolve(a)));
  assert.equal(err.message, 'operation has timed out');
  await until(() => echoes === 3, 2000, 'three deliveries');
  // An acked event succeeds on the first try, with (null, ...args).
  const ok = await new Promise((resolve) => s.emit('message-with-ack', 'once', (...a) => resolve(a)));
  assert.deepEqual(ok, [null, 'once']);
  assert.equal(await s.emitWithAck('message-with-ack', 'promise'), 'promise');
});

test('rememberUpgrade starts with WebSocket after a successful upgrade', T, async () => {
  const first = client();
  await once(first, 'connect');
  await until(() => first.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
  const s = client('', { rememberUpgrade: true });
  assert.equal(s.io.engine.transport.name, 'websocket', 'no polling handshake');
  await once(s, 'connect');
  assert.equal(s.io.engine.transport.name, 'websocket');
});

test('pending acks fail with "socket has been disconnected" when the link drops', { ...T, ...needsHooks }, async () => {
  const s = client('', { transports: ['websocket'] });
  await once(s, 'connect');
  const pending = s.emitWithAck('message', 'never acked');
  s.emit('close-transport');
  await assert.rejects(pending, /socket has been disconnected/);
  await once(s, 'connect'); // and it reconnects
});
