//! The floor of bench/detach: what one event to every stream costs when nginx and the kernel do
//! all the work. A minimal FastCGI responder, in place of php-fpm behind the same nginx
//! configuration, with no PHP, no broker and no framing beyond one prebuilt record:
//!
//!     fastcgi-floor --listen FPM.sock --control CONTROL.sock
//!
//! On FPM.sock, each connection is one request from nginx (no keep-alive). `/stream.php`
//! gets the headers the extension sends and `retry: 2000`, then stays open; every 15 s it gets a
//! heartbeat comment, as the extension's streams do. `/plain.php` gets a one-line page and
//! the end of the request. On CONTROL.sock, each line is a command, answered with one line:
//!   publish T   writes `id: N`, `event: e`, `data: T` to every open stream in one loop of
//!               non-blocking writes, the same record bytes for all; answers how many took it
//!   streams     how many streams are open
//!
//! One thread (a current-thread tokio runtime): there is nothing to share, and the fan-out is a
//! plain loop over the sockets, the least an upstream can do to hand nginx an event.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

const BEGIN_REQUEST: u8 = 1;
const END_REQUEST: u8 = 3;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
const STDOUT: u8 = 6;

const STREAM_HEAD: &[u8] = b"Status: 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
Cache-Control: no-cache, no-store, no-transform\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n";
const PLAIN: &[u8] = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok floor\n";
const NOT_FOUND: &[u8] = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot found\n";
const HEARTBEAT: &[u8] = b":\n\n";

/// One FastCGI record: header (version 1, type, request id, length, no padding) and content.
fn record(kind: u8, id: u16, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + content.len());
    for chunk in content.chunks(65535).chain(content.is_empty().then_some(&[][..])) {
        out.extend_from_slice(&[1, kind, (id >> 8) as u8, id as u8, (chunk.len() >> 8) as u8, chunk.len() as u8, 0, 0]);
        out.extend_from_slice(chunk);
    }
    out
}

fn end_request(id: u16) -> Vec<u8> {
    record(END_REQUEST, id, &[0, 0, 0, 0, 0, 0, 0, 0])
}

/// The request's id and SCRIPT_NAME, read up to the end of its (empty, for a GET) body.
async fn read_request(conn: &mut UnixStream) -> std::io::Result<(u16, Vec<u8>)> {
    let mut params = Vec::new();
    let mut id = 1;
    loop {
        let mut head = [0u8; 8];
        conn.read_exact(&mut head).await?;
        let len = u16::from_be_bytes([head[4], head[5]]) as usize + head[6] as usize;
        let mut content = vec![0u8; len];
        conn.read_exact(&mut content).await?;
        content.truncate(len - head[6] as usize);
        match head[1] {
            BEGIN_REQUEST => id = u16::from_be_bytes([head[2], head[3]]),
            PARAMS => params.extend_from_slice(&content),
            STDIN if content.is_empty() => break,
            _ => {}
        }
    }
    Ok((id, script_name(&params).unwrap_or_default()))
}

/// SCRIPT_NAME from FastCGI name-value pairs (lengths of 1 byte, or 4 with the top bit set).
fn script_name(mut p: &[u8]) -> Option<Vec<u8>> {
    fn length(p: &mut &[u8]) -> Option<usize> {
        let first = *p.first()?;
        if first < 128 {
            *p = &p[1..];
            return Some(first as usize);
        }
        let b = p.get(..4)?;
        let n = u32::from_be_bytes([b[0] & 0x7f, b[1], b[2], b[3]]) as usize;
        *p = &p[4..];
        Some(n)
    }
    while !p.is_empty() {
        let (n, v) = (length(&mut p)?, length(&mut p)?);
        let name = p.get(..n)?;
        let value = p.get(n..n + v)?;
        if name == b"SCRIPT_NAME" {
            return Some(value.to_vec());
        }
        p = &p[n + v..];
    }
    None
}

/// The open streams: request id and socket, by a number of their own.
#[derive(Default)]
struct Streams {
    next: u64,
    open: HashMap<u64, (u16, Rc<UnixStream>)>,
}

type Shared = Rc<RefCell<Streams>>;

/// Writes `content` as one STDOUT record to every open stream; a stream that cannot take all of
/// it at once (an error, or a full socket) is closed. Returns how many took it.
fn write_all(streams: &Shared, content: &[u8]) -> usize {
    let mut by_id: HashMap<u16, Vec<u8>> = HashMap::new();
    let mut s = streams.borrow_mut();
    let mut failed = Vec::new();
    let mut sent = 0;
    for (key, (id, conn)) in s.open.iter() {
        let bytes = by_id.entry(*id).or_insert_with(|| record(STDOUT, *id, content));
        match conn.try_write(bytes) {
            Ok(n) if n == bytes.len() => sent += 1,
            _ => failed.push(*key),
        }
    }
    for key in failed {
        s.open.remove(&key);
    }
    sent
}

async fn serve(mut conn: UnixStream, streams: Shared) -> std::io::Result<()> {
    let (id, script) = read_request(&mut conn).await?;
    if script != b"/stream.php" {
        let body = if script == b"/plain.php" { PLAIN } else { NOT_FOUND };
        let mut out = record(STDOUT, id, body);
        out.extend(record(STDOUT, id, b""));
        out.extend(end_request(id));
        conn.write_all(&out).await?;
        return Ok(());
    }
    conn.write_all(&record(STDOUT, id, STREAM_HEAD)).await?;
    let conn = Rc::new(conn);
    let key = {
        let mut s = streams.borrow_mut();
        s.next += 1;
        let key = s.next;
        s.open.insert(key, (id, conn.clone()));
        key
    };
    // Held until nginx closes it (its client left) or a write to it failed.
    let mut buf = [0u8; 512];
    loop {
        conn.readable().await?;
        match conn.try_read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => break,
        }
        if !streams.borrow().open.contains_key(&key) {
            break;
        }
    }
    streams.borrow_mut().open.remove(&key);
    Ok(())
}

async fn control(conn: UnixStream, streams: Shared) -> std::io::Result<()> {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut seq = 0u64;
    while let Some(line) = lines.next_line().await? {
        let answer = match line.split_once(' ') {
            Some(("publish", t)) => {
                seq += 1;
                let frame = format!("id: {seq}\nevent: e\ndata: {}\n\n", t.trim());
                write_all(&streams, frame.as_bytes())
            }
            _ if line.trim() == "streams" => streams.borrow().open.len(),
            _ => usize::MAX,
        };
        let text = if answer == usize::MAX { "unknown command\n".to_string() } else { format!("{answer}\n") };
        write.write_all(text.as_bytes()).await?;
    }
    Ok(())
}

fn arg(name: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)) {
        Some(v) => v.clone(),
        None => {
            eprintln!("usage: fastcgi-floor --listen FPM.sock --control CONTROL.sock");
            std::process::exit(2)
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let (listen, control_path) = (arg("--listen"), arg("--control"));
    let _ = std::fs::remove_file(&listen);
    let _ = std::fs::remove_file(&control_path);
    let fpm = UnixListener::bind(&listen)?;
    let ctl = UnixListener::bind(&control_path)?;
    let streams: Shared = Rc::default();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let beat = streams.clone();
            tokio::task::spawn_local(async move {
                let mut every = tokio::time::interval(Duration::from_secs(15));
                every.tick().await;
                loop {
                    every.tick().await;
                    write_all(&beat, HEARTBEAT);
                }
            });
            let s = streams.clone();
            tokio::task::spawn_local(async move {
                while let Ok((conn, _)) = ctl.accept().await {
                    tokio::task::spawn_local(control(conn, s.clone()));
                }
            });
            loop {
                let (conn, _) = fpm.accept().await?;
                tokio::task::spawn_local(serve(conn, streams.clone()));
            }
        })
        .await
}
