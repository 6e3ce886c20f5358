// Raw HTTP checks of Engine.IO wire rules that the official client tolerates either way and so
// cannot show: exact handshake shape, error bodies, POST reply, polling payload framing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINE_URL, rawUrl } from './client.mjs';
import { optionalEnv } from '../lib/helpers.mjs';

const T = { timeout: 15000 };
const RS = '\x1e';
const ENGINE_SMALL_URL = optionalEnv('ENGINE_SMALL_URL', 'the maxPayload advertised by the small-payload server');

async function get(query, base) {
  const res = await fetch(rawUrl(query, base), { signal: AbortSignal.timeout(8000) });
  return { res, body: await res.text() };
}

async function post(sid, body, contentType = 'text/plain;charset=UTF-8') {
  const res = await fetch(rawUrl(`EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`), {
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    signal: AbortSignal.timeout(8000),
  });
  return { res, body: await res.text() };
}

/** Opens a polling session by hand and returns its parsed open packet. */
async function handshake(base = ENGINE_URL) {
  const { res, body } = await get('EIO=4&transport=polling', base);
  assert.equal(res.status, 200, `handshake status (body ${body})`);
  assert.equal(body[0], '0', 'the body is an open packet');
  return { open: JSON.parse(body.slice(1)), body };
}

/** Polls until the server sends the packets it owes, dropping pings; returns the other packets. */
async function pollPackets(sid, want) {
  const packets = [];
  for (let i = 0; i < 10 && packets.length < want; i++) {
    const { res, body } = await get(`EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`);
    assert.equal(res.status, 200, `poll status (body ${body})`);
    for (const p of body.split(RS)) if (p !== '2') packets.push(p);
  }
  return packets;
}

function mediaType(res) {
  return (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

async function expectError(query, status, code, message) {
  const { res, body } = await get(query);
  assert.equal(res.status, status, `status for ?${query} (body ${body})`);
  assert.equal(mediaType(res), 'application/json', 'error bodies are JSON');
  assert.equal(body, JSON.stringify({ code, message }), `body for ?${query}`);
}

describe('engine raw HTTP', () => {
  test('the polling handshake is exactly 0{sid,upgrades,pingInterval,pingTimeout,maxPayload}', T, async () => {
    const { open, body } = await handshake();
    assert.match(
      body,
      /^0\{"sid":"[^"\\]+","upgrades":\["websocket"\],"pingInterval":\d+,"pingTimeout":\d+,"maxPayload":\d+\}$/,
    );
    assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
    assert.ok(open.sid.length > 0);
    assert.deepEqual(open.upgrades, ['websocket']);
  });

  test('each handshake gets a distinct sid', T, async () => {
    const sids = new Set();
    for (let i = 0; i < 5; i++) sids.add((await handshake()).open.sid);
    assert.equal(sids.size, 5);
  });

  test('the handshake advertises the configured maxPayload', { ...T, skip: ENGINE_SMALL_URL ? false : 'ENGINE_SMALL_URL is not set' }, async () => {
    const { open } = await handshake(ENGINE_SMALL_URL);
    assert.equal(open.maxPayload, 100);
  });

  test('an unknown sid is 400 {"code":1,"message":"Session ID unknown"}', T, async () => {
    await expectError('EIO=4&transport=polling&sid=not-a-session-id', 400, 1, 'Session ID unknown');
  });

  test('an unknown or missing transport is 400 code 0 "Transport unknown"', T, async () => {
    await expectError('EIO=4&transport=carrier-pigeon', 400, 0, 'Transport unknown');
    await expectError('EIO=4&transport=Polling', 400, 0, 'Transport unknown');
    await expectError('EIO=4', 400, 0, 'Transport unknown');
  });

  test('a bad or missing EIO is 400 code 5 "Unsupported protocol version"', T, async () => {
    await expectError('EIO=3&transport=polling', 400, 5, 'Unsupported protocol version');
    await expectError('EIO=5&transport=polling', 400, 5, 'Unsupported protocol version');
    await expectError('EIO=abc&transport=polling', 400, 5, 'Unsupported protocol version');
    await expectError('transport=polling', 400, 5, 'Unsupported protocol version');
  });

  test('a POST is answered 200 "ok" with Content-Type text/html, and the echo comes back on GET', T, async () => {
    const { open } = await handshake();
    const { res, body } = await post(open.sid, '4hello');
    assert.equal(res.status, 200);
    assert.equal(body, 'ok');
    assert.equal(mediaType(res), 'text/html');
    assert.deepEqual(await pollPackets(open.sid, 1), ['4hello']);
    await post(open.sid, '1');
  });

  test('several packets in one \\x1e-separated POST (text and base64 binary) are echoed in order', T, async () => {
    const { open } = await handshake();
    const { body } = await post(open.sid, ['4one', '4two', '4thrée', 'bAQIDBA=='].join(RS));
    assert.equal(body, 'ok');
    assert.deepEqual(await pollPackets(open.sid, 4), ['4one', '4two', '4thrée', 'bAQIDBA==']);
    await post(open.sid, '1');
  });

  test('a close packet ends the session: later requests get 400 code 1', T, async () => {
    const { open } = await handshake();
    const { res } = await post(open.sid, '1');
    assert.equal(res.status, 200);
    await expectError(`EIO=4&transport=polling&sid=${encodeURIComponent(open.sid)}`, 400, 1, 'Session ID unknown');
  });
});
