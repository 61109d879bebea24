//! The one place the tests speak HTTP, through hyper (1.x, already in the
//! dependency tree through the AWS SDK): a server on a free port of
//! 127.0.0.1 that hands each request, body read in full, to an async
//! handler, and a client for one keep-alive connection.
//!
//! The server runs on its own thread with its own current-thread tokio
//! runtime, so it serves plain `#[test]`s and `#[tokio::test]`s alike and
//! keeps serving while a test thread blocks. Dropping it stops it and closes
//! every open connection.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;

/// A request as the server received it, body and trailers read in full.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The path and the query, as sent.
    pub path_and_query: String,
    pub headers: HeaderMap,
    /// The body, de-chunked.
    pub body: Bytes,
    /// Trailer fields of a chunked body.
    pub trailers: HeaderMap,
}

impl Request {
    /// The value of header `name` (any case), if it is there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// A response with `status`, a `Content-Type` and `body`.
    pub fn new(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("a valid content type"),
        );
        Response {
            status,
            headers,
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
            HeaderValue::from_str(value).expect("a valid header value"),
        );
        self
    }

    /// The value of header `name` (any case), if it is there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a handler returns.
pub type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;

/// Answers one request; runs on the server's runtime.
pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// An HTTP/1.1 server (keep-alive, `Content-Length` and chunked bodies,
/// trailers, `Expect: 100-continue`) on a free port of 127.0.0.1.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds a free port and serves every request with `handler`.
    pub fn start(name: &str, handler: Handler) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local_addr");
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the test server");
                runtime.block_on(serve(listener, handler, stop));
                // Dropping the runtime here drops every connection task:
                // open connections close.
            })
            .expect("spawn the test server thread");
        Server {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    handler: Handler,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = Arc::clone(&handler);
                async move {
                    let request = read_request(request).await?;
                    Ok::<_, hyper::Error>(into_hyper(handler(request).await))
                }
            });
            // A connection that breaks is the client's business.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn read_request(request: hyper::Request<Incoming>) -> Result<Request, hyper::Error> {
    let (parts, body) = request.into_parts();
    let collected = body.collect().await?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    Ok(Request {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    })
}

/// Framing is hyper's: the length comes from the body, and hop-by-hop
/// fields are not copied.
fn into_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(response.body));
    *out.status_mut() = response.status;
    *out.headers_mut() = without_framing(response.headers);
    out
}

/// `headers` without the fields that describe one hop's framing
/// (`Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`):
/// whoever sends the message next sets its own.
pub fn without_framing(mut headers: HeaderMap) -> HeaderMap {
    for name in [
        hyper::header::CONTENT_LENGTH,
        hyper::header::TRANSFER_ENCODING,
        hyper::header::CONNECTION,
        HeaderName::from_static("keep-alive"),
    ] {
        headers.remove(name);
    }
    headers
}

/// A body sent as the given frames: data chunks, then trailers if any. With
/// no length known up front, hyper sends it chunked.
pub struct Frames(VecDeque<Frame<Bytes>>);

impl Frames {
    pub fn new(chunks: &[&[u8]], trailers: Option<HeaderMap>) -> Frames {
        let mut frames: VecDeque<Frame<Bytes>> = chunks
            .iter()
            .map(|c| Frame::data(Bytes::copy_from_slice(c)))
            .collect();
        frames.extend(trailers.map(Frame::trailers));
        Frames(frames)
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

/// A request body: whole (`Content-Length`) or in frames (chunked).
pub enum Outgoing {
    Whole(Bytes),
    Chunked(Frames),
}

impl Body for Outgoing {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Outgoing::Whole(bytes) if bytes.is_empty() => Poll::Ready(None),
            Outgoing::Whole(bytes) => Poll::Ready(Some(Ok(Frame::data(std::mem::take(bytes))))),
            Outgoing::Chunked(frames) => Pin::new(frames).poll_frame(cx),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Outgoing::Whole(bytes) => hyper::body::SizeHint::with_exact(bytes.len() as u64),
            Outgoing::Chunked(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// One keep-alive HTTP/1.1 client connection (every request goes over the
/// same TCP connection, in turn).
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Outgoing>,
    authority: String,
}

impl Connection {
    /// Connects to `addr` (`host:port`).
    pub async fn open(addr: &str) -> std::io::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        Ok(Connection {
            sender,
            authority: addr.to_owned(),
        })
    }

    /// Sends one request (with `Host` set to the address connected to,
    /// unless `headers` has one) and reads the whole response.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Outgoing,
    ) -> Result<Response, hyper::Error> {
        let mut request = hyper::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = path.parse().expect("a valid request path");
        *request.headers_mut() = headers;
        if !request.headers().contains_key(hyper::header::HOST) {
            request.headers_mut().insert(
                hyper::header::HOST,
                HeaderValue::from_str(&self.authority).expect("a valid host"),
            );
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await?.to_bytes(),
        })
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Response {
        self.send(
            Method::GET,
            path,
            HeaderMap::new(),
            Outgoing::Whole(Bytes::new()),
        )
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST path` with a `Content-Length` body.
    pub async fn post(&mut self, path: &str, body: &[u8]) -> Response {
        self.send(
            Method::POST,
            path,
            HeaderMap::new(),
            Outgoing::Whole(Bytes::copy_from_slice(body)),
        )
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}

/// Sends `request` (as received by a [`Server`]) to `upstream`
/// (`host:port`) on a new connection, unchanged but for its framing (the
/// client's `Host` included: S3 tells path-style requests by it), and
/// returns the whole response.
///
/// # Errors
/// When `upstream` cannot be reached or answers no HTTP.
pub async fn forward(upstream: &str, request: &Request) -> Result<Response, String> {
    let mut connection = Connection::open(upstream)
        .await
        .map_err(|e| format!("connect {upstream}: {e}"))?;
    let response = connection
        .send(
            request.method.clone(),
            &request.path_and_query,
            without_framing(request.headers.clone()),
            Outgoing::Whole(request.body.clone()),
        )
        .await
        .map_err(|e| format!("{upstream}: {e}"))?;
    Ok(Response {
        headers: without_framing(response.headers),
        ..response
    })
}

/// The status of `GET path` on `addr` (`host:port`), or `None` when nothing
/// answers HTTP there. Blocking; callable from inside a tokio runtime too
/// (it runs its own, on a thread of its own).
pub fn get_status(addr: &str, path: &str) -> Option<u16> {
    let (addr, path) = (addr.to_owned(), path.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let probe = async {
                let mut connection = Connection::open(&addr).await.ok()?;
                let response = connection
                    .send(
                        Method::GET,
                        &path,
                        HeaderMap::new(),
                        Outgoing::Whole(Bytes::new()),
                    )
                    .await
                    .ok()?;
                Some(response.status.as_u16())
            };
            tokio::time::timeout(std::time::Duration::from_secs(5), probe)
                .await
                .ok()
                .flatten()
        })
    })
    .join()
    .ok()
    .flatten()
}
