// The official engine.io-client against the engine echo server, over each transport mode:
// open, text and binary both ways, ordering, large messages, heartbeats and a clean close.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, openSocket, expectSessionGone } from './client.mjs';
import { nextEvent, record, until, bytes, isBinary, normalizeBinary, sleep, WAIT_MS } from '../lib/helpers.mjs';

const T = { timeout: 20000 };

/** Sends `data` and resolves with the next message the server sends back. */
async function roundTrip(socket, data) {
  const reply = nextEvent(socket, 'message');
  socket.send(data);
  const [echoed] = await reply;
  return echoed;
}

for (const mode of MODES) {
  describe(`engine.io-client ${mode.name}`, () => {
    test('opens a session with a well-formed handshake on the expected transport', T, async (t) => {
      const { socket, handshake, isUpgraded } = await openSocket(t, mode);
      assert.equal(typeof handshake.sid, 'string');
      assert.ok(handshake.sid.length > 0);
      assert.equal(socket.id, handshake.sid);
      assert.ok(Number.isInteger(handshake.pingInterval) && handshake.pingInterval > 0);
      assert.ok(Number.isInteger(handshake.pingTimeout) && handshake.pingTimeout > 0);
      assert.ok(Number.isInteger(handshake.maxPayload) && handshake.maxPayload > 0);
      if (mode.name === 'websocket-only') {
        // A session opened over WebSocket has nothing to upgrade to.
        assert.deepEqual(handshake.upgrades, []);
      } else {
        assert.deepEqual(handshake.upgrades, ['websocket']);
      }
      assert.equal(isUpgraded(), mode.upgrade, 'the upgrade event fired iff the mode upgrades');
      assert.equal(socket.transport.name, mode.final);
      assert.equal(socket.readyState, 'open');
    });

    test('echoes text as text, including non-ASCII', T, async (t) => {
      const { socket } = await openSocket(t, mode);
      for (const text of ['hello', 'héllo wörld ✓ 😀 — ünïcödé', '4not a packet type', '{"json":[1,2,3]}', ' ']) {
        const echoed = await roundTrip(socket, text);
        assert.equal(typeof echoed, 'string', `text ${JSON.stringify(text)} came back as text`);
        assert.equal(echoed, text);
      }
    });

    test('echoes binary as binary (Uint8Array, ArrayBuffer, Buffer)', T, async (t) => {
      const { socket } = await openSocket(t, mode);
      const u8 = new Uint8Array([0, 1, 2, 3, 0x1e, 0x7f, 0x80, 0xfe, 0xff]);
      const ab = bytes(300, 7).buffer.slice(0, 300);
      const cases = [
        ['Uint8Array', u8, Buffer.from(u8)],
        ['ArrayBuffer', ab, Buffer.from(ab)],
        ['Buffer', bytes(1024, 3), bytes(1024, 3)],
        ['single byte', new Uint8Array([0x34]), Buffer.from([0x34])],
      ];
      for (const [kind, sent, expected] of cases) {
        const echoed = await roundTrip(socket, sent);
        assert.ok(isBinary(echoed), `${kind} came back as binary, got ${typeof echoed}`);
        assert.deepEqual(normalizeBinary(echoed), expected, `${kind} content`);
      }
    });

    test('echoes binary as ArrayBuffer when binaryType is arraybuffer', T, async (t) => {
      const { socket } = await openSocket(t, mode, { binaryType: 'arraybuffer' });
      const sent = bytes(64, 11);
      const echoed = await roundTrip(socket, sent);
      assert.ok(echoed instanceof ArrayBuffer, 'an ArrayBuffer came back');
      assert.deepEqual(Buffer.from(echoed), sent);
    });

    test('a burst of mixed text and binary messages comes back complete and in order', T, async (t) => {
      const { socket } = await openSocket(t, mode);
      const sent = [];
      for (let i = 0; i < 40; i++) sent.push(i % 3 === 2 ? bytes(5 + i, i) : `burst-${i}`);
      const seen = record(socket, 'message');
      for (const m of sent) socket.send(m);
      await until(() => seen.length >= sent.length, `${sent.length} echoes arrived (got ${seen.length})`);
      await sleep(100);
      assert.equal(seen.length, sent.length, 'no extra messages');
      seen.forEach(([m], i) => {
        if (typeof sent[i] === 'string') assert.equal(m, sent[i], `message ${i}`);
        else assert.deepEqual(normalizeBinary(m), sent[i], `message ${i}`);
      });
    });

    test('large text and binary messages (256 KiB) come back intact', T, async (t) => {
      const { socket } = await openSocket(t, mode);
      const text = 'abcdefghijklmnopqrstuvwxyzé✓'.repeat(9400).slice(0, 256 * 1024);
      assert.equal(await roundTrip(socket, text), text);
      const bin = bytes(256 * 1024, 5);
      assert.deepEqual(normalizeBinary(await roundTrip(socket, bin)), bin);
    });

    test('answers server pings and stays open across several heartbeats', T, async (t) => {
      const { socket, handshake } = await openSocket(t, mode);
      if (handshake.pingInterval > 3000) {
        t.skip(`pingInterval is ${handshake.pingInterval} ms; start the server with --ping-interval-ms <= 3000 to exercise heartbeats`);
        return;
      }
      const closes = record(socket, 'close');
      const budget = handshake.pingInterval * 2 + WAIT_MS;
      await nextEvent(socket, 'ping', { ms: budget });
      await nextEvent(socket, 'ping', { ms: budget });
      assert.equal(closes.length, 0, 'the session stayed open');
      assert.equal(await roundTrip(socket, 'after-pings'), 'after-pings');
    });

    test('a close by the client is clean and ends the session on the server', T, async (t) => {
      const { socket } = await openSocket(t, mode);
      assert.equal(await roundTrip(socket, 'before-close'), 'before-close');
      const sid = socket.id;
      const errors = record(socket, 'error');
      const closed = nextEvent(socket, 'close');
      socket.close();
      const [reason] = await closed;
      assert.equal(reason, 'forced close');
      assert.equal(errors.length, 0, 'no error event');
      // Give the close packet (polling) or the WebSocket close frame a moment to reach the server.
      await sleep(300);
      await expectSessionGone(sid);
    });
  });
}

describe('engine.io-client upgrade', () => {
  test('messages sent while the upgrade is in progress keep their order', T, async (t) => {
    const mode = MODES.find((m) => m.upgrade);
    const { socket } = await openSocket(t, mode, { waitUpgrade: false });
    const upgraded = nextEvent(socket, 'upgrade', { ms: WAIT_MS * 2 });
    const seen = record(socket, 'message');
    const sent = [];
    for (let i = 0; i < 30; i++) {
      const m = i % 2 ? `straddle-${i}` : bytes(8, i);
      sent.push(m);
      socket.send(m);
      if (i % 5 === 4) await sleep(5);
    }
    await upgraded;
    await until(() => seen.length >= sent.length, `${sent.length} echoes arrived (got ${seen.length})`);
    assert.equal(socket.transport.name, 'websocket');
    seen.forEach(([m], i) => assert.deepEqual(normalizeBinary(m), normalizeBinary(sent[i]), `message ${i}`));
    // And after the upgrade, traffic flows over the WebSocket.
    const reply = nextEvent(socket, 'message');
    socket.send('after-upgrade');
    assert.equal((await reply)[0], 'after-upgrade');
  });
});
