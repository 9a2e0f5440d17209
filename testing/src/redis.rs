//! A private Redis for tests, never the shared one on port 6379.
//!
//! [`url`] answers the URL of a Redis that belongs to this test run:
//! `TEST_REDIS_URL` when set (`scripts/test.sh` starts one on a free port and
//! exports it), otherwise a `redis-server` this process starts on a free port
//! with persistence off. A small shell watchdog kills that server when the
//! test process exits, however it exits. Give each test its own key prefix
//! ([`unique_prefix`]) and tests can share the server and run in parallel.
//!
//! ```no_run
//! # async fn demo() {
//! use care_report_testing::redis as test_redis;
//! let store = test_redis::store(care_report::store::Retention::default()).await;
//! // ... use `store`; afterwards:
//! let bare = test_redis::keys_without_ttl(store.prefix()).await;
//! assert!(bare.is_empty());
//! # }
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use care_report::store::{RedisConfig, RedisStore, Retention};

/// The variable naming an already running private Redis.
pub const ENV_TEST_REDIS_URL: &str = "TEST_REDIS_URL";

/// The port tests must never use: the shared development Redis.
const SHARED_PORT: u16 = 6379;

/// The URL of this test run's private Redis (started on first use).
///
/// # Panics
/// When no private Redis can be had: `TEST_REDIS_URL` points at port 6379,
/// or `redis-server` is missing or does not start.
pub fn url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var(ENV_TEST_REDIS_URL) {
        Ok(url) if !url.trim().is_empty() => {
            let url = url.trim().to_owned();
            if let Err(why) = check_private(&url) {
                panic!("{ENV_TEST_REDIS_URL}: {why}");
            }
            url
        }
        _ => spawn_private(),
    })
    .clone()
}

/// Whether `url` may be used by tests: it must parse as a Redis URL (the
/// client's own parser decides, so host and port are what it would dial)
/// and must not name the shared development Redis: port 6379 on this
/// machine (`localhost`, any loopback address, `0.0.0.0` or `::`), in any
/// scheme, with the port written or left to its default.
///
/// # Errors
/// Why the URL is refused (it never contains a password: only host, port
/// and what went wrong).
pub fn check_private(url: &str) -> Result<(), String> {
    use ::redis::{ConnectionAddr, IntoConnectionInfo};
    let info = url
        .into_connection_info()
        .map_err(|e| format!("not a Redis URL ({:?})", e.kind()))?;
    let (host, port) = match info.addr() {
        ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
        // A socket file is this machine's, and not the shared port.
        ConnectionAddr::Unix(_) => return Ok(()),
        // Newer address kinds: refuse rather than guess.
        _ => return Err("an address kind the guard does not know".to_owned()),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    if local && port == SHARED_PORT {
        return Err(format!(
            "{host}:{port} is the shared development Redis; tests need a private one (scripts/test.sh starts one)"
        ));
    }
    Ok(())
}

/// A fresh key prefix (`test:{uuid}:`), so tests never see each other's keys.
pub fn unique_prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4())
}

/// A [`RedisStore`] on the private Redis under a fresh prefix.
pub async fn store(retention: Retention) -> RedisStore {
    store_with_prefix(&unique_prefix(), retention).await
}

/// A [`RedisStore`] on the private Redis under `prefix`.
pub async fn store_with_prefix(prefix: &str, retention: Retention) -> RedisStore {
    let config = RedisConfig {
        prefix: prefix.to_owned(),
        retention,
        ..RedisConfig::default()
    };
    match RedisStore::connect(&url(), config).await {
        Ok(store) => store,
        Err(e) => panic!("cannot connect to the private test Redis: {e}"),
    }
}

/// Every key under `prefix` that has no TTL (found with SCAN, not KEYS).
pub async fn keys_without_ttl(prefix: &str) -> Vec<String> {
    let mut conn = raw_connection().await;
    let mut bare = Vec::new();
    for key in scan(&mut conn, prefix).await {
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap_or(-2);
        // -1: no TTL; -2: gone meanwhile (fine).
        if ttl == -1 {
            bare.push(key);
        }
    }
    bare
}

/// Every member of the sorted set `key` on the test Redis.
pub async fn zrange(key: &str) -> Vec<String> {
    let url = url();
    if let Err(why) = check_private(&url) {
        panic!("{why}");
    }
    let mut conn = connection_to(&url).await;
    ::redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("ZRANGE on the test Redis")
}

/// Every key under `prefix` (SCAN).
pub async fn keys(prefix: &str) -> Vec<String> {
    keys_on(&url(), prefix).await
}

/// Every key under `prefix` on the Redis at `url` (SCAN), for a test that
/// runs a `redis-server` of its own.
///
/// # Panics
/// When `url` is the shared Redis ([`check_private`]) or cannot be reached.
pub async fn keys_on(url: &str, prefix: &str) -> Vec<String> {
    if let Err(why) = check_private(url) {
        panic!("{why}");
    }
    let mut conn = connection_to(url).await;
    scan(&mut conn, prefix).await
}

/// One hash field of `key` on the Redis at `url` (a test's own
/// redis-server), `None` when absent.
pub async fn hget_on(url: &str, key: &str, field: &str) -> Option<String> {
    if let Err(why) = check_private(url) {
        panic!("{why}");
    }
    let mut conn = connection_to(url).await;
    ::redis::cmd("HGET")
        .arg(key)
        .arg(field)
        .query_async(&mut conn)
        .await
        .expect("HGET on the test Redis")
}

async fn raw_connection() -> ::redis::aio::MultiplexedConnection {
    connection_to(&url()).await
}

async fn connection_to(url: &str) -> ::redis::aio::MultiplexedConnection {
    let client = ::redis::Client::open(url).expect("test Redis URL");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis")
}

async fn scan(conn: &mut ::redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
    let pattern = format!("{}*", glob_escape(prefix));
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .expect("SCAN on the test Redis");
        out.extend(batch);
        if next == 0 {
            return out;
        }
        cursor = next;
    }
}

fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn spawn_private() -> String {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("care-report-test-redis-{port}"));
    let _ = std::fs::create_dir_all(&dir);
    spawn_watched(&format!(
        "--port {port} --bind 127.0.0.1 --save '' --appendonly no --dir '{}' --logfile ''",
        dir.display()
    ));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if ping(port) {
            return format!("redis://127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis-server did not answer on port {port} within 10 s");
}

/// Starts `redis-server ARGS` under a shell watchdog that waits for this
/// process to end and then kills the server: no stray servers even when
/// tests abort. The watchdog is kept, never waited for.
pub(crate) fn spawn_watched(args: &str) {
    let script = format!(
        "redis-server {args} >/dev/null 2>&1 & r=$!; \
         while kill -0 {pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done; \
         kill $r 2>/dev/null",
        pid = std::process::id(),
    );
    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server (is it installed?)");
    static WATCHDOGS: std::sync::Mutex<Vec<std::process::Child>> =
        std::sync::Mutex::new(Vec::new());
    WATCHDOGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(watchdog);
}

/// A free port on 127.0.0.1 that is not the shared Redis's.
pub(crate) fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind 127.0.0.1:0 to find a free port");
        if port != SHARED_PORT {
            return port;
        }
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 16];
    stream.write_all(b"PING\r\n").is_ok()
        && stream
            .read(&mut buf)
            .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}

#[cfg(test)]
mod tests {
    use super::check_private;

    #[test]
    fn the_shared_redis_is_refused_however_it_is_written() {
        for url in [
            // The default port, not written: a substring check on ":6379"
            // let these through.
            "redis://localhost",
            "redis://127.0.0.1",
            "rediss://localhost",
            "redis://:secret@localhost/0",
            // Written.
            "redis://127.0.0.1:6379",
            "redis://localhost:6379/2",
            "rediss://127.0.0.1:6379",
            "redis://[::1]:6379",
            "redis://127.0.0.2:6379",
            "redis://0.0.0.0:6379",
            "redis://LOCALHOST:6379",
            "redis://user:pw@127.0.0.1:6379/1",
        ] {
            let why = check_private(url).expect_err(url);
            assert!(!why.contains("secret") && !why.contains("pw"), "{why}");
        }
    }

    #[test]
    fn a_private_redis_is_accepted() {
        for url in [
            "redis://127.0.0.1:6380",
            "redis://127.0.0.1:16379",
            // Contains ":6379" as a substring, and is another port.
            "redis://127.0.0.1:63790",
            "redis://localhost:45123/0",
            "redis://[::1]:40000",
            // Another machine's 6379 is not the shared local one.
            "redis://redis.internal:6379",
        ] {
            assert_eq!(check_private(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn a_url_that_does_not_parse_is_refused() {
        for url in ["not a url", "http://127.0.0.1:6380", "redis://:secret@"] {
            let why = check_private(url).expect_err(url);
            assert!(!why.contains("secret"), "{why}");
        }
    }
}
