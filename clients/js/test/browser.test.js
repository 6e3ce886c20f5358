'use strict';
// One real-browser run: headless Chromium loads a page from the reference
// server that uses our client as a classic script and as an ES module
// (same-origin io(), upgrade, binary incl. Blob, acks, multiplexing,
// reportError for listener exceptions). Skipped when no Chromium is found
// (set CHROMIUM to its path) or when SERVER_URL points at another server.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnServer, EXTERNAL } = require('./helpers');

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch (err) {
      // `which` exits non-zero when the name is not on PATH: try the next one.
    }
  }
  return null;
}

const chromium = EXTERNAL ? null : findChromium();
const skip = chromium ? false : (EXTERNAL ? 'runs against the spawned reference server only' : 'no Chromium found (set CHROMIUM)');
let server;

before(async () => { if (!skip) server = await spawnServer(); });
after(() => server && server.close());

async function runPage(page, flavour) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-chromium-'));
  const browser = spawn(chromium, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-dev-shm-usage', `--user-data-dir=${profile}`, `${server.url}/client/${page}`],
  { stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  try {
    const line = await server.waitForLine(new RegExp(`^report \\{"flavour":"${flavour}"`), 30000);
    return JSON.parse(line.slice('report '.length));
  } finally {
    process.kill(-browser.pid, 'SIGTERM'); // its whole process group: renderer, zygote…
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

for (const [page, flavour] of [['classic.html', 'classic'], ['esm.html', 'esm']]) {
  test(`headless Chromium: ${flavour} build`, { skip, timeout: 60000 }, async () => {
    const report = await runPage(page, flavour);
    assert.equal(report.error, undefined, report.error);
    assert.deepEqual(report, {
      flavour,
      auth: {},
      connected: true,
      transport: 'websocket',
      echo: ['hi', true, [1, 2, 3], [4, 5]],
      ack: { a: 1 },
      multiplexed: true,
      afterThrow: 'still fine',
      reported: ['Uncaught Error: listener failed on purpose'],
      disconnect: 'io client disconnect',
    });
  });
}
