// maxPayload enforcement, against a second engine echo server started with --max-payload 100
// (ENGINE_SMALL_URL): a message over the limit ends the session, one under it is echoed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, openSocket } from './client.mjs';
import { optionalEnv, nextEvent, record, sleep, bytes, normalizeBinary, WAIT_MS } from '../lib/helpers.mjs';

const SMALL = optionalEnv('ENGINE_SMALL_URL', 'the maxPayload tests (need an engine echo server with --max-payload 100)');
const T = { timeout: 20000, skip: SMALL ? false : 'ENGINE_SMALL_URL is not set' };

for (const mode of MODES) {
  describe(`maxPayload 100, ${mode.name}`, () => {
    test('the client learns maxPayload 100 and a message under it is echoed', T, async (t) => {
      const { socket, handshake } = await openSocket(t, mode, { url: SMALL });
      assert.equal(handshake.maxPayload, 100);
      const reply = nextEvent(socket, 'message');
      socket.send('x'.repeat(50));
      assert.equal((await reply)[0], 'x'.repeat(50));
    });

    for (const [kind, big] of [
      ['text', 'y'.repeat(400)],
      ['binary', bytes(400)],
    ]) {
      test(`a ${kind} message over maxPayload closes the session without an echo`, T, async (t) => {
        const { socket } = await openSocket(t, mode, { url: SMALL });
        assert.equal(socket.transport.name, mode.final);
        const messages = record(socket, 'message');
        // The error event that may come with the close (polling: HTTP 413) is expected here.
        socket.on('error', () => {});
        const closed = nextEvent(socket, 'close', { ms: WAIT_MS * 2 });
        socket.send(big);
        const [reason] = await closed;
        assert.ok(['transport error', 'transport close'].includes(reason), `close reason ${reason}`);
        await sleep(100);
        assert.equal(messages.length, 0, `no echo, got ${JSON.stringify(messages.map(([m]) => normalizeBinary(m)))}`);
      });
    }
  });
}
