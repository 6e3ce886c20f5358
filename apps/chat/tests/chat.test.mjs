// Real-browser tests of the chat page against a chat server started here:
// the reference Node server by default, any other by CHAT_SERVER (see harness.mjs).
// Every test gets a fresh server and fresh browser contexts; every wait is bounded.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  ChatServer, REPO, closeBrowser, launchBrowser, messageLines, openChat, recordTyping, rename, rgb, say,
  socketId, waitForEvent, waitForMessage, waitForOnline, waitForTypingShown, waitUntil, within,
} from './harness.mjs';

let browser;
const servers = new Set();

before(async () => { browser = await launchBrowser(); }, { timeout: 90_000 });

after(async () => {
  await Promise.all(Array.from(servers, (s) => s.stop()));
  await closeBrowser(browser);
}, { timeout: 60_000 });

async function startServer(t, port) {
  const server = await ChatServer.start(port);
  servers.add(server);
  t.after(() => server.stop());
  return server;
}

async function open(t, url, options) {
  const chat = await openChat(browser, url, options);
  t.after(() => within(10_000, 'closing a browser context', chat.context.close()).catch(() => {}));
  return chat;
}

/** No page threw, and no dialog ever opened. */
function assertClean(...chats) {
  for (const chat of chats) {
    assert.deepEqual(chat.errors, [], 'uncaught errors in the page');
    assert.deepEqual(chat.dialogs, [], 'dialogs opened by the page');
  }
}

/** Red: a strong red channel, weak green and blue. */
function isRed(color) {
  const { r, g, b } = rgb(color);
  return r >= 150 && g <= 110 && b <= 110;
}

/**
 * Makes sure everything `from` sent before has reached `to`: Socket.IO keeps the
 * order of one sender's packets, so once this marker arrives, nothing older is in flight.
 */
async function barrier(from, to, marker) {
  await say(from.page, marker);
  await waitForMessage(from.page, 'own', marker);
  await waitForMessage(to.page, 'other', marker);
}

test('two pages chat both ways, with history, presence, renames and typing', { timeout: 90_000 }, async (t) => {
  const server = await startServer(t);
  const a = await open(t, server.url);
  await waitForOnline(a.page, 1);
  const b = await open(t, server.url);
  const idB = await socketId(b.page);

  // Presence: A hears that B joined; both count two.
  await waitForEvent(a.page, `guest-${idB.slice(0, 4)} joined`);
  await waitForOnline(a.page, 2);
  await waitForOnline(b.page, 2);
  assert.equal(await b.page.inputValue('#nick'), `guest-${idB.slice(0, 4)}`, 'default nick shown');

  // Renames reach everyone.
  await rename(a.page, 'alice');
  await waitUntil(b.page, () => Array.from(document.querySelectorAll('#messages li.event'))
    .some((li) => / is now alice$/.test(li.textContent)), null, 'B to see the rename to alice');
  await rename(b.page, '  bob  ', 'bob');
  await waitForEvent(a.page, `guest-${idB.slice(0, 4)} is now bob`);
  assert.equal(await b.page.inputValue('#nick'), 'bob');

  // Typing on A shows on B, and goes away once A sends.
  await recordTyping(b.page);
  await a.page.locator('#message').pressSequentially('hello fr');
  await waitForTypingShown(b.page, 'alice is typing…');
  assert.equal(await a.page.textContent('#typing'), '', 'nobody else is typing on A');
  await a.page.locator('#message').pressSequentially('om alice');
  await a.page.click('#send');
  await waitUntil(b.page, () => document.getElementById('typing').textContent === '', null, 'B to clear typing');

  await b.page.fill('#message', 'hi alice');
  await b.page.press('#message', 'Enter');

  await waitForMessage(a.page, 'own', 'hello from alice');
  await waitForMessage(a.page, 'other', 'hi alice');
  await waitForMessage(b.page, 'own', 'hi alice');
  await waitForMessage(b.page, 'other', 'hello from alice');

  // Nothing older can still be on its way once these arrive; then count.
  await barrier(a, b, 'sync from alice');
  await barrier(b, a, 'sync from bob');

  const linesA = await messageLines(a.page);
  assert.deepEqual(linesA.map((l) => [l.kind, l.nick, l.text]), [
    ['own', 'alice', 'hello from alice'],
    ['other', 'bob', 'hi alice'],
    ['own', 'alice', 'sync from alice'],
    ['other', 'bob', 'sync from bob'],
  ]);
  const linesB = await messageLines(b.page);
  assert.deepEqual(linesB.map((l) => [l.kind, l.nick, l.text]), [
    ['other', 'alice', 'hello from alice'],
    ['own', 'bob', 'hi alice'],
    ['other', 'alice', 'sync from alice'],
    ['own', 'bob', 'sync from bob'],
  ]);
  for (const line of [...linesA, ...linesB]) {
    if (line.kind === 'own') {
      assert.ok(line.line.startsWith(`-> ${line.nick}: ${line.text}`), `own line: ${line.line}`);
      assert.ok(!isRed(line.color), `own line is not red: ${line.color}`);
    } else {
      assert.ok(line.line.startsWith(`--> ${line.nick}: ${line.text}`), `other line: ${line.line}`);
      assert.ok(isRed(line.color), `other line is red: ${line.color}`);
    }
  }

  // A third page joining later gets the history, oldest first, as others' messages.
  const c = await open(t, server.url);
  const idC = await socketId(c.page);
  await waitUntil(c.page, () => document.querySelectorAll('#messages li.other').length === 4, null, 'history on C');
  const linesC = await messageLines(c.page);
  assert.deepEqual(linesC.map((l) => [l.kind, l.nick, l.text]), [
    ['other', 'alice', 'hello from alice'],
    ['other', 'bob', 'hi alice'],
    ['other', 'alice', 'sync from alice'],
    ['other', 'bob', 'sync from bob'],
  ]);
  assert.ok(linesC.every((l) => l.line.startsWith('--> ') && isRed(l.color)));
  await waitForOnline(c.page, 3);
  await waitForOnline(a.page, 3);
  await waitForEvent(b.page, `guest-${idC.slice(0, 4)} joined`);

  // C leaves: the others hear it and count two again.
  await within(10_000, 'closing page C', c.context.close());
  await waitForEvent(a.page, `guest-${idC.slice(0, 4)} left`);
  await waitForOnline(a.page, 2);
  await waitForOnline(b.page, 2);
  assertClean(a, b, c);
});

test('empty and too-long messages show a notice and send nothing; Enter sends; Clear empties', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const a = await open(t, server.url);
  const b = await open(t, server.url);
  await waitForOnline(a.page, 2);
  await a.page.evaluate(() => {
    window.sentEvents = [];
    window.chatSocket.onAnyOutgoing((event) => window.sentEvents.push(event));
  });

  // The controls are labelled.
  assert.equal(await a.page.getByLabel('Message', { exact: true }).getAttribute('id'), 'message');
  assert.equal(await a.page.getByLabel('Nickname').getAttribute('id'), 'nick');
  assert.equal(await a.page.getAttribute('#message', 'maxlength'), '500');
  assert.equal(await a.page.getAttribute('#notice', 'aria-live'), 'polite');
  assert.equal(await a.page.getAttribute('#messages', 'aria-live'), 'polite');

  await a.page.click('#send');
  await waitUntil(a.page, () => document.getElementById('notice').textContent === 'Type a message first',
    null, 'the empty-message notice');
  await a.page.fill('#message', '   ');
  await a.page.evaluate(() => { document.getElementById('notice').textContent = ''; });
  await a.page.press('#message', 'Enter');
  await waitUntil(a.page, () => document.getElementById('notice').textContent === 'Type a message first',
    null, 'the empty-message notice for blanks');

  // maxlength stops typing, not script; the page checks the length itself too.
  await a.page.$eval('#message', (input) => { input.value = 'x'.repeat(501); });
  await a.page.click('#send');
  await waitUntil(a.page, () => /limited to 500 characters/.test(document.getElementById('notice').textContent),
    null, 'the too-long notice');
  assert.equal((await a.page.inputValue('#message')).length, 501, 'the text is kept for editing');
  assert.deepEqual(await a.page.evaluate(() => window.sentEvents.filter((e) => e === 'talk')), [], 'no talk sent');

  // Exactly 500 is fine, and Enter sends.
  const longest = 'y'.repeat(500);
  await a.page.$eval('#message', (input, text) => { input.value = text; }, longest);
  await a.page.press('#message', 'Enter');
  await waitForMessage(a.page, 'own', longest);
  await waitForMessage(b.page, 'other', longest);
  assert.equal(await a.page.inputValue('#message'), '', 'the input is emptied after sending');
  assert.equal(await a.page.textContent('#notice'), '', 'the notice is gone after sending');
  assert.deepEqual((await messageLines(b.page)).map((l) => l.text), [longest], 'B got only the valid message');

  // Keyboard only: Tab to the message field, type, Enter; Tab to Clear, Space.
  await a.page.locator('#nick').focus();
  for (let i = 0; i < 6 && !(await a.page.evaluate(() => document.activeElement.id === 'message')); i++) {
    await a.page.keyboard.press('Tab');
  }
  assert.equal(await a.page.evaluate(() => document.activeElement.id), 'message', 'Tab reaches the message field');
  await a.page.keyboard.type('typed by keyboard');
  await a.page.keyboard.press('Enter');
  await waitForMessage(b.page, 'other', 'typed by keyboard');
  await waitForMessage(a.page, 'own', 'typed by keyboard');
  await a.page.keyboard.press('Tab');
  await a.page.keyboard.press('Tab');
  assert.equal(await a.page.evaluate(() => document.activeElement.id), 'clear', 'Tab reaches Clear');
  await a.page.keyboard.press('Space');
  await waitUntil(a.page, () => document.getElementById('messages').childElementCount === 0, null, 'Clear to empty the list');

  // New messages still arrive after clearing.
  await say(b.page, 'after the clear');
  await waitForMessage(a.page, 'other', 'after the clear');
  assert.equal(await a.page.$$eval('#messages li', (items) => items.length), 1);
  assertClean(a, b);
});

test('the 404 page is HTML with status 404; /sercetTalk serves the page script', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const get = (path) => within(10_000, `GET ${path}`, fetch(server.url + path));
  const disk = (path) => readFileSync(`${REPO}/${path}`, 'utf8');

  const missing = await get('/no/such/page');
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type'), /^text\/html/);
  const body = await missing.text();
  assert.match(body, /<html/i);
  assert.match(body, /href="\/"/, 'the 404 page links back to the chat');

  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(await index.text(), disk('apps/chat/static/index.html'));

  const secret = await get('/sercetTalk');
  assert.equal(secret.status, 200);
  assert.match(secret.headers.get('content-type'), /^(text|application)\/javascript/);
  const script = await secret.text();
  assert.equal(script, disk('apps/chat/static/chat.js'));
  const same = await get('/static/chat.js');
  assert.match(same.headers.get('content-type'), /^(text|application)\/javascript/);
  assert.equal(await same.text(), script, '/static/chat.js and /sercetTalk serve the same file');

  const css = await get('/static/chat.css');
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /^text\/css/);
  assert.equal(await css.text(), disk('apps/chat/static/chat.css'));

  const client = await get('/socket.io/socket.io.js');
  assert.equal(client.status, 200);
  assert.match(client.headers.get('content-type'), /^(text|application)\/javascript/);
  assert.equal(await client.text(), disk('clients/js/socket.io.js'));

  // In the browser too: a 404 status, a page that renders, a way back.
  const context = await browser.newContext();
  t.after(() => within(10_000, 'closing a browser context', context.close()).catch(() => {}));
  const page = await context.newPage();
  const response = await page.goto(`${server.url}/nowhere`, { timeout: 10_000 });
  assert.equal(response.status(), 404);
  await page.locator('a[href="/"]').waitFor({ timeout: 10_000 });
});

test('a page without WebSocket chats over polling with a page that upgrades', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const poll = await open(t, server.url, { noWebSocket: true });
  const ws = await open(t, server.url);
  await waitUntil(ws.page, () => window.chatSocket.io.engine.transport.name === 'websocket', null,
    'the normal page to upgrade to websocket');
  assert.equal(await poll.page.evaluate(() => typeof window.WebSocket), 'undefined');

  await say(poll.page, 'from polling');
  await waitForMessage(ws.page, 'other', 'from polling');
  await waitForMessage(poll.page, 'own', 'from polling');
  await say(ws.page, 'from websocket');
  await waitForMessage(poll.page, 'other', 'from websocket');
  await waitForMessage(ws.page, 'own', 'from websocket');

  assert.equal(await poll.page.evaluate(() => window.chatSocket.io.engine.transport.name), 'polling');
  assert.equal(await ws.page.evaluate(() => window.chatSocket.io.engine.transport.name), 'websocket');
  assertClean(poll, ws);
});

test('both pages reconnect by themselves after the server restarts on the same port', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t);
  const a = await open(t, server.url);
  const b = await open(t, server.url, { noWebSocket: true });
  await rename(a.page, 'alice');
  await barrier(a, b, 'before the restart');

  await server.kill();
  for (const chat of [a, b]) {
    await waitUntil(chat.page, () => !window.chatSocket.connected
      && document.getElementById('status').dataset.state === 'reconnecting', null, 'the page to notice the crash');
  }
  await server.restart();
  for (const chat of [a, b]) {
    await waitUntil(chat.page, () => window.chatSocket.connected, null, 'the page to reconnect', 20_000);
    await waitUntil(chat.page, () => document.getElementById('status').dataset.state === 'connected', null,
      'the status to say connected');
  }

  // The chosen nick is sent again after reconnecting; the chat goes on both ways.
  await waitUntil(a.page, () => Array.from(document.querySelectorAll('#messages li.event'))
    .filter((li) => li.textContent === 'You are now alice').length === 2, null, 'A to take its nick back');
  await barrier(a, b, 'after the restart');
  await barrier(b, a, 'me too');
  const lines = await messageLines(b.page);
  assert.deepEqual(lines.map((l) => [l.kind, l.nick, l.text]).filter((l) => l[0] === 'other'), [
    ['other', 'alice', 'before the restart'],
    ['other', 'alice', 'after the restart'],
  ]);
  await waitForOnline(a.page, 2);
  assertClean(a, b);
});

test('HTML in messages and nicknames is shown as text, never run', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const a = await open(t, server.url);
  const b = await open(t, server.url);
  const evilNick = '<img src=y onerror=alert(2)>';
  const evilText = '<img src=x onerror=alert(1)>';

  await rename(a.page, evilNick);
  await waitUntil(b.page, (nick) => Array.from(document.querySelectorAll('#messages li.event'))
    .some((li) => li.textContent.endsWith(` is now ${nick}`)), evilNick, 'B to see the HTML nick as text');
  await recordTyping(b.page);
  await a.page.locator('#message').pressSequentially('<b>');
  await waitForTypingShown(b.page, `${evilNick} is typing…`);
  await say(a.page, evilText);
  await waitForMessage(b.page, 'other', evilText);
  await waitForMessage(a.page, 'own', evilText);
  await barrier(b, a, 'plain text');

  for (const chat of [a, b]) {
    assert.equal(await chat.page.$$eval('img', (images) => images.length), 0, 'no img element anywhere');
    const line = (await messageLines(chat.page)).find((l) => l.text === evilText);
    assert.equal(line.nick, evilNick);
    assert.equal(await chat.page.$eval('#typing', (p) => p.childElementCount), 0);
  }
  assertClean(a, b);
});

test('screenshot of a conversation for the docs', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const a = await open(t, server.url, { viewport: { width: 720, height: 540 } });
  const b = await open(t, server.url);
  await rename(a.page, 'alice');
  await rename(b.page, 'bob');
  await barrier(a, b, 'Hi bob! Is the new server up?');
  await barrier(b, a, 'It is: Socket.IO, served from Rust.');
  await barrier(a, b, 'Polling first, then it upgrades to WebSocket.');
  await barrier(b, a, 'And my old browser without WebSocket still works.');
  await recordTyping(a.page);
  await b.page.locator('#message').pressSequentially('Nice');
  await waitForTypingShown(a.page, 'bob is typing…');
  await a.page.fill('#message', 'Great, ship it');
  await a.page.locator('#message').blur();

  const dir = `${REPO}/artifacts`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/chat.png`;
  await a.page.screenshot({ path: file, timeout: 10_000 });
  const png = readFileSync(file);
  assert.ok(statSync(file).size > 5000, 'a real picture');
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assertClean(a, b);
});

test('the page fits a phone screen', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t);
  const phone = await open(t, server.url, { viewport: { width: 360, height: 640 }, isMobile: true });
  assert.match(await phone.page.getAttribute('meta[name="viewport"]', 'content'), /width=device-width/);
  await say(phone.page, 'a long word: ' + 'w'.repeat(120));
  await waitForMessage(phone.page, 'own', 'a long word: ' + 'w'.repeat(120));
  const fit = await phone.page.evaluate(() => {
    const inside = (id) => {
      const r = document.getElementById(id).getBoundingClientRect();
      return r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && r.bottom <= window.innerHeight;
    };
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      controls: ['message', 'send', 'clear', 'nick', 'online'].filter((id) => !inside(id)),
    };
  });
  assert.equal(fit.overflow, 0, 'no sideways scrolling');
  assert.deepEqual(fit.controls, [], 'every control is on screen');
  assertClean(phone);
});
