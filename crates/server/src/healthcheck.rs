//! `tokenstack healthcheck`: one `GET /readyz` on the configured address, for a container's `HEALTHCHECK` (an image
//! with no curl or wget) or any supervisor; healthy when the answer is a 200.
//!
//! Plain blocking std I/O, no async runtime: it runs every few seconds in a container and must start and finish in
//! milliseconds. With TLS configured it speaks HTTPS without checking the certificate: it probes this very server
//! on loopback, sends no credential and reads nothing but the status line.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Why the server is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("cannot probe port 0: give the port the server listens on (--bind or TOKENSTACK_BIND)")]
    PortZero,
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: SocketAddr, source: std::io::Error },
    #[error("GET /readyz on {addr} failed: {source}")]
    Io { addr: SocketAddr, source: std::io::Error },
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("GET /readyz on {addr} answered {status:?}, not 200")]
    Status { addr: SocketAddr, status: String },
}

/// The address to probe for a server bound to `bind`: loopback for an unspecified address (`0.0.0.0`, `::`).
pub fn probe_address(bind: SocketAddr) -> Result<SocketAddr, HealthcheckError> {
    if bind.port() == 0 {
        return Err(HealthcheckError::PortZero);
    }
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, bind.port()))
}

/// `GET /readyz` on the server bound to `bind` (HTTPS when `tls`), within `timeout` for the connection and for each
/// read and write; `Ok` when it answers 200.
pub fn probe(bind: SocketAddr, tls: bool, timeout: Duration) -> Result<(), HealthcheckError> {
    let addr = probe_address(bind)?;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|source| HealthcheckError::Connect { addr, source })?;
    let io = |source| HealthcheckError::Io { addr, source };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: tokenstack-healthcheck\r\nConnection: close\r\n\r\n"
    );
    let mut response = Vec::new();
    if tls {
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate))
                .with_no_client_auth();
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let connection = rustls::ClientConnection::new(Arc::new(config), name)?;
        let mut tls = rustls::StreamOwned::new(connection, stream);
        exchange(&mut tls, request.as_bytes(), &mut response).map_err(io)?;
    } else {
        exchange(&mut stream, request.as_bytes(), &mut response).map_err(io)?;
    }
    let text = String::from_utf8_lossy(&response);
    let status = text.lines().next().unwrap_or_default().trim().to_string();
    match status.split(' ').nth(1) {
        Some("200") => Ok(()),
        _ => Err(HealthcheckError::Status { addr, status }),
    }
}

/// Writes the request and reads the status line (at most 1 KiB: nothing else matters).
fn exchange(stream: &mut impl ReadWrite, request: &[u8], response: &mut Vec<u8>) -> std::io::Result<()> {
    stream.write_all(request)?;
    stream.flush()?;
    let mut buffer = [0u8; 1024];
    while !response.contains(&b'\n') && response.len() < buffer.len() {
        match stream.read(&mut buffer)? {
            0 => break,
            read => response.extend_from_slice(&buffer[..read]),
        }
    }
    Ok(())
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Accepts the server's certificate whatever it is, checking only the handshake's signatures: the probe talks to
/// its own server on loopback and sends nothing secret.
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_is_probed_on_loopback_and_port_0_is_refused() {
        let probe = |bind: &str| probe_address(bind.parse().expect("address"));
        assert_eq!(probe("0.0.0.0:9000").expect("v4"), "127.0.0.1:9000".parse().expect("address"));
        assert_eq!(probe("[::]:9000").expect("v6"), "[::1]:9000".parse().expect("address"));
        assert_eq!(probe("10.1.2.3:9000").expect("given"), "10.1.2.3:9000".parse().expect("address"));
        assert!(matches!(probe("127.0.0.1:0"), Err(HealthcheckError::PortZero)));
    }

    #[test]
    fn a_closed_port_or_a_non_200_answer_is_unhealthy() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = listener.local_addr().expect("address");
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("a connection");
            let mut request = [0u8; 512];
            let read = stream.read(&mut request).expect("the request");
            assert!(request[..read].starts_with(b"GET /readyz HTTP/1.1\r\n"));
            stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").expect("answer");
        });
        let error = probe(addr, false, Duration::from_secs(5)).expect_err("503");
        assert_eq!(
            error.to_string(),
            format!("GET /readyz on {addr} answered \"HTTP/1.1 503 Service Unavailable\", not 200")
        );
        server.join().expect("server thread");
        // Nothing listens there any more.
        assert!(matches!(probe(addr, false, Duration::from_secs(5)), Err(HealthcheckError::Connect { .. })));
    }
}
