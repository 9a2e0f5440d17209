//! A private Redis over TLS (`rediss://`), with a CA made for the test run.
//!
//! [`server`] starts, once per test process, a disk-less `redis-server`
//! listening only on a TLS port (Debian's build has TLS), with a server
//! certificate for `localhost` and `127.0.0.1` signed by a CA that
//! [`rcgen`] makes on the spot; the CA's PEM is written beside it. A second
//! CA that signed nothing ([`TlsRedis::stranger_ca_file`]) shows what a
//! wrong CA does. The same shell watchdog as `care_report_testing::redis`
//! stops the server when the test process ends. Never port 6379.
//!
//! ```no_run
//! # async fn demo() {
//! use care_report_testing::tls_redis;
//! let store = tls_redis::store(care_report::store::Retention::default()).await;
//! # }
//! ```

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use care_report::store::{RedisConfig, RedisStore, Retention, TlsCa};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::redis::{free_port, spawn_watched, unique_prefix};

/// The TLS Redis of this test run.
#[derive(Debug)]
pub struct TlsRedis {
    /// `rediss://localhost:PORT`.
    pub url: String,
    /// The CA that signed the server's certificate (PEM file).
    pub ca_file: PathBuf,
    /// A CA that signed nothing here (PEM file).
    pub stranger_ca_file: PathBuf,
}

/// The TLS Redis of this test run (started on first use).
///
/// # Panics
/// When the certificates cannot be made or written, or `redis-server` does
/// not listen on its TLS port within 10 s.
pub fn server() -> &'static TlsRedis {
    static SERVER: OnceLock<TlsRedis> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// A [`RedisStore`] on the TLS Redis under a fresh key prefix, trusting
/// the test CA.
pub async fn store(retention: Retention) -> RedisStore {
    let redis = server();
    let config = RedisConfig {
        prefix: unique_prefix(),
        retention,
        tls_ca: Some(ca(&redis.ca_file)),
        ..RedisConfig::default()
    };
    match RedisStore::connect(&redis.url, config).await {
        Ok(store) => store,
        Err(e) => panic!("cannot connect to the TLS test Redis: {e}"),
    }
}

/// The CA certificates in the PEM file at `path`.
///
/// # Panics
/// When the file holds no certificate.
pub fn ca(path: &std::path::Path) -> TlsCa {
    TlsCa::from_file(path).unwrap_or_else(|why| panic!("{}: {why}", path.display()))
}

/// Makes a CA that can sign certificates, named `name`.
fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    CertifiedIssuer::self_signed(params, key).expect("self-signed CA")
}

fn start() -> TlsRedis {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("care-report-test-tls-redis-{port}"));
    std::fs::create_dir_all(&dir).expect("create the TLS Redis directory");
    let ca = make_ca("care-report test CA");
    let stranger = make_ca("care-report stranger CA");
    let server_key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server certificate parameters");
    let server_cert = params
        .signed_by(&server_key, &ca)
        .expect("server certificate");
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write a PEM file");
        path
    };
    let cert = write("server.crt", server_cert.pem());
    let key = write("server.key", server_key.serialize_pem());
    let ca_file = write("ca.crt", ca.pem());
    let stranger_ca_file = write("stranger-ca.crt", stranger.pem());
    spawn_watched(&format!(
        "--port 0 --tls-port {port} --bind 127.0.0.1 --tls-cert-file '{}' --tls-key-file '{}' \
         --tls-ca-cert-file '{}' --tls-auth-clients no --save '' --appendonly no --dir '{}' --logfile ''",
        cert.display(),
        key.display(),
        ca_file.display(),
        dir.display()
    ));
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis-server did not listen on TLS port {port} within 10 s (is it built with TLS?)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    TlsRedis {
        url: format!("rediss://localhost:{port}"),
        ca_file,
        stranger_ca_file,
    }
}
