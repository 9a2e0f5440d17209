//! A small HTTP/1.1 keep-alive load generator.
//!
//! Each connection is one tokio task that sends a request, reads the whole
//! response, records the latency and sends the next one (no pipelining, as
//! `redis-benchmark -P 1` does for the ceiling). Responses are parsed only
//! as far as the status and `Content-Length`, which every response of the
//! dev-server carries. Latencies go into one sorted `Vec` per run: at a few
//! hundred thousand samples that is exact and cheap, so no HDR histogram.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request, sent as is on every iteration.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    raw: Vec<u8>,
    /// The status a successful answer has.
    pub expect: u16,
}

impl RequestSpec {
    /// `GET path`.
    pub fn get(path: &str, expect: u16) -> Self {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n\r\n");
        Self {
            raw: raw.into_bytes(),
            expect,
        }
    }

    /// `GET path` with one more header.
    pub fn get_with(path: &str, header: (&str, &str), expect: u16) -> Self {
        let raw = format!(
            "GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n{}: {}\r\n\r\n",
            header.0, header.1
        );
        Self {
            raw: raw.into_bytes(),
            expect,
        }
    }

    /// `POST path` with a JSON body.
    pub fn post_json(path: &str, body: &[u8], expect: u16) -> Self {
        let mut raw = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        Self { raw, expect }
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// The status line and headers.
    pub head: String,
}

impl Response {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects (with `TCP_NODELAY`, as any HTTP client does).
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `req` and reads its whole response.
    pub async fn send(&mut self, req: &RequestSpec) -> anyhow::Result<Response> {
        self.stream.write_all(&req.raw).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> anyhow::Result<Response> {
        let header_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..header_end])
            .context("response head")?
            .to_owned();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("status line")?;
        let declared = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        });
        // 304 and 204 have no body (RFC 9110 §15.4.5, §15.3.5).
        let length = match (status, declared) {
            (_, Some(n)) => n,
            (204 | 304, None) => 0,
            _ => bail!("response without Content-Length"),
        };
        while self.buf.len() < header_end + length {
            self.fill().await?;
        }
        let body = self.buf[header_end..header_end + length].to_vec();
        self.buf.drain(..header_end + length);
        Ok(Response { status, body, head })
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-response");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What one load point measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Concurrent connections.
    pub connections: usize,
    /// Requests completed inside the measured window.
    pub requests: u64,
    /// Answers with an unexpected status, or I/O errors.
    pub errors: u64,
    /// The measured window.
    pub window: Duration,
    /// Requests completed over the whole run, warm-up included.
    pub total_requests: u64,
    /// Latencies of the measured requests, sorted.
    latencies: Vec<Duration>,
}

impl LoadResult {
    /// Requests per second over the window.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }

    /// The `p`-quantile latency (0 < p ≤ 1), nearest rank.
    pub fn quantile(&self, p: f64) -> Duration {
        quantile(&self.latencies, p)
    }
}

/// The nearest-rank `p`-quantile of sorted `samples` (zero when empty).
pub fn quantile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Runs `connections` keep-alive connections sending `req` for `warmup`
/// (not recorded) then `duration` (recorded).
pub async fn run(
    addr: SocketAddr,
    req: RequestSpec,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let req = Arc::new(req);
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(addr).await?);
    }
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for mut conn in conns {
        let req = req.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(64 * 1024);
            let mut errors = 0u64;
            let mut total = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let outcome = conn.send(&req).await;
                let done = Instant::now();
                let ok = matches!(&outcome, Ok(r) if r.status == req.expect);
                total += 1;
                if sent >= measure_from && done <= end {
                    if ok {
                        samples.push(done - sent);
                    } else {
                        errors += 1;
                    }
                }
                if outcome.is_err() {
                    // A broken connection: open a fresh one and go on.
                    match Conn::open(addr).await {
                        Ok(c) => conn = c,
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            }
            (samples, errors, total)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut total_requests = 0;
    for task in tasks {
        let (samples, e, t) = task.await?;
        latencies.extend(samples);
        errors += e;
        total_requests += t;
    }
    latencies.sort_unstable();
    Ok(LoadResult {
        connections,
        requests: latencies.len() as u64,
        errors,
        window: duration,
        total_requests,
        latencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&s, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&s, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&s, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
