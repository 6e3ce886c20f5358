// Reference Socket.IO peer: a socket.io 4.8.4 server implementing the echo contract that the
// Tidings echo example implements too. The contract is written down in interop/README.md
// ("Echo contract"); keep the two in step.
//
//   node reference/sio-echo.mjs --port 0 [--host 127.0.0.1] [--path /socket.io/]
//        [--ping-interval-ms 25000] [--ping-timeout-ms 20000] [--connect-timeout-ms 45000]
//        [--max-payload 1000000] [--recovery] [--parser msgpack]
//
// Prints `listening <port>` on stdout once ready.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { readOptions, announce } from './cli.mjs';

const opts = readOptions({
  port: { type: 'int', env: 'PORT', default: 0 },
  host: { type: 'string', env: 'HOST', default: '127.0.0.1' },
  path: { type: 'string', env: 'SIO_PATH', default: '/socket.io/' },
  'ping-interval-ms': { type: 'int', env: 'PING_INTERVAL_MS', default: 25000 },
  'ping-timeout-ms': { type: 'int', env: 'PING_TIMEOUT_MS', default: 20000 },
  'connect-timeout-ms': { type: 'int', env: 'CONNECT_TIMEOUT_MS', default: 45000 },
  'max-payload': { type: 'int', env: 'MAX_PAYLOAD', default: 1000000 },
  recovery: { type: 'bool', env: 'RECOVERY', default: false },
  parser: { type: 'string', env: 'SIO_PARSER', default: 'default' },
});

const serverOptions = {
  path: opts.path,
  pingInterval: opts['ping-interval-ms'],
  pingTimeout: opts['ping-timeout-ms'],
  connectTimeout: opts['connect-timeout-ms'],
  maxHttpBufferSize: opts['max-payload'],
  serveClient: false,
};
if (opts.recovery) {
  // The defaults, spelled out: 2 minutes, and middlewares skipped on a successful recovery.
  serverOptions.connectionStateRecovery = { maxDisconnectionDuration: 120000, skipMiddlewares: true };
}
if (opts.parser === 'msgpack') {
  serverOptions.parser = (await import('socket.io-msgpack-parser')).default;
} else if (opts.parser !== 'default') {
  throw new Error(`--parser must be "default" or "msgpack", got ${opts.parser}`);
}

const http = createServer((req, res) => {
  res.writeHead(404).end();
});
const io = new Server(http, serverOptions);

/** Splits an event's arguments into the data and the ack function (when the client asked for one). */
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === 'function') {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, undefined];
}

/** Installs the echo contract's handlers on one namespace. */
function echo(nsp) {
  nsp.on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth ?? {});

    socket.on('message', (...raw) => {
      const [args] = splitAck(raw);
      socket.emit('message-back', ...args);
    });

    socket.on('message-with-ack', (...raw) => {
      const [args, ack] = splitAck(raw);
      if (ack) ack(...args);
    });

    socket.on('join', (...raw) => {
      const [[room], ack] = splitAck(raw);
      if (typeof room === 'string') socket.join(room);
      if (ack) ack();
    });

    socket.on('to-room', (...raw) => {
      const [[room, data]] = splitAck(raw);
      if (typeof room === 'string') nsp.to(room).emit('room-back', data);
    });

    socket.on('broadcast', (...raw) => {
      const [args] = splitAck(raw);
      socket.broadcast.emit('broadcast-back', ...args);
    });

    socket.on('ask', () => {
      socket.timeout(5000).emit('question', 'q1', (err, answer) => {
        socket.emit('answer', answer);
      });
    });

    socket.on('drop-transport', () => {
      socket.conn.close();
    });

    socket.on('emit-later', (...raw) => {
      const [[event, data, delayMs]] = splitAck(raw);
      if (typeof event !== 'string') return;
      const delay = Number.isFinite(delayMs) ? Math.min(Math.max(delayMs, 0), 60000) : 0;
      setTimeout(() => nsp.emit(event, data), delay);
    });
  });
}

echo(io.of('/'));
echo(io.of('/custom'));

const secure = io.of('/secure');
secure.use((socket, next) => {
  if (socket.handshake.auth?.token === 'good') return next();
  const err = new Error('not authorized');
  err.data = { reason: 'token' };
  next(err);
});
echo(secure);

http.listen(opts.port, opts.host, () => {
  announce(http, () => {
    io.close();
  });
});
