//! Reads the server's eviction policy for [`crate::store::health::judge`].

use super::{unavailable, RedisStore};
use crate::store::health::EvictionPolicy;
use crate::store::Result;

impl RedisStore {
    /// Reads `maxmemory-policy` with `CONFIG GET`. An empty answer
    /// (Upstash) or an error reply (command not allowed or unknown) is
    /// [`EvictionPolicy::Unknown`]; only a connection failure is an error.
    pub async fn eviction_policy(&self) -> Result<EvictionPolicy> {
        let mut conn = self.conn.clone();
        let reply: std::result::Result<Vec<String>, ::redis::RedisError> = ::redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut conn)
            .await;
        match reply {
            Ok(pair) => Ok(match pair.get(1).map(String::as_str) {
                Some("noeviction") => EvictionPolicy::Off,
                Some(p) => EvictionPolicy::Evicts(p.to_owned()),
                None => EvictionPolicy::Unknown,
            }),
            // The server answered with an error (unknown command, NOPERM):
            // it is reachable, the policy just cannot be read.
            Err(e) if e.code().is_some() => Ok(EvictionPolicy::Unknown),
            Err(e) => Err(unavailable(e)),
        }
    }
}
