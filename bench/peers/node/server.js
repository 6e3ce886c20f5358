// The Node.js socket.io peer of the benchmark harness: the same handler contract as every
// other peer (see bench/README.md). Defaults as in METHOD.md §3: pingInterval 25 s, no
// per-message deflate, `ws` without native add-ons.
//
// Run with `node --expose-gc server.js --addr 127.0.0.1:3000 --admin 127.0.0.1:3001`.
//
// - `echo` (...args) -> acknowledged with the same arguments;
// - `message` (...args) -> `message-back` (...args);
// - admin HTTP `GET /broadcast?n=&size=&batch=` emits `tick` {i, t, p} n times to everyone
//   (`t` in microseconds since the Unix epoch, `p` is `size` times "x"), yielding with
//   setImmediate after every `batch` emits; `GET /gc` runs the garbage collector twice;
//   `GET /stats` prints the socket count.
//
// The process stops by itself after --max-seconds (default 3600).
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

function hostPort(text) {
  const at = text.lastIndexOf(":");
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

const addr = hostPort(option("--addr", "127.0.0.1:3000"));
const admin = hostPort(option("--admin", "127.0.0.1:3001"));
const maxSeconds = Number(option("--max-seconds", "3600"));

function nowMicros() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });
});

function broadcast(n, size, batch, done) {
  const padding = "x".repeat(size);
  let i = 0;
  const step = () => {
    for (let k = 0; k < batch && i < n; k += 1, i += 1) {
      io.emit("tick", { i, t: nowMicros(), p: padding });
    }
    if (i < n) setImmediate(step);
    else done();
  };
  step();
}

const adminServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://admin");
  const number = (name, fallback) => {
    const value = Number(url.searchParams.get(name));
    return Number.isFinite(value) && url.searchParams.has(name) ? value : fallback;
  };
  const reply = (body) => {
    res.writeHead(200, { "Content-Type": "text/plain", Connection: "close" });
    res.end(body);
  };
  switch (url.pathname) {
    case "/broadcast": {
      const n = number("n", 1);
      broadcast(n, number("size", 16), Math.max(1, number("batch", 1)), () => reply(`ok ${n}`));
      break;
    }
    case "/gc":
      if (global.gc) {
        global.gc();
        global.gc();
      }
      reply("ok");
      break;
    case "/stats":
      reply(`sockets ${io.of("/").sockets.size}`);
      break;
    default:
      res.writeHead(404);
      res.end();
  }
});

httpServer.listen(addr.port, addr.host, () => {
  adminServer.listen(admin.port, admin.host, () => {
    console.log(`node socket.io peer listening on http://${addr.host}:${addr.port}`);
  });
});

setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
