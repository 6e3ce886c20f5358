// Runs in a real browser page (see browser.test.js): exercises the client
// loaded by the page and POSTs a JSON report back to the reference server.
/* global window, document, fetch, Blob */
window.runCheck = async function runCheck(io, flavour) {
  const report = { flavour };
  const step = (name, value) => { report[name] = value; };
  const next = (socket, event) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout waiting for ' + event)), 10000);
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
  const reported = [];
  window.addEventListener('error', (ev) => { reported.push(ev.message); ev.preventDefault(); });
  try {
    const socket = io({ reconnectionDelay: 100 }); // same origin, default path
    const [auth] = await next(socket, 'auth');
    step('auth', auth);
    step('connected', socket.connected);
    for (let i = 0; i < 100 && socket.io.engine.transport.name !== 'websocket'; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    step('transport', socket.io.engine.transport.name);
    const back = next(socket, 'message-back');
    socket.emit('message', 'hi', new Uint8Array([1, 2, 3]), new Blob([new Uint8Array([4, 5])]));
    const [text, bin, blob] = await back;
    step('echo', [text, bin instanceof ArrayBuffer, Array.from(new Uint8Array(bin)), Array.from(new Uint8Array(blob))]);
    step('ack', await socket.timeout(5000).emitWithAck('message-with-ack', { a: 1 }));
    const custom = io('/custom');
    await next(custom, 'auth');
    step('multiplexed', custom.io === socket.io && custom.connected);
    socket.on('message-back', () => { throw new Error('listener failed on purpose'); });
    socket.emit('message', 'boom');
    step('afterThrow', await socket.emitWithAck('message-with-ack', 'still fine'));
    await new Promise((r) => setTimeout(r, 50));
    step('reported', reported);
    const gone = next(socket, 'disconnect');
    socket.disconnect();
    step('disconnect', (await gone)[0]);
    custom.disconnect();
  } catch (err) {
    step('error', String((err && err.stack) || err));
  }
  await fetch('/client/report', { method: 'POST', body: JSON.stringify(report) });
  document.title = 'done';
};
