//! The HTTP routes of apps/chat/README.md on a real loopback server: statuses, types,
//! bodies byte for byte against the files on disk, headers, HEAD, 404 and 405. Then the
//! binary itself: `--addr`, `TIDINGS_ADDR`, the `listening` line and a graceful SIGTERM.

// Helpers panic like the tests: a failed expectation is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tidings::Server;
use tidings_testkit::{HttpReply, TestServer, http};

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The pages and assets: path, content type, file (relative to the repository root).
const ROUTES: [(&str, &str, &str); 4] = [
    ("/", HTML, "apps/chat/static/index.html"),
    ("/sercetTalk", JS, "apps/chat/static/chat.js"),
    ("/static/chat.js", JS, "apps/chat/static/chat.js"),
    ("/static/chat.css", CSS, "apps/chat/static/chat.css"),
];
const CLIENT: &str = "/socket.io/socket.io.js";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn disk(path: &str) -> Vec<u8> {
    std::fs::read(repo().join(path)).unwrap()
}

async fn start() -> TestServer {
    TestServer::start(tidings_chat::app(&Server::default())).await
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> HttpReply {
    http(addr, method, path, &[], "").await
}

#[tokio::test]
async fn pages_and_assets_are_served_byte_for_byte_with_their_types() {
    let server = start().await;
    for (path, content_type, file) in ROUTES {
        for query in ["", "?x=1&EIO=4"] {
            let reply = request(server.addr(), "GET", &format!("{path}{query}")).await;
            assert_eq!(reply.status, 200, "GET {path}{query}");
            assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
            assert_eq!(reply.body.as_ref(), disk(file), "{path} serves {file}");
            assert_eq!(reply.header("cache-control"), Some("no-cache"), "{path}");
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            let csp = (content_type == HTML).then_some(CSP);
            assert_eq!(reply.header("content-security-policy"), csp, "{path}");
        }
    }
}

#[tokio::test]
async fn head_is_get_without_a_body() {
    let server = start().await;
    for (path, content_type, file) in ROUTES {
        let reply = request(server.addr(), "HEAD", path).await;
        assert_eq!(reply.status, 200, "HEAD {path}");
        assert_eq!(reply.header("content-type"), Some(content_type));
        let length = disk(file).len().to_string();
        assert_eq!(reply.header("content-length"), Some(length.as_str()));
        assert!(reply.body.is_empty(), "HEAD {path} has no body");
    }
    let missing = request(server.addr(), "HEAD", "/nowhere").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("content-type"), Some(HTML));
    assert!(missing.body.is_empty());
    let client = request(server.addr(), "HEAD", CLIENT).await;
    assert_eq!(client.status, 200);
    assert!(client.body.is_empty());
}

#[tokio::test]
async fn other_methods_on_the_listed_paths_get_405() {
    let server = start().await;
    let paths = ROUTES.map(|(path, ..)| path);
    for path in paths.iter().chain([&CLIENT]) {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let reply = request(server.addr(), method, path).await;
            assert_eq!(reply.status, 405, "{method} {path}");
            assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{method} {path}");
            assert!(reply.body.is_empty());
        }
    }
}

#[tokio::test]
async fn any_other_path_gets_the_friendly_404_page() {
    let server = start().await;
    let page = disk("apps/chat/static/404.html");
    assert!(String::from_utf8_lossy(&page).contains(r#"href="/""#));
    let paths = [
        "/no/such/page",
        "/index.html",
        "/sercettalk",
        "/sercetTalk/",
        "/static/",
        "/static/chat.js/",
        "/static/404.html",
        "/socket.io",
        "/socket.iox/socket.io.js",
    ];
    for path in paths {
        for method in ["GET", "POST", "DELETE"] {
            let reply = request(server.addr(), method, path).await;
            assert_eq!(reply.status, 404, "{method} {path}");
            assert_eq!(reply.header("content-type"), Some(HTML), "{path}");
            assert_eq!(reply.header("content-security-policy"), Some(CSP));
            assert_eq!(reply.body.as_ref(), page, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn the_browser_client_and_engine_io_live_under_the_socket_io_path() {
    let server = start().await;
    let client = request(server.addr(), "GET", CLIENT).await;
    assert_eq!(client.status, 200);
    let content_type = client.header("content-type").unwrap();
    assert!(
        content_type.starts_with("application/javascript")
            || content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert_eq!(client.body.as_ref(), disk("clients/js/socket.io.js"));
    assert_eq!(client.header("x-content-type-options"), Some("nosniff"));

    // The rest of the path is Engine.IO's: a polling handshake, and its own errors.
    let open = request(server.addr(), "GET", "/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(open.status, 200);
    assert!(open.text().starts_with(r#"0{"sid":""#), "{}", open.text());
    let bad = request(server.addr(), "GET", "/socket.io/").await;
    assert_eq!(bad.status, 400, "Engine.IO answers, not the 404 page");
}

// ----- The binary -----

/// The running binary and the address it printed.
struct Binary {
    child: tokio::process::Child,
    addr: SocketAddr,
}

impl Binary {
    async fn start(args: &[&str], env: Option<&str>) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings-chat"));
        command
            .args(args)
            .env_remove("TIDINGS_ADDR")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(addr) = env {
            command.env("TIDINGS_ADDR", addr);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the listening line in time")
            .unwrap()
            .expect("a line on stdout");
        let addr = line
            .strip_prefix("listening http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Self {
            child,
            addr: addr.parse().unwrap(),
        }
    }

    /// Sends `signal` and waits for the exit; returns the status and what went to stderr.
    async fn stop(mut self, signal: &str) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args([signal, pid.as_str()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("the server stops within 5 s")
            .unwrap();
        let mut stderr = String::new();
        let mut pipe = self.child.stderr.take().unwrap();
        tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stderr)
            .await
            .unwrap();
        (status, stderr)
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_its_address_serves_and_stops_on_sigterm() {
    let server = Binary::start(&["--addr", "127.0.0.1:0"], Some("127.0.0.1:1")).await;
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr.port(), 0);
    let page = request(server.addr, "GET", "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.as_ref(), disk("apps/chat/static/index.html"));
    // A polling session that never polls again must not hold the shutdown.
    let open = request(server.addr, "GET", "/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(open.status, 200);

    let (status, stderr) = server.stop("-TERM").await;
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("chat started"), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(stderr.contains("chat stopped"), "{stderr}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_address_can_come_from_tidings_addr_and_ctrl_c_stops() {
    let server = Binary::start(&[], Some("127.0.0.1:0")).await;
    assert_ne!(server.addr.port(), 0);
    let script = request(server.addr, "GET", "/sercetTalk").await;
    assert_eq!(script.status, 200);
    let (status, _) = server.stop("-INT").await;
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_bad_address_or_argument_fails_with_a_message() {
    for args in [&["--addr", "nonsense"][..], &["--port", "3000"]] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings-chat"))
            .args(args)
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("tidings-chat: "), "{stderr}");
    }
}
