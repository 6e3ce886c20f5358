'use strict';
// Shared test helpers: choose or start the server, and bounded waits.
//
// Environment:
//   SERVER_URL           run against this server instead of spawning
//                        reference-server.mjs (the echo contract only).
//   SERVER_HOOKS=1       that server also has the test-only hooks described
//                        in reference-server.mjs; otherwise tests that need
//                        them are skipped.
//   RECOVERY_SERVER_URL  a server with connection state recovery on (and the
//                        hooks); without it, with SERVER_URL set, the recovery
//                        tests are skipped.
const { spawn } = require('node:child_process');
const path = require('node:path');

const EXTERNAL = !!process.env.SERVER_URL;
/** Whether the server under test provides the test-only hooks. */
const HOOKS = !EXTERNAL || process.env.SERVER_HOOKS === '1';
/** Skip option for tests that need the hooks. */
const needsHooks = HOOKS ? {} : { skip: 'needs the test-only hooks of reference-server.mjs (set SERVER_HOOKS=1)' };

/**
 * Spawns reference-server.mjs with `args` and resolves with its URL.
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
function spawnServer(args = []) {
  const child = spawn(process.execPath, [path.join(__dirname, 'reference-server.mjs'), '--stdin-lifeline', ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Every stdout line, for waitForLine().
  const lines = [];
  const lineWaiters = new Set();
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      lines.push(line);
      for (const w of lineWaiters) w(line);
    }
  });
  const waitForLine = (re, ms = 10000) => {
    const seen = lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = (line) => { if (re.test(line)) resolve(line); };
      lineWaiters.add(waiter);
    });
    return within(p, ms, `a server line matching ${re}`).finally(() => lineWaiters.delete(waiter));
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error('reference server did not start in 10 s')); }, 10000);
    waitForLine(/^listening \d+$/, 10000).then((line) => {
      clearTimeout(timer);
      resolve({
        url: `http://127.0.0.1:${line.split(' ')[1]}`,
        close: () => { child.kill('SIGTERM'); return exited; },
        waitForLine,
      });
    }, () => {});
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`reference server exited (${code})`)); });
  });
}

/** The server for the echo contract: SERVER_URL or a spawned reference server. */
function startServer(args = []) {
  if (EXTERNAL) return Promise.resolve({ url: process.env.SERVER_URL.replace(/\/$/, ''), close: async () => {} });
  return spawnServer(args);
}

/** A server with connection state recovery on, or null when none is available. */
function startRecoveryServer() {
  if (process.env.RECOVERY_SERVER_URL) {
    return Promise.resolve({ url: process.env.RECOVERY_SERVER_URL.replace(/\/$/, ''), close: async () => {} });
  }
  if (EXTERNAL) return Promise.resolve(null);
  return spawnServer(['--recovery']);
}

/** Rejects after `ms` unless `promise` settles first. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` of `emitter` (bounded). */
function once(emitter, event, ms = 5000) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (...args) => resolve(args);
    emitter.once(event, handler);
  });
  return within(p, ms, `"${event}"`).finally(() => emitter.off(event, handler));
}

/** Resolves when `predicate()` is true, polling every 10 ms (bounded). */
async function until(predicate, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Bytes of an ArrayBuffer or view, as a plain array (for deepStrictEqual). */
function bytes(data) {
  const view = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Array.from(view);
}

module.exports = { EXTERNAL, HOOKS, needsHooks, startServer, startRecoveryServer, spawnServer, within, once, until, delay, bytes };
