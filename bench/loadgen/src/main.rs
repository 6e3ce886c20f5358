//! `tidings-loadgen`: the benchmark harness of Tidings (issue 5; method in
//! `bench/README.md`).
//!
//! It speaks Engine.IO v4 / Socket.IO v5 through `tidings-eio` and `tidings-sio` only,
//! never through the server crates, and runs every peer on loopback.
//!
//! Subcommands:
//! - `suite [--quick] [--runs N] [--echo-runs N] --tidings-peer BIN [--node-peer DIR]
//!   [--socketioxide-peer BIN] [--floor-peer BIN] [--only a,b] [--scenarios a,b]
//!   [--out FILE]`: the compare driver (what `cargo xtask bench` runs);
//! - `worker --target ADDR --mode ws|upgrade|raw --count N [--offset N]
//!   [--concurrency N]`: holds connections, counts ticks, answers `report`/`reset`/`quit`
//!   on stdin;
//! - `echo --target ADDR --transport ws|polling|raw [--clients N] [--rate N]
//!   [--warmup-ms N] [--measure-ms N]`: the echo round trip with acks.
//!
//! Every server it measures is a program of its own; the raw WebSocket floor is
//! `tidings-bench-floor` (`bench/peers/floor`).
//!
//! Every subcommand takes `--max-seconds` and stops by itself; clients bind source
//! addresses `--sources 2-50` (127.0.0.2 to 127.0.0.50).
//!
//! # Layout
//! - `suite`: the driver, the table; `procfs`: what it reads from `/proc`;
//! - `worker`, `echo`: the client processes; `conn`: connections and handshakes;
//! - `admin`: the GET the driver sends to a peer's admin HTTP;
//! - pure codecs with their tests: `ws` (WebSocket frames), `http` (responses),
//!   `histogram` (percentiles), `tick` (the broadcast payload).

mod admin;
mod conn;
mod echo;
mod histogram;
mod http;
mod procfs;
mod suite;
mod tick;
mod worker;
mod ws;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// Microseconds since the Unix epoch: the clock every peer stamps ticks with.
pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

/// `--name value` options and `--flag`s.
#[derive(Debug, Default)]
pub(crate) struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut parsed = Self::default();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg}");
            };
            match args.peek() {
                Some(next) if !next.starts_with("--") => {
                    let value = args.next().unwrap_or_default();
                    parsed.values.insert(name.to_owned(), value);
                }
                _ => parsed.flags.push(name.to_owned()),
            }
        }
        Ok(parsed)
    }

    /// A required option.
    pub(crate) fn value(&self, name: &str) -> anyhow::Result<String> {
        self.values
            .get(name)
            .cloned()
            .with_context(|| format!("--{name} is required"))
    }

    /// A numeric option with a default.
    pub(crate) fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.values.get(name) {
            Some(value) => value
                .parse()
                .map_err(|_| anyhow::anyhow!("--{name}: not a number: {value}")),
            None => Ok(default),
        }
    }

    /// True when `--name` was given without a value.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|flag| flag == name)
    }

    /// The last octets of the source addresses, `--sources 2-50` by default.
    pub(crate) fn sources(&self) -> anyhow::Result<(u8, u8)> {
        let text = self.values.get("sources").map_or("2-50", String::as_str);
        let (first, last) = text.split_once('-').unwrap_or((text, text));
        let (first, last): (u8, u8) = (first.parse()?, last.parse()?);
        if first == 0 || first > last {
            bail!("--sources: bad range {text}");
        }
        Ok((first, last))
    }
}

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let options = Args::parse(args)?;
    match command.as_str() {
        "suite" => suite::run(&options),
        // The generator is pinned to one core: one thread does all its work.
        "worker" => current_thread()?.block_on(worker::run(&options)),
        "echo" => current_thread()?.block_on(echo::run(&options)),
        _ => {
            bail!("usage: tidings-loadgen <suite|worker|echo> [options] (see the crate docs)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Args {
        Args::parse(text.split_whitespace().map(str::to_owned)).unwrap()
    }

    #[test]
    fn parses_values_and_flags() {
        let args = parse("--quick --runs 3 --out x.md --verbose");
        assert!(args.flag("quick"));
        assert!(args.flag("verbose"));
        assert_eq!(args.number("runs", 1).unwrap(), 3);
        assert_eq!(args.number("other", 7).unwrap(), 7);
        assert_eq!(args.value("out").unwrap(), "x.md");
        assert!(args.value("missing").is_err());
        assert!(args.number::<u32>("out", 0).is_err());
        assert!(Args::parse(["stray".to_owned()].into_iter()).is_err());
    }

    #[test]
    fn parses_source_ranges() {
        assert_eq!(parse("").sources().unwrap(), (2, 50));
        assert_eq!(parse("--sources 10-20").sources().unwrap(), (10, 20));
        assert_eq!(parse("--sources 9").sources().unwrap(), (9, 9));
        assert!(parse("--sources 20-10").sources().is_err());
        assert!(parse("--sources 0-10").sources().is_err());
    }
}
