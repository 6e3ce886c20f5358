//! `cargo xtask bench [--quick] [suite options]`: builds the benchmark peers and the load
//! generator, then runs `tidings-loadgen suite`, which prints one markdown table
//! (`bench/README.md` has the method).
//!
//! `--quick` is the CI smoke: seconds-long scenarios against Tidings (1 worker), Node
//! socket.io and the floor; it asserts no timing and fails only when a peer cannot be
//! reached or a scenario delivers nothing. The socketioxide peer (its own workspace,
//! about a minute and a half to build) runs only in the full benchmark.

use std::path::Path;
use std::process::Command;

use crate::{root, run};

/// Builds what the suite needs and runs it; `args` are passed on to the suite.
pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    let root = root();
    let quick = args.iter().any(|arg| arg == "--quick");
    run(Command::new("cargo")
        .args(["build", "--release", "--locked"])
        .args(["-p", "tidings-loadgen", "-p", "tidings-bench-peer"])
        .args(["-p", "tidings-bench-floor"])
        .current_dir(&root))?;
    let release = root.join("target/release");
    let mut suite = Command::new(release.join("tidings-loadgen"));
    suite
        .arg("suite")
        .arg("--tidings-peer")
        .arg(release.join("tidings-bench-peer"))
        .arg("--floor-peer")
        .arg(release.join("tidings-bench-floor"));

    let node = root.join("bench/peers/node");
    if has_node() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node))?;
        suite.arg("--node-peer").arg(&node);
    } else if quick {
        return Err("node is needed for the Node.js peer".to_owned());
    } else {
        eprintln!("xtask: node not found, the Node.js peer is skipped");
    }

    if quick {
        eprintln!("xtask: --quick skips the socketioxide peer (its build takes about 90 s)");
    } else {
        let target = root.join("target/socketioxide-peer");
        run(Command::new("cargo")
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(root.join("bench/peers/socketioxide/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .current_dir(&root))?;
        suite
            .arg("--socketioxide-peer")
            .arg(target.join("release/bench-peer-socketioxide"));
    }

    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)
        .map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let file = out.join(if quick { "quick.md" } else { "results.md" });
    suite.args(args).arg("--out").arg(&file);
    run(suite.current_dir(&root))?;
    eprintln!("xtask: table written to {}", relative(&root, &file));
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn has_node() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}
