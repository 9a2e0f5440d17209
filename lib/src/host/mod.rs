//! Host adapters: turn a host's request into the library's
//! `http::Request<Bytes>` (collecting the body under the size limit) and
//! the library's response back.

pub mod hyper;
#[cfg(feature = "vercel")]
pub mod vercel;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

/// Collects a request body, refusing more than `limit` bytes (without
/// reading further than that). `Err(true)` when over the limit, `Err(false)`
/// when the connection failed mid-body.
pub(crate) async fn collect_limited<B>(body: B, limit: usize) -> Result<Bytes, bool>
where
    B: http_body::Body<Data = Bytes> + Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(e
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()),
    }
}
