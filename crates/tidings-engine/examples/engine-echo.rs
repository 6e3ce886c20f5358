//! An Engine.IO echo server: every message comes back as it came (text as text, binary as
//! binary). Only session lifecycle is logged.
//!
//! Run with `cargo run --release --example engine-echo -p tidings-engine -- --addr 127.0.0.1:3000`.
//! Flags: `--addr`, `--path`, `--ping-interval-ms`, `--ping-timeout-ms`, `--max-payload`
//! (the address may also come from `TIDINGS_ADDR`).

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use tidings_engine::{CloseReason, Connection, Engine, EngineConfig, Handler};

struct Echo;

impl Handler for Echo {
    fn on_connect(&self, connection: &Connection) {
        tracing::info!(sid = %connection.sid(), transport = connection.transport().as_str(), "connected");
    }

    fn on_message(&self, connection: &Connection, text: String) {
        let _ = connection.send_text(&text);
    }

    fn on_binary(&self, connection: &Connection, data: Bytes) {
        let _ = connection.send_binary(data);
    }

    fn on_upgrade(&self, connection: &Connection) {
        tracing::info!(sid = %connection.sid(), "upgraded");
    }

    fn on_close(&self, connection: &Connection, reason: CloseReason) {
        tracing::info!(sid = %connection.sid(), reason = reason.as_str(), "closed");
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut addr = std::env::var("TIDINGS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let mut config = EngineConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
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
            "--max-payload" => config.max_payload(value.parse()?),
            other => bail!("unknown flag {other}"),
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let engine = Engine::new(config, Echo);
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let local = listener.local_addr()?;
        println!(
            "engine-echo listening on http://{local}{}",
            engine.config().path_prefix()
        );
        let shutdown_engine = engine.clone();
        let shutdown = async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown_engine.close().await;
        };
        tidings_engine::serve(listener, engine, shutdown).await?;
        anyhow::Ok(())
    })
}
