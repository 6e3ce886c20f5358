// Connection state recovery, against an echo server started with --recovery (SIO_RECOVERY_URL):
// the server drops the transport while an emit-later is pending; the client reconnects on its own
// and must get `recovered === true`, the same socket id, its rooms, and the missed event once.
// Also checks, against SIO_URL (no recovery), that a reconnect there is a fresh session.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, SIO_URL, connect, connected } from './client.mjs';
import { optionalEnv, nextEvent, sleep, unique, WAIT_MS } from '../lib/helpers.mjs';

const RECOVERY_URL = optionalEnv('SIO_RECOVERY_URL', 'the connection state recovery tests (need an echo server with --recovery)');
const T = { timeout: 30000 };
const TR = { ...T, skip: RECOVERY_URL ? false : 'SIO_RECOVERY_URL is not set' };

// The server fires the pending event EMIT_DELAY_MS after it got `emit-later`; the client waits
// RECONNECT_DELAY_MS (fixed: no randomisation) after the drop before reconnecting. The wide gap
// makes sure the event is emitted while the client is away, even on a loaded machine.
const EMIT_DELAY_MS = 200;
const RECONNECT_DELAY_MS = 1500;
const reconnecting = {
  reconnection: true,
  reconnectionAttempts: 3,
  reconnectionDelay: RECONNECT_DELAY_MS,
  reconnectionDelayMax: RECONNECT_DELAY_MS,
  randomizationFactor: 0,
};

/** Drops the transport from the server side, with `emit-later` pending; resolves the disconnect reason. */
async function dropWithPendingEmit(socket, event, data) {
  const disconnected = nextEvent(socket, 'disconnect');
  socket.emit('emit-later', event, data, EMIT_DELAY_MS);
  socket.emit('drop-transport');
  const [reason] = await disconnected;
  return reason;
}

for (const mode of [MODES[0], MODES[1]]) {
  describe(`connection state recovery, ${mode.name}`, () => {
    test('a dropped transport is recovered: same id, recovered === true, missed event once', TR, async (t) => {
      const { socket } = await connect(t, { url: RECOVERY_URL, mode, ...reconnecting });
      const firstId = socket.id;
      assert.ok(!socket.recovered);
      const event = unique('late');
      const data = { missed: unique('payload') };
      const got = [];
      // With recovery on, the server appends the packet's offset (a string) as a last argument.
      socket.on(event, (...args) => got.push(args));

      const reason = await dropWithPendingEmit(socket, event, data);
      assert.equal(reason, 'transport close');
      assert.equal(got.length, 0, 'nothing arrived before the drop');

      await nextEvent(socket, 'connect', { ms: RECONNECT_DELAY_MS + WAIT_MS });
      assert.equal(socket.recovered, true, 'socket.recovered');
      assert.equal(socket.id, firstId, 'a recovered socket keeps its id');
      // Let any duplicate arrive before counting.
      await socket.emitWithAck('message-with-ack', 'barrier');
      await sleep(300);
      assert.equal(got.length, 1, `the missed event arrived exactly once (got ${got.length})`);
      assert.deepEqual(got[0][0], data);
      assert.equal(typeof got[0][1], 'string', 'the replayed event carries its offset');
      // And the recovered socket works as before.
      assert.equal(await socket.emitWithAck('message-with-ack', 'after'), 'after');
    });

    test('a recovered socket is back in its rooms', TR, async (t) => {
      const room = unique('rroom');
      const { socket } = await connect(t, { url: RECOVERY_URL, mode, ...reconnecting });
      await socket.emitWithAck('join', room);
      const reason = await dropWithPendingEmit(socket, unique('unused'), null);
      assert.equal(reason, 'transport close');
      await nextEvent(socket, 'connect', { ms: RECONNECT_DELAY_MS + WAIT_MS });
      assert.equal(socket.recovered, true);
      const { socket: other } = await connect(t, { url: RECOVERY_URL, mode: MODES[0] });
      const got = nextEvent(socket, 'room-back');
      other.emit('to-room', room, 'still-a-member');
      assert.equal((await got)[0], 'still-a-member');
    });
  });
}

describe('without connection state recovery', () => {
  test('a reconnect after a dropped transport is a new session (recovered is not true)', T, async (t) => {
    const { socket } = await connect(t, { url: SIO_URL, mode: MODES[0], ...reconnecting, reconnectionDelay: 200, reconnectionDelayMax: 200 });
    const firstId = socket.id;
    const disconnected = nextEvent(socket, 'disconnect');
    socket.emit('drop-transport');
    assert.equal((await disconnected)[0], 'transport close');
    const auth = nextEvent(socket, 'auth', { ms: WAIT_MS * 2 });
    await connected(socket, WAIT_MS * 2);
    await auth;
    assert.notEqual(socket.recovered, true);
    assert.notEqual(socket.id, firstId);
  });
});
