//! Servers under test: started on free loopback ports, stopped when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running server process.
pub(crate) struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `program --addr 127.0.0.1:<free port> <args>` and waits until it accepts
    /// connections.
    pub(crate) fn start(program: &Path, args: &[&str], path: &str) -> Result<Self, String> {
        let addr = free_port()?;
        let child = Command::new(program)
            .arg("--addr")
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .env("RUST_LOG", "warn")
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", program.display()))?;
        let mut server = Self { child, addr };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{} did not listen on {addr}", program.display()));
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("{} exited early with {status}", program.display()));
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "xtask: {} {} listening on {addr}{path}",
            program.display(),
            args.join(" ")
        );
        Ok(server)
    }

    /// The base URL, without the path.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port that was free a moment ago.
fn free_port() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    listener.local_addr().map_err(|err| err.to_string())
}
