//! Bare hyper 1.x: every request gets the same Token JSON bytes (`--body FILE`), keep-alive, HTTP/1.1.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = tokenstack_bench::arg("--body").ok_or_else(|| anyhow::anyhow!("--body FILE is required"))?;
    let body = Bytes::from(std::fs::read(path)?);
    let listener = tokio::net::TcpListener::bind(tokenstack_bench::bind()?).await?;
    tokenstack_bench::ready(&serde_json::json!({ "addr": listener.local_addr()?.to_string() }));
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move {
                    let mut response = Response::new(Full::new(body));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(response)
                }
            });
            // A client that goes away mid-request is not an error worth reporting here.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
