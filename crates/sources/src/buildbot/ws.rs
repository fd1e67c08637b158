//! Buildbot's `/ws` event stream (spec §g.2): JSON text frames,
//! `{"cmd": "startConsuming", "path": "builds/*/*", "_id": n}` →
//! `{"msg": "OK", "code": 200, "_id": n}`, then events
//! `{"k": "builds/1/finished", "m": {...}}`. `{"cmd": "ping"}` → `pong`.

use futures_util::{SinkExt, StreamExt};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// A websocket problem: the connection is dropped and made again.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    #[error("websocket {url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    #[error("websocket: {0}")]
    Io(String),
    #[error("websocket: the master closed the connection")]
    Closed,
    #[error("websocket: startConsuming {path:?} refused: {reply}")]
    Refused { path: String, reply: String },
    #[error("websocket: no frame for {0}s (connection presumed dead)")]
    Silent(u64),
}

/// One frame from the master.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// An mq event: `k` is the routing key (`builds/1/new`), `m` the message.
    Event { key: String, msg: Value },
    /// A reply to one of our commands.
    Reply { id: u64, code: i64, text: String },
}

/// A connected, not yet subscribed, websocket.
pub struct WsConn {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pending: VecDeque<Frame>,
    failed: Option<WsError>,
}

/// Connects to `url` (`ws://` or `wss://`), sending `headers` (cookie,
/// authorization) with the upgrade request.
pub async fn connect(url: &url::Url, headers: HeaderMap, timeout: Duration) -> Result<WsConn, WsError> {
    let err = |reason: String| WsError::Connect { url: url.to_string(), reason };
    let mut req = url.as_str().into_client_request().map_err(|e| err(e.to_string()))?;
    for (k, v) in headers.iter() {
        req.headers_mut().insert(k.clone(), v.clone());
    }
    let connector = if url.scheme() == "wss" {
        wasmpush_model::install_crypto_provider();
        use rustls_platform_verifier::ConfigVerifierExt as _;
        let cfg = rustls::ClientConfig::with_platform_verifier().map_err(|e| err(format!("TLS setup: {e}")))?;
        Some(Connector::Rustls(Arc::new(cfg)))
    } else {
        Some(Connector::Plain)
    };
    let fut = tokio_tungstenite::connect_async_tls_with_config(req, None, true, connector);
    let (stream, _resp) = tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| err(format!("no answer within {}s", timeout.as_secs())))?
        .map_err(|e| err(e.to_string()))?;
    Ok(WsConn { stream, next_id: 1, pending: VecDeque::new(), failed: None })
}

impl WsConn {
    async fn send_cmd(&mut self, mut cmd: Value) -> Result<u64, WsError> {
        let id = self.next_id;
        self.next_id += 1;
        cmd["_id"] = json!(id);
        self.stream.send(Message::text(cmd.to_string())).await.map_err(|e| WsError::Io(e.to_string()))?;
        Ok(id)
    }

    /// Subscribes to each mq path (e.g. `builds/*/*`) and waits for every
    /// acknowledgement. Events that arrive meanwhile are kept, in order,
    /// for [`next_frame`](Self::next_frame).
    pub async fn subscribe(&mut self, paths: &[&str], timeout: Duration) -> Result<(), WsError> {
        let mut waiting = Vec::new();
        for p in paths {
            let id = self.send_cmd(json!({"cmd": "startConsuming", "path": p})).await?;
            waiting.push((id, p.to_string()));
        }
        while !waiting.is_empty() {
            let frame =
                tokio::time::timeout(timeout, self.read()).await.map_err(|_| WsError::Silent(timeout.as_secs()))??;
            match frame {
                Frame::Reply { id, code, text } => {
                    if let Some(i) = waiting.iter().position(|(w, _)| *w == id) {
                        let (_, path) = waiting.remove(i);
                        if code != 200 {
                            return Err(WsError::Refused { path, reply: format!("{code} {text}") });
                        }
                    }
                }
                ev @ Frame::Event { .. } => self.pending.push_back(ev),
            }
        }
        Ok(())
    }

    /// Asks the master for a `pong` (keeps idle connections honest).
    pub async fn ping(&mut self) -> Result<(), WsError> {
        self.send_cmd(json!({"cmd": "ping"})).await.map(|_| ())
    }

    /// The next frame (buffered ones first).
    pub async fn next_frame(&mut self) -> Result<Frame, WsError> {
        if let Some(f) = self.pending.pop_front() {
            return Ok(f);
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.read().await
    }

    /// Reads ahead, keeping every frame for [`next_frame`](Self::next_frame),
    /// until a frame matching `stop` is buffered or `max_wait` passes.
    /// Returns the buffered frames before the `stop` frame (all of them if
    /// it did not come). A read error ends the look-ahead; it is returned by
    /// `next_frame` once the buffered frames are consumed.
    pub async fn lookahead(&mut self, stop: impl Fn(&Frame) -> bool, max_wait: Duration) -> Vec<Frame> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            if let Some(i) = self.pending.iter().position(&stop) {
                return self.pending.iter().take(i).cloned().collect();
            }
            if self.failed.is_some() {
                break;
            }
            match tokio::time::timeout_at(deadline, self.read()).await {
                Err(_) => break,
                Ok(Ok(f)) => self.pending.push_back(f),
                Ok(Err(e)) => self.failed = Some(e),
            }
        }
        self.pending.iter().cloned().collect()
    }

    /// Closes the connection politely (best effort).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.stream.close(None)).await;
    }

    async fn read(&mut self) -> Result<Frame, WsError> {
        loop {
            let msg = match self.stream.next().await {
                None => return Err(WsError::Closed),
                Some(Err(e)) => return Err(WsError::Io(e.to_string())),
                Some(Ok(m)) => m,
            };
            let text = match msg {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                Message::Close(_) => return Err(WsError::Closed),
                _ => continue, // ping/pong handled by tungstenite
            };
            match parse_frame(&text) {
                Some(f) => return Ok(f),
                None => {
                    tracing::warn!(frame = %text.chars().take(200).collect::<String>(), "buildbot: ignoring an unexpected websocket frame")
                }
            }
        }
    }
}

/// Parses one text frame; `None` for anything that is neither an event nor
/// a reply.
pub fn parse_frame(text: &str) -> Option<Frame> {
    let v: Value = serde_json::from_str(text).ok()?;
    if let (Some(k), Some(m)) = (v.get("k").and_then(Value::as_str), v.get("m")) {
        return Some(Frame::Event { key: k.to_string(), msg: m.clone() });
    }
    let id = v.get("_id")?.as_u64()?;
    let code = v.get("code").and_then(Value::as_i64).unwrap_or(0);
    let text = v
        .get("msg")
        .or_else(|| v.get("error"))
        .map(|m| m.as_str().map(String::from).unwrap_or_else(|| m.to_string()))
        .unwrap_or_default();
    Some(Frame::Reply { id, code, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_and_replies() {
        assert_eq!(
            parse_frame(r#"{"k":"builds/1/new","m":{"buildid":1}}"#),
            Some(Frame::Event { key: "builds/1/new".into(), msg: json!({"buildid": 1}) })
        );
        assert_eq!(
            parse_frame(r#"{"msg":"OK","code":200,"_id":3}"#),
            Some(Frame::Reply { id: 3, code: 200, text: "OK".into() })
        );
        assert_eq!(
            parse_frame(r#"{"error":"no such path","code":400,"_id":4}"#),
            Some(Frame::Reply { id: 4, code: 400, text: "no such path".into() })
        );
        assert_eq!(parse_frame("garbage"), None);
        assert_eq!(parse_frame("[1]"), None);
    }
}
