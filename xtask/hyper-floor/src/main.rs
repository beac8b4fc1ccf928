//! `valv-hyper-floor LISTEN_PORT UPSTREAM_PORT`: the least a Rust proxy built on hyper can
//! do, for `cargo xtask bench` to count beside nginx and the broker. Each accepted
//! connection gets one kept-alive connection to the upstream (`TCP_NODELAY` on both); every
//! request goes there as it came, with a fixed `Authorization`, and the answer comes back as
//! it came, streamed. No sessions, policy, logging or metrics: what the broker spends above
//! this figure is its own work, what it spends up to it is hyper's and tokio's.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn port(arg: Option<String>, what: &str) -> Result<u16, Error> {
    let text = arg.ok_or_else(|| format!("usage: valv-hyper-floor LISTEN_PORT UPSTREAM_PORT (missing {what})"))?;
    text.parse().map_err(|_| format!("{what} must be a port number, not {text:?}").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let listen = port(args.next(), "LISTEN_PORT")?;
    let upstream = SocketAddr::from(([127, 0, 0, 1], port(args.next(), "UPSTREAM_PORT")?));
    let listener = TcpListener::bind(("127.0.0.1", listen)).await?;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: this connection is lost, not the floor.
            Err(e) => {
                eprintln!("valv-hyper-floor: accepting a connection failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            if let Err(e) = serve(stream, upstream).await {
                eprintln!("valv-hyper-floor: connection ended: {e}");
            }
        });
    }
}

async fn serve(stream: TcpStream, upstream: SocketAddr) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let bank = TcpStream::connect(upstream).await?;
    bank.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(bank)).await?;
    tokio::spawn(conn);
    let sender = Arc::new(Mutex::new(sender));
    let service = hyper::service::service_fn(move |req| forward(Arc::clone(&sender), req));
    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await?;
    Ok(())
}

async fn forward(sender: Arc<Mutex<SendRequest<Incoming>>>, mut req: Request<Incoming>) -> Result<Response<Incoming>, Error> {
    req.headers_mut().insert(AUTHORIZATION, HeaderValue::from_static("Bearer bench-fixed-token"));
    let mut sender = sender.lock().await;
    sender.ready().await?;
    Ok(sender.send_request(req).await?)
}
