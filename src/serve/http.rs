//! HTTP/1.1 on loopback (hyper): each connection a local task on the server's one thread, so
//! a long poll waiting in one never holds up another. `POST` with `X-Amz-Target` is an API
//! call; a `GET` answers that the server is up (for scripts waiting on it).
//!
//! Stopping: the accept loop ends, each connection finishes the request it is answering and
//! closes, and one still waiting after [`GRACE`] (a long poll) is dropped.

use std::rc::Rc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::service::{CONTENT_TYPE, Service};

/// The largest request body read: above any API request (a batch of 1 MiB of messages, JSON
/// escaped), so a runaway client cannot exhaust the server's memory.
const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// How long a connection may take to finish once the server stops.
const GRACE: Duration = Duration::from_secs(1);

/// Serves until `stop` turns true, then waits for the connections to close (at most
/// [`GRACE`] each).
pub(super) async fn serve(
    listener: TcpListener,
    service: Rc<Service>,
    stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            biased;
            _ = stopping.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => {
                // A failed accept (the peer gave up, too many files) concerns that peer only.
                if let Ok((stream, _)) = accepted {
                    connections.spawn_local(connection(stream, Rc::clone(&service), stop.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn connection(stream: TcpStream, service: Rc<Service>, mut stop: watch::Receiver<bool>) {
    // Answers are small and often awaited one by one: no Nagle delay.
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(stream);
    let handler = service_fn(move |request| {
        let service = Rc::clone(&service);
        async move { respond(&service, request).await }
    });
    let connection = http1::Builder::new().serve_connection(io, handler);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stop.wait_for(|stop| *stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, connection).await;
        }
    }
}

/// An injected timeout: hyper closes a connection whose service answers with an error, without
/// writing a response.
#[derive(Debug, thiserror::Error)]
#[error("the answer was lost (an injected timeout)")]
struct AnswerLost;

async fn respond(
    service: &Service,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, AnswerLost> {
    if request.method() == Method::GET {
        return Ok(plain(
            200,
            "qsim serve: the AWS JSON protocols of SQS and DynamoDB\n",
        ));
    }
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let caller = caller_of(request.headers());
    // A declared length is refused before reading; an undeclared one (chunked) as it grows.
    let declared = hyper::body::Body::size_hint(request.body()).lower();
    if declared > MAX_REQUEST_BYTES as u64 {
        return Ok(plain(
            413,
            "the request body is larger than any API request\n",
        ));
    }
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(plain(
                413,
                "the request body could not be read, or is larger than any API request\n",
            ));
        }
    };
    let answer = service
        .answer(target.as_deref(), caller.as_deref(), &body)
        .await;
    if answer.lost {
        return Err(AnswerLost);
    }
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", CONTENT_TYPE)
        .header("x-amzn-requestid", request_id());
    if let Some(query_error) = answer.query_error {
        response = response.header("x-amzn-query-error", query_error);
    }
    Ok(response
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap_or_else(|_| plain(500, "the answer could not be built\n")))
}

/// The caller's name, when it signs with an access key id `qsim.NAME`: SigV4 puts the key id
/// first in the `Credential=` of the `Authorization` header. No other part of it is read.
fn caller_of(headers: &hyper::HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let credential = authorization.split_once("Credential=")?.1;
    let key_id = credential.split(['/', ',', ' ']).next()?;
    let name = key_id.strip_prefix(crate::backend::CALLER_KEY_PREFIX)?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn plain(status: u16, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// A request id for the `x-amzn-requestid` header: unique per server, which is all a client
/// uses it for (logs).
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("qsim-{:016x}", NEXT.fetch_add(1, Ordering::Relaxed))
}
