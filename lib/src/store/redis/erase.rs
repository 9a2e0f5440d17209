//! [`EraseStore`] on Redis: `lua/erase.lua`, one atomic step over the job's
//! keys, its due entry, the console's indexes and its idempotency key.

use super::scripts::EraseCall;
use super::{corrupt, string, unavailable, RedisStore};
use crate::model::JobId;
use crate::store::erase::{EraseStore, Erased};
use crate::store::{BoxFuture, Result, StoreError};

impl EraseStore for RedisStore {
    fn erase(&self, id: JobId) -> BoxFuture<'_, Result<Erased>> {
        Box::pin(async move {
            let k = self.keys(id);
            // The idempotency key's name is in the job hash (see create.lua);
            // the script checks it is still what we read, so its KEYS list
            // every key it touches (Upstash requires it).
            for _ in 0..3 {
                let mut conn = self.conn.clone();
                let idem: Option<String> = ::redis::cmd("HGET")
                    .arg(&k.job)
                    .arg("idem")
                    .query_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
                let inv = EraseCall {
                    keys: k.clone(),
                    job_id: id,
                    idem,
                };
                let reply = self.status_reply(&inv).await?;
                match reply.into_iter().next().map(string).transpose()?.as_deref() {
                    Some("erased") => return Ok(Erased::Erased),
                    Some("missing") => return Ok(Erased::Missing),
                    Some("changed") => continue,
                    _ => return Err(corrupt("unexpected erase reply")),
                }
            }
            Err(StoreError::Unavailable(
                "erase: the job kept changing; try again".to_owned(),
            ))
        })
    }
}
