//! Host adapters: serve the API's router ([`crate::http::api`]) on a
//! host. The dev-server's accept loop ([`hyper`]) and a Vercel function
//! (`vercel`) each give the router what only the host knows, as request
//! extensions: where background work runs, the peer's address, the body
//! read deadline.

pub mod hyper;
#[cfg(feature = "vercel")]
pub mod vercel;
