// The core Socket.IO scenarios, defined once and run per transport mode and per parser
// (core.test.mjs: the default parser; msgpack.test.mjs: socket.io-msgpack-parser).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, connect } from './client.mjs';
import { nextEvent, record, sleep, bytes, isBinary, normalizeBinary, WAIT_MS } from '../lib/helpers.mjs';

/** Emits `event` with `args` and resolves with the argument list of the next `reply` event. */
export async function emitAndWait(socket, event, args, reply, ms = WAIT_MS) {
  const next = nextEvent(socket, reply, { ms });
  socket.emit(event, ...args);
  return next;
}

/** Emits with a plain ack callback and resolves with all the ack's arguments. */
export function emitWithCallback(socket, event, args, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${event}" within ${ms} ms`)), ms);
    socket.emit(event, ...args, (...ackArgs) => {
      clearTimeout(timer);
      resolve(ackArgs);
    });
  });
}

const JSON_ARGS = [1, 'two', { three: [3, true, null], 'k-ey': 'välue ✓' }, [4.5, -6, 'x'], false];

/**
 * Defines the core scenarios for `url` (an echo server) with client options `opts` (e.g. a
 * parser). `skip` (a string) skips them all, with that reason.
 */
export function defineCoreSuite({ label, url, opts = {}, skip = false }) {
  const T = { timeout: 20000, skip };
  const open = (t, mode, extra = {}) => connect(t, { url, mode, ...opts, ...extra });

  for (const mode of MODES) {
    describe(`${label}, ${mode.name}`, () => {
      test('connects on the expected transport; the socket id is not the Engine.IO id', T, async (t) => {
        const { socket } = await open(t, mode);
        assert.equal(socket.connected, true);
        assert.equal(typeof socket.id, 'string');
        assert.ok(socket.id.length > 0);
        assert.notEqual(socket.id, socket.io.engine.id);
        assert.equal(socket.io.engine.transport.name, mode.final);
        assert.ok(!socket.recovered, 'a fresh connection is not a recovery');
      });

      test('auth: {} when the client sends none, the object when it does', T, async (t) => {
        const none = await open(t, mode);
        assert.deepEqual(none.auth, {});
        const given = { token: 'abc', user: { id: 7, tags: ['a', 'b'] }, n: null };
        const withAuth = await open(t, mode, { auth: given });
        assert.deepEqual(withAuth.auth, given);
      });

      test('events with several arguments both ways', T, async (t) => {
        const { socket } = await open(t, mode);
        assert.deepEqual(await emitAndWait(socket, 'message', JSON_ARGS, 'message-back'), JSON_ARGS);
        assert.deepEqual(await emitAndWait(socket, 'message', [], 'message-back'), []);
        assert.deepEqual(await emitAndWait(socket, 'message', ['only'], 'message-back'), ['only']);
        // Several events in a row keep their order.
        const seen = record(socket, 'message-back');
        for (let i = 0; i < 20; i++) socket.emit('message', i, `n${i}`);
        await nextEvent(socket, 'message-back', { filter: (i) => i === 19 });
        assert.deepEqual(seen.slice(0, 20), Array.from({ length: 20 }, (_, i) => [i, `n${i}`]));
      });

      test('binary both ways: Buffers nested in objects and arrays (2 attachments) and top-level', T, async (t) => {
        const { socket } = await open(t, mode);
        const a = bytes(16, 1);
        const b = bytes(300, 9);
        const sent = [{ a, nested: { list: ['x', b, 3] } }, 'plain', 42];
        const back = await emitAndWait(socket, 'message', sent, 'message-back');
        assert.ok(isBinary(back[0].a) && isBinary(back[0].nested.list[1]), 'binary stays binary');
        assert.deepEqual(normalizeBinary(back), sent);

        const top = [new Uint8Array([0, 255, 0x1e, 10]), bytes(1, 77).buffer.slice(0, 1), 'tail'];
        const back2 = await emitAndWait(socket, 'message', top, 'message-back');
        assert.ok(isBinary(back2[0]) && isBinary(back2[1]));
        assert.deepEqual(normalizeBinary(back2), normalizeBinary(top));

        const big = bytes(200 * 1024, 4);
        const [bigBack] = await emitAndWait(socket, 'message', [big], 'message-back');
        assert.deepEqual(normalizeBinary(bigBack), big);
      });

      test('acks from the server: callback, timeout(ms).emit, emitWithAck, with and without binary', T, async (t) => {
        const { socket } = await open(t, mode);
        assert.deepEqual(await emitWithCallback(socket, 'message-with-ack', JSON_ARGS), JSON_ARGS);
        assert.deepEqual(await emitWithCallback(socket, 'message-with-ack', []), []);

        const withTimeout = await new Promise((resolve) => {
          socket.timeout(WAIT_MS).emit('message-with-ack', 'a', { b: 2 }, (err, ...args) => resolve([err, args]));
        });
        assert.equal(withTimeout[0], null);
        assert.deepEqual(withTimeout[1], ['a', { b: 2 }]);

        assert.deepEqual(await socket.emitWithAck('message-with-ack', { k: [1, 2] }), { k: [1, 2] });
        assert.equal(await socket.timeout(WAIT_MS).emitWithAck('message-with-ack', 'timed'), 'timed');

        const bin = { file: bytes(64, 3), more: [bytes(5, 200)] };
        const binBack = await emitWithCallback(socket, 'message-with-ack', [bin, 'x']);
        assert.deepEqual(normalizeBinary(binBack), [bin, 'x']);

        // Several acks in flight at once are matched by id, whatever the order of the replies.
        const many = await Promise.all(Array.from({ length: 10 }, (_, i) => socket.emitWithAck('message-with-ack', i)));
        assert.deepEqual(many, Array.from({ length: 10 }, (_, i) => i));
      });

      test('an ack that never comes times out on the client (timeout(ms).emit)', T, async (t) => {
        const { socket } = await open(t, mode);
        const [err] = await new Promise((resolve) => {
          socket.timeout(300).emit('no-such-event', 'x', (...args) => resolve(args));
        });
        assert.ok(err instanceof Error);
        assert.equal(err.message, 'operation has timed out');
        await assert.rejects(socket.timeout(300).emitWithAck('no-such-event'), /operation has timed out/);
        // The connection is still fine afterwards.
        assert.equal(await socket.emitWithAck('message-with-ack', 'still-ok'), 'still-ok');
      });

      test('acks to the server: ask → question(q1, ack) → answer', T, async (t) => {
        const { socket } = await open(t, mode);
        const questions = [];
        socket.on('question', (q, ack) => {
          questions.push(q);
          ack(`a:${q}`);
        });
        const [answer] = await emitAndWait(socket, 'ask', [], 'answer');
        assert.deepEqual(questions, ['q1']);
        assert.equal(answer, 'a:q1');
        // A second round uses a fresh ack id and works the same.
        const [again] = await emitAndWait(socket, 'ask', [], 'answer');
        assert.equal(again, 'a:q1');
      });

      test('the client disconnects cleanly', T, async (t) => {
        const { socket } = await open(t, mode);
        const engine = socket.io.engine;
        const errors = record(socket, 'connect_error');
        const reason = nextEvent(socket, 'disconnect');
        socket.disconnect();
        assert.equal((await reason)[0], 'io client disconnect');
        await sleep(50);
        assert.equal(errors.length, 0);
        assert.equal(engine.readyState, 'closed', 'the last socket closed the engine connection');
      });
    });
  }
}
