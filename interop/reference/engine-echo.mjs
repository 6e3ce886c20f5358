// Reference Engine.IO peer: an engine.io 6.6.12 server that sends every message back unchanged
// (text as text, binary as binary).
//
//   node reference/engine-echo.mjs --port 0 [--host 127.0.0.1] [--path /engine.io/]
//        [--ping-interval-ms 25000] [--ping-timeout-ms 20000] [--max-payload 1000000]
//
// Prints `listening <port>` on stdout once ready.
import { createServer } from 'node:http';
import { Server } from 'engine.io';
import { readOptions, announce } from './cli.mjs';

const opts = readOptions({
  port: { type: 'int', env: 'PORT', default: 0 },
  host: { type: 'string', env: 'HOST', default: '127.0.0.1' },
  path: { type: 'string', env: 'ENGINE_PATH', default: '/engine.io/' },
  'ping-interval-ms': { type: 'int', env: 'PING_INTERVAL_MS', default: 25000 },
  'ping-timeout-ms': { type: 'int', env: 'PING_TIMEOUT_MS', default: 20000 },
  'max-payload': { type: 'int', env: 'MAX_PAYLOAD', default: 1000000 },
});

const engine = new Server({
  pingInterval: opts['ping-interval-ms'],
  pingTimeout: opts['ping-timeout-ms'],
  maxHttpBufferSize: opts['max-payload'],
});

const http = createServer((req, res) => {
  res.writeHead(404).end();
});
engine.attach(http, { path: opts.path });

engine.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});

http.listen(opts.port, opts.host, () => {
  announce(http, () => {
    engine.close();
    http.close();
  });
});
