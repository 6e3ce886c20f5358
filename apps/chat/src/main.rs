//! `tidings-chat`: serves the chat room until Ctrl-C or SIGTERM.
//!
//! ```text
//! tidings-chat [--addr HOST:PORT]
//! ```
//!
//! The address comes from `--addr`, else `TIDINGS_ADDR`, else `127.0.0.1:3000` (port 0
//! picks a free one). Once bound it prints `listening http://HOST:PORT` on stdout. Logs
//! go to stderr: start and stop at `info`, connections at `debug` (`RUST_LOG=debug`).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tidings::{Server, ServerConfig};
use tracing_subscriber::EnvFilter;

const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// How long a shutdown may wait for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

const USAGE: &str = "\
usage: tidings-chat [--addr HOST:PORT]

Serves the Tidings chat room. The address comes from --addr, else TIDINGS_ADDR,
else 127.0.0.1:3000. Ctrl-C or SIGTERM stops it. RUST_LOG sets the log filter.";

fn main() -> ExitCode {
    let addr = match address(std::env::args().skip(1), std::env::var("TIDINGS_ADDR").ok()) {
        Ok(Some(addr)) => addr,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("tidings-chat: {error:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
        .and_then(|runtime| runtime.block_on(run(&addr)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tidings-chat: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The address to serve on, or `None` for `--help`.
fn address(
    mut args: impl Iterator<Item = String>,
    env: Option<String>,
) -> anyhow::Result<Option<String>> {
    let mut addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => addr = Some(args.next().context("--addr needs HOST:PORT")?),
            _ => match arg.strip_prefix("--addr=") {
                Some(value) => addr = Some(value.to_owned()),
                None => bail!("unknown argument {arg:?}"),
            },
        }
    }
    Ok(Some(
        addr.or(env.filter(|addr| !addr.is_empty()))
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
    ))
}

async fn run(addr: &str) -> anyhow::Result<()> {
    // Watched before binding: a signal as soon as the port accepts connections must stop
    // the server gracefully, not kill it.
    let stop_signal = stop_signal().context("cannot watch Ctrl-C and SIGTERM")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let io = Server::new(ServerConfig::default());
    let app = tidings_chat::app(&io);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut serving = tokio::spawn(tidings_engine::serve(listener, app, async {
        let _ = stopped.await;
    }));
    println!("listening http://{local}");
    tracing::info!(addr = %local, "chat started");

    tokio::select! {
        signal = stop_signal => tracing::info!(signal, "shutting down"),
        served = &mut serving => return Ok(served??),
    }
    // Every socket leaves with "server shutting down" and every connection closes, then
    // the HTTP connections drain. A polling client that never polls again would hold the
    // close for Engine.IO's 30 s close timeout, so the whole of it is bounded.
    let graceful = async {
        io.close().await;
        let _ = stop.send(());
        serving.await
    };
    match tokio::time::timeout(SHUTDOWN_GRACE, graceful).await {
        Ok(served) => served??,
        Err(_) => {
            tracing::info!(grace = ?SHUTDOWN_GRACE, "connections left open after the grace period")
        }
    }
    tracing::info!("chat stopped");
    Ok(())
}

/// Watches Ctrl-C (SIGINT) and SIGTERM from now on; the future names the first to come.
///
/// # Errors
/// When a signal handler cannot be installed.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

/// Watches Ctrl-C; the future resolves when it comes.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    Ok(async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> anyhow::Result<Option<String>> {
        address(
            args.iter().map(|arg| (*arg).to_owned()),
            env.map(str::to_owned),
        )
    }

    #[test]
    fn the_flag_wins_over_the_environment_and_the_default() {
        assert_eq!(parse(&[], None).unwrap().unwrap(), DEFAULT_ADDR);
        assert_eq!(
            parse(&[], Some("0.0.0.0:80")).unwrap().unwrap(),
            "0.0.0.0:80"
        );
        let flag = parse(&["--addr", "127.0.0.1:0"], Some("0.0.0.0:80"));
        assert_eq!(flag.unwrap().unwrap(), "127.0.0.1:0");
        assert_eq!(
            parse(&["--addr=[::1]:8080"], None).unwrap().unwrap(),
            "[::1]:8080"
        );
        assert!(parse(&["--help"], None).unwrap().is_none());
        assert!(parse(&["--addr"], None).is_err());
        assert!(parse(&["--port", "1"], None).is_err());
    }
}
