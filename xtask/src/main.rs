//! Project automation, std-only so that it builds in seconds.
//!
//! `cargo xtask test` is the one command that runs every test: it installs what the tests
//! need (npm packages from lockfiles, a Python venv, Debian packages) and starts what they
//! need (the servers under test, on free ports), then stops them.

mod bench;
mod servers;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use servers::Server;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("interop") => interop(),
        Some("bench") => bench::bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <test|interop>");
            eprintln!("  test      every check and test (what CI runs)");
            eprintln!("  interop   only the interop suites with the real clients");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs every check and test of the project, in the order CI wants them.
fn test() -> Result<(), String> {
    let root = root();
    run(Command::new("cargo")
        .args(["fmt", "--all", "--check"])
        .current_dir(&root))?;
    run(Command::new("cargo")
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ])
        .current_dir(&root))?;
    if has_nextest() {
        run(Command::new("cargo")
            .args([
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--profile",
                "ci",
            ])
            .current_dir(&root))?;
    } else {
        run(Command::new("cargo")
            .args(["test", "--workspace", "--locked"])
            .current_dir(&root))?;
    }
    run(Command::new("cargo")
        .args(["test", "--workspace", "--doc", "--locked"])
        .current_dir(&root))?;
    run(Command::new("cargo")
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(&root))?;
    run(Command::new("cargo")
        .args(["bench", "--workspace", "--no-run", "--locked"])
        .current_dir(&root))?;
    // The benchmark smoke keeps the harness from rotting; it asserts no timing.
    bench::bench(&["--quick".to_owned()])?;
    interop()
}

/// Builds the example servers, installs the official clients and runs the interop suites.
fn interop() -> Result<(), String> {
    let root = root();
    let interop = root.join("interop");
    run(Command::new("cargo")
        .args([
            "build",
            "--release",
            "--locked",
            "--example",
            "engine-echo",
            "-p",
            "tidings-engine",
        ])
        .args([
            "--example",
            "echo",
            "-p",
            "tidings",
            "-p",
            "tidings-chat",
            "--bin",
            "tidings-chat",
        ])
        .current_dir(&root))?;
    run(Command::new("bash")
        .arg(interop.join("scripts/setup.sh"))
        .current_dir(&root))?;
    let examples = root.join("target/release/examples");
    // Heartbeats fast enough for the heartbeat tests, with a generous timeout for a busy box.
    let heartbeat = ["--ping-interval-ms", "1000", "--ping-timeout-ms", "5000"];
    let engine = Server::start(&examples.join("engine-echo"), &heartbeat, "/engine.io/")?;
    let engine_small = Server::start(
        &examples.join("engine-echo"),
        &["--max-payload", "100"],
        "/engine.io/",
    )?;
    let echo = Server::start(&examples.join("echo"), &heartbeat, "/socket.io/")?;
    let recovery = Server::start(
        &examples.join("echo"),
        &[&heartbeat[..], &["--recovery"]].concat(),
        "/socket.io/",
    )?;
    let msgpack = Server::start(
        &examples.join("echo"),
        &[&heartbeat[..], &["--parser", "msgpack"]].concat(),
        "/socket.io/",
    )?;
    run(Command::new("node")
        .arg(interop.join("scripts/run-suites.mjs"))
        .env("ENGINE_URL", engine.url())
        .env("ENGINE_PATH", "/engine.io/")
        .env("ENGINE_SMALL_URL", engine_small.url())
        .env("SIO_URL", echo.url())
        .env("SIO_RECOVERY_URL", recovery.url())
        .env("SIO_MSGPACK_URL", msgpack.url())
        .current_dir(&root))?;
    js_client(&echo, &recovery)?;
    drop((engine, engine_small, echo, recovery, msgpack));
    chat()
}

/// Drives the chat room in headless Chromium (two pages, a polling-only page, a server
/// restart, script injection, the 404 page); the screenshot lands in `artifacts/chat.png`.
fn chat() -> Result<(), String> {
    ensure_debian_package("chromium", "/usr/bin/chromium")?;
    let root = root();
    let tests = root.join("apps/chat/tests");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&tests))?;
    let binary = root.join("target/release/tidings-chat");
    run(Command::new("npm")
        .arg("test")
        .env(
            "CHAT_SERVER",
            format!("{} --addr 127.0.0.1:{{port}}", binary.display()),
        )
        .current_dir(&tests))
}

/// Tests our own browser client (`clients/js`) with `node --test`: against the reference
/// Node server (which the tests spawn, in Node and in headless Chromium), then against the
/// Tidings echo servers.
fn js_client(echo: &Server, recovery: &Server) -> Result<(), String> {
    ensure_debian_package("chromium", "/usr/bin/chromium")?;
    let client = root().join("clients/js");
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&client))?;
    run(Command::new("npm").arg("test").current_dir(&client))?;
    run(Command::new("npm")
        .arg("test")
        .env("SERVER_URL", echo.url())
        .env("RECOVERY_SERVER_URL", recovery.url())
        .env("SERVER_HOOKS", "1")
        .current_dir(&client))
}

/// Installs a Debian package with apt-get unless `probe` (a file it provides) exists.
fn ensure_debian_package(package: &str, probe: &str) -> Result<(), String> {
    if Path::new(probe).exists() {
        return Ok(());
    }
    eprintln!("xtask: installing {package} with apt-get");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs a command in the foreground and fails when it does.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let status = command
        .status()
        .map_err(|err| format!("cannot start {shown}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}
