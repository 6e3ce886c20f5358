//! A Socket.IO echo server with namespaces `/` and `/custom`, for manual and external
//! checks (the interop suites drive the official clients against it).
//!
//! Run with `cargo run --release --example echo -p tidings -- --addr 127.0.0.1:3000`.
//!
//! Flags: `--addr` (or `TIDINGS_ADDR`), `--path`, `--ping-interval-ms`, `--ping-timeout-ms`,
//! `--connect-timeout-ms`, `--max-payload`, `--recovery` (connection state recovery) and
//! `--parser msgpack`.
//!
//! In `/` and `/custom`, on connect the server emits `auth` with the handshake auth, then:
//! - `message` (…args) → `message-back` (…args);
//! - `message-with-ack` (…args) → acknowledged with the same arguments;
//! - `join` (room) → joins the room (acknowledged with nothing if asked);
//! - `to-room` (room, data) → `room-back` (data) to that room;
//! - `broadcast` (…args) → `broadcast-back` (…args) to everyone but the sender.
//!
//! Test hooks used by the interop suites:
//! - `ask` → emits `question` ("q1") with an ack, then `answer` (the client's answer);
//! - `server-ack` (data) → emits `ack-request` (data) with an ack, then `ack-result`
//!   (the answer's arguments, or `{error}`);
//! - `drop-transport` → closes the connection abruptly;
//! - `close-transport` (data?) → closes the connection; with data, `missed` (data) is
//!   emitted to the socket's own room once it has disconnected;
//! - `emit-later` (event, data, ms) → emits `event` (data) to the namespace after `ms`;
//! - `server-disconnect` → the server disconnects the socket.
//!
//! Namespace `/secure` accepts only `auth.token == "good"` (else CONNECT_ERROR
//! `not authorized` with data `{"reason":"token"}`); `/refuse` refuses everyone the same way.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tidings::{
    Args, CloseReason, ConnectError, Namespace, Parser, RecoveryConfig, Server, ServerConfig,
    Socket,
};

fn echo(namespace: &Namespace) {
    let ns = namespace.clone();
    namespace.on_connection(move |socket: Socket| {
        let ns = ns.clone();
        async move {
            let _ = socket.emit("auth", socket.handshake().auth());
            socket.on("message", |socket, event| async move {
                let _ = socket.emit("message-back", event.into_args());
            });
            socket.on("message-with-ack", |_, event| async move {
                let _ = event.ack(event.args().clone());
            });
            socket.on("join", |socket, event| async move {
                if let Ok(room) = event.args().get::<String>(0) {
                    socket.join(room);
                }
                let _ = event.ack(());
            });
            let room_ns = ns.clone();
            socket.on("to-room", move |_, event| {
                let ns = room_ns.clone();
                async move {
                    let Ok(room) = event.args().get::<String>(0) else {
                        return;
                    };
                    // Keep the data's binary attachments: forward the raw value.
                    let (values, attachments) = event.into_args().into_parts();
                    let data = values.into_iter().nth(1).unwrap_or(Value::Null);
                    let _ = ns
                        .to(room)
                        .emit("room-back", Args::from_parts(vec![data], attachments));
                }
            });
            socket.on("broadcast", |socket, event| async move {
                let _ = socket.broadcast().emit("broadcast-back", event.into_args());
            });
            socket.on("ask", |socket, _| async move {
                let asked = socket
                    .timeout(Duration::from_secs(5))
                    .emit_with_ack("question", &"q1");
                if let Ok(answer) = asked.await {
                    let _ = socket.emit(
                        "answer",
                        answer.values().first().cloned().unwrap_or(Value::Null),
                    );
                }
            });
            socket.on("server-ack", |socket, event| async move {
                let data = event
                    .args()
                    .values()
                    .first()
                    .cloned()
                    .unwrap_or(Value::Null);
                let reply = socket
                    .timeout(Duration::from_secs(5))
                    .emit_with_ack("ack-request", Args::new().value(data))
                    .await;
                let result = match reply {
                    // One array argument holding the answer, binary attachments kept.
                    Ok(answer) => {
                        let (values, attachments) = answer.into_parts();
                        Args::from_parts(vec![Value::Array(values)], attachments)
                    }
                    Err(error) => Args::new().arg(&json!({ "error": error.to_string() })),
                };
                let _ = socket.emit("ack-result", result);
            });
            socket.on("drop-transport", |socket, _| async move {
                socket.conn().close(CloseReason::ForcedClose);
            });
            let later_ns = ns.clone();
            socket.on("close-transport", move |socket, event| {
                let ns = later_ns.clone();
                async move {
                    if let Some(data) = event.args().values().first().cloned() {
                        let room = socket.id().to_string();
                        socket.on_disconnect(move |_, _| {
                            let ns = ns.clone();
                            let room = room.clone();
                            let data = data.clone();
                            async move {
                                let _ = ns.to(room).emit("missed", &data);
                            }
                        });
                    }
                    socket.conn().close(CloseReason::ForcedClose);
                }
            });
            let later_ns = ns.clone();
            socket.on("emit-later", move |_, event| {
                let ns = later_ns.clone();
                async move {
                    let Ok((name, data, delay)) = event.args().decode::<(String, Value, Value)>()
                    else {
                        return;
                    };
                    let delay = delay.as_u64().unwrap_or(0).min(60_000);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        let _ = ns.emit(&name, &data);
                    });
                }
            });
            socket.on("server-disconnect", |socket, _| async move {
                socket.disconnect(false);
            });
        }
    });
}

fn refusal() -> ConnectError {
    ConnectError::new("not authorized").with_data(json!({ "reason": "token" }))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut addr = std::env::var("TIDINGS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let mut config = ServerConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--recovery" {
            config = config.connection_state_recovery(RecoveryConfig::default());
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let millis = || value.parse::<u64>().map(Duration::from_millis);
        config = match flag.as_str() {
            "--addr" => {
                addr = value.clone();
                config
            }
            "--path" => config.path(&value),
            "--ping-interval-ms" => config.ping_interval(millis()?),
            "--ping-timeout-ms" => config.ping_timeout(millis()?),
            "--connect-timeout-ms" => config.connect_timeout(millis()?),
            "--max-payload" => config.max_payload(value.parse()?),
            "--parser" if value == "msgpack" => config.parser(Parser::MsgPack),
            "--parser" if value == "default" => config.parser(Parser::Default),
            other => bail!("unknown flag or value: {other} {value}"),
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let io = Server::new(config);
        echo(&io.of("/"));
        echo(&io.of("/custom"));
        let secure = io.of("/secure");
        secure.use_middleware(|socket| async move {
            match socket
                .handshake()
                .auth()
                .get("token")
                .and_then(Value::as_str)
            {
                Some("good") => Ok(()),
                _ => Err(refusal()),
            }
        });
        echo(&secure);
        io.of("/refuse")
            .use_middleware(|_| async { Err(refusal()) });
        io.ns("/", |socket| async move {
            tracing::info!(id = %socket.id(), "connected");
        });
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!(
            "echo listening on http://{}{}",
            listener.local_addr()?,
            io.config().engine().path_prefix()
        );
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        io.serve_until(listener, ctrl_c).await?;
        anyhow::Ok(())
    })
}
