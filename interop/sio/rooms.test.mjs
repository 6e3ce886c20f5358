// Rooms and broadcast through the echo contract: `join` + `to-room` reach members only, and
// `broadcast` reaches every other socket of the namespace but not the sender. The sockets use
// different transports so that fan-out across transports is covered too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, connect } from './client.mjs';
import { nextEvent, record, sleep, bytes, normalizeBinary, unique } from '../lib/helpers.mjs';

const T = { timeout: 20000 };
const [WS, POLLING, DEFAULT] = MODES;

/**
 * A negative check: after a round trip through the server on each socket (so anything the server
 * sent them earlier has been delivered) and a short grace period, `seen` must still be empty.
 */
async function expectNothing(sockets, seenLists, what) {
  await Promise.all(sockets.map((s) => s.emitWithAck('message-with-ack', 'barrier')));
  await sleep(200);
  seenLists.forEach((seen, i) => assert.deepEqual(seen, [], `${what} (socket ${i})`));
}

describe('rooms', () => {
  test('join then to-room reaches the members only, the sender included when it is a member', T, async (t) => {
    const room = unique('room');
    const { socket: a } = await connect(t, { mode: WS });
    const { socket: b } = await connect(t, { mode: POLLING });
    const { socket: c } = await connect(t, { mode: DEFAULT });
    const { socket: d } = await connect(t, { mode: WS, nsp: '/custom' });

    // join acks once the socket is in the room.
    assert.deepEqual(await new Promise((resolve) => a.emit('join', room, (...args) => resolve(args))), []);
    await b.emitWithAck('join', room);
    await d.emitWithAck('join', room); // same room name, other namespace

    const cSeen = record(c, 'room-back');
    const dSeen = record(d, 'room-back');
    const aGot = nextEvent(a, 'room-back');
    const bGot = nextEvent(b, 'room-back');
    const payload = { hello: 'members', n: [1, 2] };
    c.emit('to-room', room, payload);
    assert.deepEqual(await aGot, [payload]);
    assert.deepEqual(await bGot, [payload]);
    await expectNothing([c, d], [cSeen, dSeen], 'a non-member or another namespace got room-back');

    // A member sending to its own room gets it too (nsp.to(room), not socket.to(room)).
    const aAgain = nextEvent(a, 'room-back');
    const bAgain = nextEvent(b, 'room-back');
    a.emit('to-room', room, 'from-a');
    assert.deepEqual(await aAgain, ['from-a']);
    assert.deepEqual(await bAgain, ['from-a']);
    await expectNothing([c, d], [cSeen, dSeen], 'a non-member got room-back');
  });

  test('to-room carries binary to every member', T, async (t) => {
    const room = unique('binroom');
    const { socket: a } = await connect(t, { mode: WS });
    const { socket: b } = await connect(t, { mode: POLLING });
    await a.emitWithAck('join', room);
    await b.emitWithAck('join', room);
    const data = { blob: bytes(100, 1), parts: [bytes(3, 250), 'x'] };
    const got = [nextEvent(a, 'room-back'), nextEvent(b, 'room-back')];
    b.emit('to-room', room, data);
    for (const g of got) assert.deepEqual(normalizeBinary(await g), [data]);
  });

  test('an empty room reaches nobody', T, async (t) => {
    const { socket: a } = await connect(t, { mode: WS });
    const seen = record(a, 'room-back');
    a.emit('to-room', unique('nobody-here'), 'x');
    await expectNothing([a], [seen], 'room-back from an empty room');
  });
});

describe('broadcast', () => {
  test('reaches every other socket of the namespace, not the sender, not other namespaces', T, async (t) => {
    const { socket: a } = await connect(t, { mode: WS });
    const { socket: b } = await connect(t, { mode: POLLING });
    const { socket: c } = await connect(t, { mode: DEFAULT });
    const { socket: d } = await connect(t, { mode: WS, nsp: '/custom' });
    const tag = unique('bcast');
    const args = [tag, 1, { three: [3] }, bytes(10, 5)];
    const mine = (x) => x === tag;
    const aSeen = [];
    a.on('broadcast-back', (x) => mine(x) && aSeen.push(x));
    const dSeen = [];
    d.on('broadcast-back', (x) => mine(x) && dSeen.push(x));
    const bGot = nextEvent(b, 'broadcast-back', { filter: mine });
    const cGot = nextEvent(c, 'broadcast-back', { filter: mine });
    a.emit('broadcast', ...args);
    assert.deepEqual(normalizeBinary(await bGot), args);
    assert.deepEqual(normalizeBinary(await cGot), args);
    await expectNothing([a, d], [aSeen, dSeen], 'the sender or another namespace got broadcast-back');
  });
});
