//! A small HTTP/1 client for the HTTP stream tests: Server-Sent Events parsed line by line
//! (`event:`, `id:`, `data:`, comments), NDJSON lines, and plain GETs. Built on hyper, which
//! the AWS SDK already brings in.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

/// One SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent).
    pub event: String,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// What an SSE stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseFrame {
    /// An event.
    Event(SseEvent),
    /// A comment line (`: text`), without the colon and the space.
    Comment(String),
}

/// An open streaming response.
#[derive(Debug)]
pub struct Stream {
    status: u16,
    headers: HeaderMap,
    body: Incoming,
    buffer: Vec<u8>,
    /// How much of `buffer` was read.
    read: usize,
    frames: VecDeque<SseFrame>,
    current: Option<SseEvent>,
    /// Comments seen by [`Stream::next_event`], in order.
    pub comments: Vec<String>,
    connection: JoinHandle<()>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Closes the connection, as a client going away does.
        self.connection.abort();
    }
}

/// Sends `GET path` with `headers` to `addr` and returns the response once its head arrived.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Stream> {
    get_with(addr, path, headers, None).await
}

/// Like [`get`], with the socket's receive buffer set to `recv_buffer` bytes (a client that
/// stops reading then holds the server back after a few kilobytes, not megabytes).
pub async fn get_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    recv_buffer: Option<u32>,
) -> std::io::Result<Stream> {
    let io_error = |e: hyper::Error| std::io::Error::other(e.to_string());
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let tcp = socket.connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(io_error)?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = hyper::Request::get(path).header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(io_error)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Ok(Stream {
        status,
        headers,
        body: response.into_body(),
        buffer: Vec::new(),
        read: 0,
        frames: VecDeque::new(),
        current: None,
        comments: Vec::new(),
        connection,
    })
}

/// `GET path`: the status and the whole body as text.
pub async fn get_text(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let stream = get(addr, path, &[]).await?;
    let status = stream.status;
    Ok((status, stream.text().await?))
}

impl Stream {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The rest of the body as text (for finite answers).
    pub async fn text(mut self) -> std::io::Result<String> {
        let mut bytes = self.buffer.split_off(self.read);
        while let Some(chunk) = self.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The next chunk of the body; `None` at its end.
    async fn chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(std::io::Error::other(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The next complete line (without `\n`); `None` at the end of the body.
    pub async fn next_line(&mut self) -> Option<String> {
        loop {
            let unread = &self.buffer[self.read..];
            if let Some(end) = unread.iter().position(|b| *b == b'\n') {
                let mut line = &unread[..end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                let line = String::from_utf8_lossy(line).into_owned();
                self.read += end + 1;
                return Some(line);
            }
            match self.chunk().await {
                Ok(Some(chunk)) => {
                    self.buffer.drain(..self.read);
                    self.read = 0;
                    self.buffer.extend_from_slice(&chunk);
                }
                _ => return None,
            }
        }
    }

    /// The next SSE frame; `None` at the end of the body.
    pub async fn next_frame(&mut self) -> Option<SseFrame> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Some(frame);
            }
            let line = self.next_line().await?;
            if line.is_empty() {
                if let Some(mut event) = self.current.take() {
                    if event.event.is_empty() {
                        event.event = "message".to_owned();
                    }
                    self.frames.push_back(SseFrame::Event(event));
                }
                continue;
            }
            if let Some(comment) = line.strip_prefix(':') {
                let comment = comment.strip_prefix(' ').unwrap_or(comment);
                self.frames.push_back(SseFrame::Comment(comment.to_owned()));
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_str(), ""),
            };
            let event = self.current.get_or_insert_with(SseEvent::default);
            match field {
                "event" => event.event = value.to_owned(),
                "id" => event.id = Some(value.to_owned()),
                "data" => {
                    if !event.data.is_empty() {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                }
                _ => {}
            }
        }
    }

    /// The next event within `timeout` (comments are kept in [`comments`](Self::comments));
    /// `None` at the end of the body or when the time is up.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.next_frame()).await {
                Ok(Some(SseFrame::Event(event))) => return Some(event),
                Ok(Some(SseFrame::Comment(comment))) => self.comments.push(comment),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}
