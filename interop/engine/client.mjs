// Opening and probing Engine.IO sessions for the engine suites.
import { Socket } from 'engine.io-client';
import { requireEnv, nextEvent, joinUrl, sleep, WAIT_MS } from '../lib/helpers.mjs';

export const ENGINE_URL = requireEnv('ENGINE_URL', 'base URL of an engine echo server, e.g. http://127.0.0.1:3000');
export const ENGINE_PATH = process.env.ENGINE_PATH || '/engine.io/';

/** The three ways the official client can run a session. */
export const MODES = [
  { name: 'polling-only', opts: { transports: ['polling'] }, final: 'polling', upgrade: false },
  { name: 'websocket-only', opts: { transports: ['websocket'] }, final: 'websocket', upgrade: false },
  { name: 'polling→websocket', opts: { transports: ['polling', 'websocket'] }, final: 'websocket', upgrade: true },
];

/**
 * Opens an engine.io-client socket in `mode` and resolves once it is open and, for the upgrade
 * mode, once the upgrade to WebSocket has completed. Registers the close on `t.after`.
 * Resolves { socket, handshake, upgraded } where `upgraded` tells whether `upgrade` fired.
 */
export async function openSocket(t, mode, { url = ENGINE_URL, waitUpgrade = true, binaryType } = {}) {
  const socket = new Socket(url, { path: ENGINE_PATH, ...mode.opts });
  // binaryType is a property, not a constructor option; set before the first packet arrives.
  if (binaryType) socket.binaryType = binaryType;
  t.after(() => socket.close());
  let upgraded = false;
  socket.on('upgrade', () => {
    upgraded = true;
  });
  const handshake = nextEvent(socket, 'handshake');
  const opened = new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', (err) => reject(new Error(`engine.io-client error before open: ${err?.message ?? err}`)));
  });
  const upgrade = mode.upgrade && waitUpgrade ? nextEvent(socket, 'upgrade', { ms: WAIT_MS * 2 }) : null;
  upgrade?.catch(() => {});
  const [[hs]] = await Promise.all([handshake, opened]);
  if (upgrade) await upgrade;
  return { socket, handshake: hs, isUpgraded: () => upgraded };
}

/** The engine endpoint's URL for raw HTTP requests, with the given query. */
export function rawUrl(query, base = ENGINE_URL) {
  return `${joinUrl(base, ENGINE_PATH)}?${query}`;
}

/**
 * Waits until the server no longer knows session `sid`: a polling GET with it answers 400
 * `{"code":1,...}`. A 200 (the session is still alive and polling) is retried; any other answer
 * fails at once, so a session that is still open on another transport or an overlapping poll
 * is reported rather than masked.
 */
export async function expectSessionGone(sid, { base = ENGINE_URL, ms = WAIT_MS } = {}) {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    let res;
    try {
      res = await fetch(rawUrl(`EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, base), {
        signal: AbortSignal.timeout(Math.max(100, deadline - Date.now())),
      });
    } catch (err) {
      throw new Error(`probe for session ${sid} failed: ${err.message}`);
    }
    const body = await res.text();
    if (res.status === 400) {
      let parsed;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      if (parsed?.code === 1) return;
      // Code 3 means the session is still open on the WebSocket transport: retry until gone.
      if (parsed?.code !== 3) throw new Error(`probe for session ${sid}: 400 with unexpected body ${JSON.stringify(body)}`);
    }
    last = `${res.status} ${JSON.stringify(body)}`;
    await sleep(50);
  }
  throw new Error(`session ${sid} still known to the server after ${ms} ms (last probe: ${last})`);
}
