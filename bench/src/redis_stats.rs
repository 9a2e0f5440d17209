//! Counting what the store costs Redis: round trips and bytes.
//!
//! `INFO commandstats` counts the commands a Lua script runs as well as the
//! commands clients send, so a round trip is counted by name: the commands
//! `RedisStore` sends itself (`EVALSHA`, `EVAL` and `SCRIPT` for its
//! scripts, `ZRANGEBYSCORE` for the due and expiry indexes, `MULTI` for
//! the sweep log's transaction, `PING`). None of them is
//! called from inside a script (`lib/src/store/redis/lua/` uses hashes, `ZADD`,
//! `ZREM`, `ZSCORE`, `EXISTS`, `PEXPIRE`, `PTTL`).

use anyhow::Context;
use redis::aio::MultiplexedConnection;

/// A connection for the bench's own commands.
pub async fn connect(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let client = redis::Client::open(url)?;
    client
        .get_multiplexed_async_connection()
        .await
        .context("connect to the private Redis")
}

/// Resets `INFO commandstats`.
pub async fn reset(conn: &mut MultiplexedConnection) -> anyhow::Result<()> {
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(conn)
        .await?;
    Ok(())
}

/// Client round trips of the store since the last [`reset`].
pub async fn round_trips(conn: &mut MultiplexedConnection) -> anyhow::Result<u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await?;
    Ok(parse_round_trips(&info))
}

fn parse_round_trips(info: &str) -> u64 {
    info.lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let top_level = matches!(
                name,
                "evalsha" | "eval" | "zrangebyscore" | "ping" | "multi"
            ) || name.starts_with("script");
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()?;
            top_level.then_some(calls)
        })
        .sum()
}

/// Bytes clients sent to and received from Redis since the last [`reset`]
/// (`INFO stats`: `total_net_input_bytes`, `total_net_output_bytes`).
pub async fn net_bytes(conn: &mut MultiplexedConnection) -> anyhow::Result<(u64, u64)> {
    let info: String = redis::cmd("INFO").arg("stats").query_async(conn).await?;
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    Ok((
        field("total_net_input_bytes"),
        field("total_net_output_bytes"),
    ))
}

/// The redis-server's process id (`INFO server`).
pub async fn server_pid(conn: &mut MultiplexedConnection) -> anyhow::Result<u32> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
        .context("process_id in INFO server")
}

/// `used_memory` in bytes.
pub async fn used_memory(conn: &mut MultiplexedConnection) -> anyhow::Result<u64> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("used_memory in INFO memory")
}

/// Sum of `MEMORY USAGE key SAMPLES 0` (exact) over `keys`, pipelined.
pub async fn memory_usage(
    conn: &mut MultiplexedConnection,
    keys: &[String],
) -> anyhow::Result<u64> {
    let mut total = 0u64;
    for chunk in keys.chunks(500) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .arg("SAMPLES")
                .arg(0);
        }
        let sizes: Vec<Option<u64>> = pipe.query_async(conn).await?;
        total += sizes.into_iter().flatten().sum::<u64>();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_what_clients_send() {
        let info = "# Commandstats\r\n\
            cmdstat_evalsha:calls=10,usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=1\r\n\
            cmdstat_hset:calls=99,usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_script|load:calls=2,usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_zrangebyscore:calls=3,usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_info:calls=5,usec=1,usec_per_call=0.1,rejected_calls=0,failed_calls=0\r\n";
        assert_eq!(parse_round_trips(info), 15);
    }
}
