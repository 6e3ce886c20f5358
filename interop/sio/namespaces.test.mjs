// Namespaces: multiplexing / and /custom over one Engine.IO connection, middleware rejection on
// /secure, and unknown namespaces.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, SIO_URL, io, baseOptions, connect, connected, connectError, manager } from './client.mjs';
import { nextEvent, record, sleep, joinUrl } from '../lib/helpers.mjs';

const T = { timeout: 20000 };

for (const mode of MODES) {
  describe(`namespaces, ${mode.name}`, () => {
    test('/ and /custom share one Engine.IO connection and stay separate', T, async (t) => {
      const m = manager(t, { mode });
      const root = m.socket('/');
      const custom = m.socket('/custom', { auth: { ns: 'custom' } });
      const rootAuth = nextEvent(root, 'auth');
      const customAuth = nextEvent(custom, 'auth');
      await Promise.all([connected(root), connected(custom)]);
      assert.deepEqual((await rootAuth)[0], {});
      assert.deepEqual((await customAuth)[0], { ns: 'custom' });

      assert.equal(root.io, custom.io, 'one manager');
      assert.ok(root.io.engine, 'an engine connection exists');
      assert.equal(root.io.engine, custom.io.engine, 'one Engine.IO connection');
      assert.notEqual(root.id, custom.id, 'each namespace socket has its own id');

      // An event on /custom is answered on /custom only, and the same for /.
      const rootSeen = record(root, 'message-back');
      const customBack = nextEvent(custom, 'message-back');
      custom.emit('message', 'to-custom', 1);
      assert.deepEqual(await customBack, ['to-custom', 1]);
      const rootBack = nextEvent(root, 'message-back');
      root.emit('message', 'to-root');
      assert.deepEqual(await rootBack, ['to-root']);
      assert.deepEqual(rootSeen, [['to-root']], '/ never saw the /custom reply');
      assert.equal(await custom.emitWithAck('message-with-ack', 'ack-custom'), 'ack-custom');

      // Leaving /custom keeps the connection and / working.
      const engine = root.io.engine;
      custom.disconnect();
      await sleep(100);
      assert.equal(engine.readyState, 'open');
      assert.equal(await root.emitWithAck('message-with-ack', 'still-there'), 'still-there');
    });

    test('/secure without the token: connect_error "not authorized" with data {reason:"token"}', T, async (t) => {
      for (const auth of [undefined, { token: 'bad' }, { token: 'GOOD' }]) {
        const socket = io(joinUrl(SIO_URL, '/secure'), baseOptions({ ...mode.opts, ...(auth ? { auth } : {}) }));
        t.after(() => socket.disconnect());
        const err = await connectError(socket);
        assert.equal(err.message, 'not authorized', `auth ${JSON.stringify(auth)}`);
        assert.deepEqual(err.data, { reason: 'token' });
        assert.equal(socket.connected, false);
        socket.disconnect();
      }
    });

    test('/secure with token "good" connects and echoes like /', T, async (t) => {
      const { socket, auth } = await connect(t, { nsp: '/secure', mode, auth: { token: 'good', extra: 1 } });
      assert.deepEqual(auth, { token: 'good', extra: 1 });
      const back = nextEvent(socket, 'message-back');
      socket.emit('message', 'secure', { n: 1 });
      assert.deepEqual(await back, ['secure', { n: 1 }]);
      assert.deepEqual(await socket.emitWithAck('message-with-ack', [1]), [1]);
    });

    test('a refused namespace leaves the shared connection and other namespaces working', T, async (t) => {
      const m = manager(t, { mode });
      const root = m.socket('/');
      await connected(root);
      const secure = m.socket('/secure', { auth: { token: 'nope' } });
      const err = await connectError(secure);
      assert.equal(err.message, 'not authorized');
      assert.equal(m.engine.readyState, 'open');
      assert.equal(await root.emitWithAck('message-with-ack', 'alive'), 'alive');
      // A second attempt with the right token, on the same connection, succeeds.
      secure.auth = { token: 'good' };
      const secureAuth = nextEvent(secure, 'auth');
      secure.connect();
      await connected(secure);
      assert.deepEqual((await secureAuth)[0], { token: 'good' });
      assert.equal(secure.io.engine, root.io.engine, 'still one Engine.IO connection');
    });

    test('an unknown namespace: connect_error "Invalid namespace"', T, async (t) => {
      const socket = io(joinUrl(SIO_URL, '/no-such-namespace'), baseOptions(mode.opts));
      t.after(() => socket.disconnect());
      const err = await connectError(socket);
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(err.data, undefined);
    });
  });
}
