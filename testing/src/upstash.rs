//! A RESP proxy that answers like Upstash where Upstash differs from the
//! `redis-server` behind it, so the store can be tested against those
//! differences without an Upstash account.
//!
//! It sits between the service and a private `redis-server` (the one of
//! [`crate::redis::url`]) and passes every command through, except:
//! - `EVALSHA` always answers `NOSCRIPT`: Upstash's script cache is lost on
//!   restart and `SCRIPT FLUSH`, and `EVALSHA` may reach a replica that
//!   has not got the script (`redis/commands/scripting/evalsha.mdx`;
//!   upstash/ratelimit-js PR #137 moved to `EVAL` for it). `SCRIPT LOAD`
//!   still goes through, so a client that loads and retries gets
//!   `NOSCRIPT` again, the worst case.
//! - `CONFIG GET <anything but notify-keyspace-events>` answers an empty
//!   array: "other names simply return no matching entries rather than an
//!   error" (`redis/commands/server/config-get.mdx`).
//! - once [`UpstashProxy::fill`] was called, every command that may write
//!   answers `ERR DB capacity quota exceeded`
//!   (`redis/troubleshooting/db_capacity_quota_exceeded.mdx`), before it
//!   reaches Redis, as Upstash refuses a write past the database's
//!   capacity.
//!
//! It also measures the largest request and the largest reply it relayed,
//! against Upstash's 10 MB limit on both ("large reads count too",
//! `redis/overall/billing.mdx`), and meters what Upstash bills by: every
//! command a client sends, and the bytes both ways ([`UpstashProxy::meter`]).
//! [`UpstashProxy::start_warm`] relays `EVALSHA` (a node whose script cache
//! holds the scripts, the usual case), for counting what a report costs.
//!
//! Evidence: ../shared/research/UPSTASH_CONSOLE_WAITING.md, section A
//! (findings 1, 2, 5 and 6). Commands are handled one at a time per
//! connection, in order, so pipelined replies keep their order.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The proxy, listening on a free loopback port until dropped.
pub struct UpstashProxy {
    url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct State {
    full: AtomicBool,
    /// `EVALSHA` goes through (scripts cached) instead of `NOSCRIPT`.
    warm: AtomicBool,
    /// Bytes of every request and every reply relayed or answered.
    request_bytes: AtomicUsize,
    reply_bytes: AtomicUsize,
    /// Every command name seen, upper case, in order.
    seen: Mutex<Vec<String>>,
    /// The most bytes of one request and of one reply relayed.
    largest_request: AtomicUsize,
    largest_reply: AtomicUsize,
}

/// Commands that read only (everything else counts as a write when full).
const READS: &[&str] = &[
    "PING",
    "GET",
    "HGET",
    "HMGET",
    "HGETALL",
    "EXISTS",
    "LRANGE",
    "ZRANGEBYSCORE",
    "ZRANGE",
    "PTTL",
    "TTL",
    "SCAN",
    "CONFIG",
    "CLIENT",
    "HELLO",
    "AUTH",
    "SELECT",
    "MULTI",
    "EXEC",
    "DISCARD",
    "SCRIPT",
    "INFO",
];

impl UpstashProxy {
    /// Starts a proxy in front of the Redis at `upstream` (`redis://host:port`).
    ///
    /// # Panics
    /// When no loopback port can be bound or the URL has no host and port.
    pub async fn start(upstream: &str) -> Self {
        Self::start_with(upstream, false).await
    }

    /// A proxy whose `EVALSHA` reaches Redis (the scripts are cached there
    /// after their first load), for metering the usual case.
    pub async fn start_warm(upstream: &str) -> Self {
        Self::start_with(upstream, true).await
    }

    async fn start_with(upstream: &str, warm: bool) -> Self {
        let target = upstream
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("redis://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State::default());
        state.warm.store(warm, Ordering::SeqCst);
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (state, target) = (shared.clone(), target.clone());
                tokio::spawn(async move {
                    // A closed connection ends its task; nothing to report.
                    let _ = relay(client, &target, &state).await;
                });
            }
        });
        Self { url, state, task }
    }

    /// The URL to give the service.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// From now on, every write is refused as Upstash refuses it when the
    /// database is at its capacity.
    pub fn fill(&self) {
        self.state.full.store(true, Ordering::SeqCst);
    }

    /// The most bytes one request had (as sent, script text included).
    pub fn largest_request(&self) -> usize {
        self.state.largest_request.load(Ordering::SeqCst)
    }

    /// The most bytes one reply from Redis had.
    pub fn largest_reply(&self) -> usize {
        self.state.largest_reply.load(Ordering::SeqCst)
    }

    /// Commands and bytes so far.
    pub fn meter(&self) -> Meter {
        let seen = self.state.seen.lock().unwrap_or_else(|e| e.into_inner());
        Meter {
            commands: seen.len(),
            request_bytes: self.state.request_bytes.load(Ordering::SeqCst),
            reply_bytes: self.state.reply_bytes.load(Ordering::SeqCst),
        }
    }

    /// The names of the commands seen since `from` (a [`Meter::commands`]),
    /// counted by name.
    pub fn commands_since(&self, from: usize) -> std::collections::BTreeMap<String, usize> {
        let seen = self.state.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts = std::collections::BTreeMap::new();
        for name in seen.iter().skip(from) {
            *counts.entry(name.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// How many commands named `name` (upper case) came through.
    pub fn count(&self, name: &str) -> usize {
        let seen = self.state.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter().filter(|n| *n == name).count()
    }
}

/// What the proxy has relayed: Upstash's billing units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meter {
    /// Commands clients sent (each one billed by Upstash, pipelined or not).
    pub commands: usize,
    /// Bytes of those commands.
    pub request_bytes: usize,
    /// Bytes of the replies.
    pub reply_bytes: usize,
}

impl std::ops::Sub for Meter {
    type Output = Meter;
    fn sub(self, earlier: Meter) -> Meter {
        Meter {
            commands: self.commands.saturating_sub(earlier.commands),
            request_bytes: self.request_bytes.saturating_sub(earlier.request_bytes),
            reply_bytes: self.reply_bytes.saturating_sub(earlier.reply_bytes),
        }
    }
}

impl Drop for UpstashProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one client connection over its own connection to Redis.
async fn relay(client: TcpStream, target: &str, state: &State) -> std::io::Result<()> {
    let server = TcpStream::connect(target).await?;
    let (client_read, mut client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    let mut client_read = BufReader::new(client_read);
    let mut server_read = BufReader::new(server_read);
    while let Some((raw, args)) = read_command(&mut client_read).await? {
        let name = args
            .first()
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
            .unwrap_or_default();
        if let Ok(mut seen) = state.seen.lock() {
            seen.push(name.clone());
        }
        state.request_bytes.fetch_add(raw.len(), Ordering::SeqCst);
        let reply = match local_answer(&name, &args, state) {
            Some(answer) => answer.as_bytes().to_vec(),
            None => {
                state.largest_request.fetch_max(raw.len(), Ordering::SeqCst);
                server_write.write_all(&raw).await?;
                let mut reply = Vec::new();
                read_reply(&mut server_read, &mut reply).await?;
                state.largest_reply.fetch_max(reply.len(), Ordering::SeqCst);
                reply
            }
        };
        state.reply_bytes.fetch_add(reply.len(), Ordering::SeqCst);
        client_write.write_all(&reply).await?;
    }
    Ok(())
}

/// Upstash's own answer to a command, where it differs from Redis'.
fn local_answer(name: &str, args: &[Vec<u8>], state: &State) -> Option<&'static str> {
    let arg = |i: usize| {
        args.get(i)
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
    };
    match name {
        "EVALSHA" if !state.warm.load(Ordering::SeqCst) => {
            Some("-NOSCRIPT No matching script. Please use EVAL.\r\n")
        }
        "CONFIG"
            if arg(1).as_deref() == Some("get")
                && arg(2).as_deref() != Some("notify-keyspace-events") =>
        {
            Some("*0\r\n")
        }
        _ if state.full.load(Ordering::SeqCst) && !READS.contains(&name) => {
            Some("-ERR DB capacity quota exceeded\r\n")
        }
        _ => None,
    }
}

/// One command as the client sent it (an array of bulk strings): its raw
/// bytes and its arguments. `None` at the end of the stream.
async fn read_command<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
) -> std::io::Result<Option<(Vec<u8>, Vec<Vec<u8>>)>> {
    let mut raw = Vec::new();
    let Some(header) = read_line(r, &mut raw).await? else {
        return Ok(None);
    };
    let n = count(&header, b'*')?;
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let line = read_line(r, &mut raw).await?.ok_or_else(eof)?;
        let len = count(&line, b'$')?;
        let mut bulk = vec![0; len + 2];
        r.read_exact(&mut bulk).await?;
        raw.extend_from_slice(&bulk);
        bulk.truncate(len);
        args.push(bulk);
    }
    Ok(Some((raw, args)))
}

/// One whole reply (RESP2 or RESP3), appended raw to `out`.
async fn read_reply<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut pending: usize = 1;
    while pending > 0 {
        pending -= 1;
        let line = read_line(r, out).await?.ok_or_else(eof)?;
        let (kind, rest) = line
            .split_first()
            .ok_or_else(|| invalid("empty reply line"))?;
        let n: i64 = std::str::from_utf8(rest)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        match kind {
            b'$' | b'=' | b'!' if n >= 0 => {
                let len = usize::try_from(n).map_err(|_| invalid("length"))? + 2;
                let mut bulk = vec![0; len];
                r.read_exact(&mut bulk).await?;
                out.extend_from_slice(&bulk);
            }
            b'*' | b'~' | b'>' if n > 0 => pending += usize::try_from(n).unwrap_or(0),
            b'%' if n > 0 => pending += 2 * usize::try_from(n).unwrap_or(0),
            // An attribute comes before the reply it describes.
            b'|' => pending += 2 * usize::try_from(n).unwrap_or(0) + 1,
            _ => {}
        }
    }
    Ok(())
}

/// A line without its `\r\n`, also appended raw (with it) to `raw`.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    raw: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    raw.extend_from_slice(&line);
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(line))
}

/// The count after a `*` or `$` marker.
fn count(line: &[u8], marker: u8) -> std::io::Result<usize> {
    match line.split_first() {
        Some((m, rest)) if *m == marker => std::str::from_utf8(rest)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("bad count")),
        _ => Err(invalid("not an array of bulk strings")),
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

fn eof() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof)
}
