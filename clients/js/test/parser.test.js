'use strict';
// Unit tests of the codecs and helpers, through io._internals (not public API).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const io = require('../socket.io.js');
const { bytes } = require('./helpers');

const { encodeEnginePacket, decodeEnginePacket, encodePacket, Decoder, Backoff, parseUrl } = io._internals;

test('exports: io(), Manager, Socket, protocol 5', () => {
  assert.equal(typeof io, 'function');
  assert.equal(io.io, io);
  assert.equal(io.connect, io);
  assert.equal(typeof io.Manager, 'function');
  assert.equal(typeof io.Socket, 'function');
  assert.equal(io.protocol, 5);
});

test('Engine.IO packet encoding', () => {
  assert.equal(encodeEnginePacket({ type: 'message', data: 'hello' }, false), '4hello');
  assert.equal(encodeEnginePacket({ type: 'pong' }, false), '3');
  assert.equal(encodeEnginePacket({ type: 'ping', data: 'probe' }, true), '2probe');
  assert.equal(encodeEnginePacket({ type: 'upgrade' }, true), '5');
  const bin = new Uint8Array([1, 2, 3, 4]);
  assert.equal(encodeEnginePacket({ type: 'message', data: bin }, false), 'bAQIDBA==');
  assert.equal(encodeEnginePacket({ type: 'message', data: bin }, true), bin, 'raw on WebSocket');
  // Only the window of a view is encoded.
  assert.equal(encodeEnginePacket({ type: 'message', data: new Uint8Array([9, 1, 2, 9]).subarray(1, 3) }, false), 'bAQI=');
});

test('Engine.IO packet decoding', () => {
  assert.deepEqual(decodeEnginePacket('4hello'), { type: 'message', data: 'hello' });
  assert.deepEqual(decodeEnginePacket('2'), { type: 'ping' });
  assert.deepEqual(decodeEnginePacket('6'), { type: 'noop' });
  assert.deepEqual(decodeEnginePacket('3probe'), { type: 'pong', data: 'probe' });
  const b = decodeEnginePacket('bAQIDBA==');
  assert.equal(b.type, 'message');
  assert.ok(b.data instanceof ArrayBuffer);
  assert.deepEqual(bytes(b.data), [1, 2, 3, 4]);
  const raw = new ArrayBuffer(1);
  assert.equal(decodeEnginePacket(raw).data, raw);
  assert.throws(() => decodeEnginePacket(''));
  assert.throws(() => decodeEnginePacket('abc'));
  assert.throws(() => decodeEnginePacket('7'));
  assert.throws(() => decodeEnginePacket('b%%%'));
});

test('Socket.IO encoding matches the wire examples', () => {
  assert.deepEqual(encodePacket({ type: 0, nsp: '/' }), ['0']);
  assert.deepEqual(encodePacket({ type: 0, nsp: '/admin', data: { token: '123' } }), ['0/admin,{"token":"123"}']);
  assert.deepEqual(encodePacket({ type: 1, nsp: '/admin' }), ['1/admin,']);
  assert.deepEqual(encodePacket({ type: 2, nsp: '/', data: ['foo'] }), ['2["foo"]']);
  assert.deepEqual(encodePacket({ type: 2, nsp: '/admin', id: 12, data: ['foo'] }), ['2/admin,12["foo"]']);
  assert.deepEqual(encodePacket({ type: 3, nsp: '/', id: 456, data: [1, '2', { 3: [false] }] }), ['3456[1,"2",{"3":[false]}]']);
  assert.deepEqual(encodePacket({ type: 3, nsp: '/', id: 0, data: [] }), ['30[]']);
});

test('Socket.IO binary encoding: placeholders in order, caller data untouched', () => {
  const a = new Uint8Array([1]);
  const b = new ArrayBuffer(2);
  const data = ['baz', { x: a, list: [b, 'k'] }];
  const parts = encodePacket({ type: 2, nsp: '/admin', id: 3, data });
  assert.equal(parts[0], '52-/admin,3["baz",{"x":{"_placeholder":true,"num":0},"list":[{"_placeholder":true,"num":1},"k"]}]');
  assert.equal(parts[1], a);
  assert.equal(parts[2], b);
  assert.equal(data[1].x, a, 'not mutated');
  assert.deepEqual(encodePacket({ type: 3, nsp: '/', id: 15, data: ['bar', a] }),
    ['61-15["bar",{"_placeholder":true,"num":0}]', a]);
  // A "__proto__" own key stays a plain key.
  const tricky = JSON.parse('{"__proto__":{"v":1},"bin":null}');
  tricky.bin = a;
  assert.equal(encodePacket({ type: 2, nsp: '/', data: ['t', tricky] })[0],
    '51-["t",{"__proto__":{"v":1},"bin":{"_placeholder":true,"num":0}}]');
  // Objects with toJSON are left to JSON.stringify.
  assert.deepEqual(encodePacket({ type: 2, nsp: '/', data: ['d', new Date(0)] }), ['2["d","1970-01-01T00:00:00.000Z"]']);
});

function decodeAll(...chunks) {
  const d = new Decoder();
  const out = [];
  d.on('decoded', (p) => out.push(p));
  for (const c of chunks) d.add(c);
  return out;
}

test('Socket.IO decoding', () => {
  assert.deepEqual(decodeAll('0{"sid":"abc"}'), [{ type: 0, nsp: '/', data: { sid: 'abc' } }]);
  assert.deepEqual(decodeAll('0/admin,{"sid":"x","pid":"y"}'), [{ type: 0, nsp: '/admin', data: { sid: 'x', pid: 'y' } }]);
  assert.deepEqual(decodeAll('1/custom'), [{ type: 1, nsp: '/custom' }], 'namespace without a trailing comma');
  assert.deepEqual(decodeAll('212["foo"]'), [{ type: 2, nsp: '/', id: 12, data: ['foo'] }]);
  assert.deepEqual(decodeAll('2[1,2]'), [{ type: 2, nsp: '/', data: [1, 2] }], 'numeric event name');
  assert.deepEqual(decodeAll('4{"message":"no","data":{"r":1}}'), [{ type: 4, nsp: '/', data: { message: 'no', data: { r: 1 } } }]);
  assert.deepEqual(decodeAll('4/x,"legacy text"'), [{ type: 4, nsp: '/x', data: 'legacy text' }]);
  assert.deepEqual(decodeAll('3/admin,13[]'), [{ type: 3, nsp: '/admin', id: 13, data: [] }]);
});

test('Socket.IO binary decoding', () => {
  const b0 = new Uint8Array([1]).buffer;
  const b1 = new Uint8Array([2]).buffer;
  const [p] = decodeAll('52-/admin,7["e",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]', b0, b1);
  assert.equal(p.type, 2, 'handled as EVENT');
  assert.equal(p.nsp, '/admin');
  assert.equal(p.id, 7);
  assert.equal(p.data[1], b1);
  assert.equal(p.data[2][0], b0);
  const [ack] = decodeAll('61-3[{"_placeholder":true,"num":0}]', b0);
  assert.deepEqual([ack.type, ack.id, ack.data[0]], [3, 3, b0]);
  // A "__proto__" key holding a placeholder must not change the prototype.
  const [q] = decodeAll('51-["e",{"__proto__":{"_placeholder":true,"num":0}}]', b0);
  assert.equal(Object.getPrototypeOf(q.data[1]), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(q.data[1], '__proto__').value, b0);
});

test('Socket.IO decoding rejects malformed packets', () => {
  const bad = ['', '7', 'a', '2{}', '2[]', '2["connect"]', '2abc["x"]', '0[1]', '0{bad', '0', '1{}', '3{}',
    '4[1]', '5["a"]', '5-["a"]', '50-["a"]', '511-["a"]', '5x-["a"]', '2["a"'];
  for (const text of bad) assert.throws(() => decodeAll(text), undefined, JSON.stringify(text));
  assert.throws(() => decodeAll(new ArrayBuffer(1)), /not reconstructing/);
  assert.throws(() => decodeAll('51-["a",{"_placeholder":true,"num":0}]', '2["b"]'), /reconstructing/);
  assert.throws(() => decodeAll('51-["a",{"_placeholder":true,"num":1}]', new ArrayBuffer(1)), /illegal attachments/);
  assert.throws(() => decodeAll('51-["a",{"_placeholder":true,"num":"0"}]', new ArrayBuffer(1)), /illegal attachments/);
});

test('backoff doubles, is capped, and jitters within the factor', () => {
  const b = new Backoff(100, 1000, 0);
  assert.deepEqual([b.duration(), b.duration(), b.duration(), b.duration(), b.duration()], [100, 200, 400, 800, 1000]);
  b.reset();
  assert.equal(b.duration(), 100);
  const j = new Backoff(1000, 100000, 0.5);
  for (let i = 0; i < 200; i++) {
    j.attempts = 2;
    const d = j.duration();
    assert.ok(d >= 2000 && d <= 6000, String(d));
  }
});

test('URL parsing and the Manager cache key', () => {
  assert.deepEqual(parseUrl('http://h:3000/ns?x=1', '/socket.io'),
    { secure: false, host: 'h:3000', nsp: '/ns', query: 'x=1', source: 'http://h:3000/ns?x=1', id: 'http://h:3000/socket.io/' });
  const s = parseUrl('https://h', '/custom/path/');
  assert.deepEqual([s.secure, s.host, s.nsp, s.id], [true, 'h:443', '/', 'https://h:443/custom/path/']);
  assert.equal(parseUrl('ws://h', undefined).host, 'h:80');
  assert.equal(parseUrl('wss://h', undefined).secure, true);
  assert.equal(parseUrl('h:1234', undefined).host, 'h:1234');
  assert.equal(parseUrl('http://[::1]:3000', undefined).host, '[::1]:3000');
  assert.throws(() => io('/ns'), /absolute URL/);
});

test('emitter: on, once, off, listeners', () => {
  const m = new io.Manager('http://127.0.0.1:9', { autoConnect: false });
  const calls = [];
  const f = (x) => calls.push('f' + x);
  m.on('e', f);
  m.once('e', (x) => calls.push('once' + x));
  m.emit('e', 1);
  m.emit('e', 2);
  assert.deepEqual(calls, ['f1', 'once1', 'f2']);
  assert.equal(m.listeners('e').length, 1);
  const g = () => calls.push('g');
  m.once('e', g);
  m.off('e', g);
  m.off('e', f);
  assert.equal(m.hasListeners('e'), false);
});
