//! The benchmarks' event-stream client (bench/detach, bench/broadcast): opens N HTTP/1.1 event
//! streams to one address, reads them all on one thread, and reports on standard output (one
//! JSON object per line). Native, so that reading thousands of sockets costs the machine little
//! beside the servers it times.
//!
//!     bench-client --addr 127.0.0.1:PORT --path /stream.php --streams N [--ramp 200] [--settle MS]
//!
//! Every stream is a GET with `Accept: text/event-stream`; the body is de-chunked when the
//! response is chunked and parsed as an event stream. The read that completed an event is
//! stamped with the kernel's receive time of its bytes (`SO_TIMESTAMPNS`, CLOCK_REALTIME), so
//! how late the client itself gets round to a socket is not in the figures. Two kinds of data
//! are timed:
//! - an integer (optionally in double quotes, as a JSON serializer writes it): its publish time
//!   in CLOCK_REALTIME nanoseconds, taken just before the publish call (bench/detach);
//! - `PREFIX SEQ MICROS` (bench/broadcast): a tag, the event's sequence number and its publish
//!   time in CLOCK_REALTIME microseconds; kept per stream, in arrival order.
//! Comment-only frames count as heartbeats.
//!
//! Once every connection attempt has ended (headers received or failed) it prints
//! `{"ready": ...}`. Then it answers commands read from standard input, one per line:
//!   stats               counters and, per publish time seen, how many streams got it and when
//!   seen PREFIX [SEQ]   how many streams got an event tagged PREFIX (with that SEQ)
//!   tagged PREFIX       per stream, [SEQ, kernel time - publish time, client read time -
//!                       kernel time] (ns) of each event tagged PREFIX, in arrival order
//!   plain PATH COUNT    COUNT sequential GETs of PATH (new connection each, 5 s timeout), times
//!   quit                exits (every socket is closed by the exit)

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[derive(Default)]
struct Shared {
    attempts_done: usize,
    open: usize,
    opened_total: usize,
    closed_after_open: usize,
    failed: usize,
    failures: BTreeMap<String, usize>,
    heartbeats: u64,
    events: u64,
    other_events: u64,
    bytes: u64,
    /// publish time -> receive times, one per stream that got it
    received: BTreeMap<u64, Vec<u64>>,
    /// per stream: the tagged events it got, in arrival order
    tagged: Vec<Vec<Tagged>>,
}

struct Tagged {
    prefix: String,
    seq: u64,
    sent_us: u64,
    kernel_ns: u64,
    read_ns: u64,
}

type State = Rc<RefCell<Shared>>;

/// De-chunks an HTTP/1.1 chunked body, fed in pieces.
enum Chunk {
    Size(Vec<u8>),
    Data(usize),
    Crlf(usize),
    Done,
}

struct Parser {
    stream: usize,
    chunked: bool,
    chunk: Chunk,
    line: Vec<u8>,
    data: Option<Vec<u8>>,
    comment: bool,
}

impl Parser {
    fn new(stream: usize, chunked: bool) -> Self {
        Parser { stream, chunked, chunk: Chunk::Size(Vec::new()), line: Vec::new(), data: None, comment: false }
    }

    /// Feeds raw body bytes received at `t`; returns false once the chunked body has ended.
    fn feed(&mut self, mut buf: &[u8], t: u64, st: &mut Shared) -> bool {
        if !self.chunked {
            self.sse(buf, t, st);
            return true;
        }
        while !buf.is_empty() {
            match &mut self.chunk {
                Chunk::Size(acc) => {
                    let nl = buf.iter().position(|&b| b == b'\n');
                    let take = nl.map_or(buf.len(), |i| i + 1);
                    acc.extend_from_slice(&buf[..take]);
                    buf = &buf[take..];
                    if nl.is_some() {
                        let text = String::from_utf8_lossy(acc);
                        let hex = text.trim().split(';').next().unwrap_or("").to_string();
                        if hex.is_empty() {
                            acc.clear(); // the CRLF after a chunk's data, if it arrived split
                            continue;
                        }
                        let size = usize::from_str_radix(&hex, 16).unwrap_or(0);
                        self.chunk = if size == 0 { Chunk::Done } else { Chunk::Data(size) };
                    }
                }
                Chunk::Data(left) => {
                    let take = (*left).min(buf.len());
                    let (piece, rest) = buf.split_at(take);
                    *left -= take;
                    let finished = *left == 0;
                    self.sse(piece, t, st);
                    buf = rest;
                    if finished {
                        self.chunk = Chunk::Crlf(2);
                    }
                }
                Chunk::Crlf(left) => {
                    let take = (*left).min(buf.len());
                    *left -= take;
                    buf = &buf[take..];
                    if *left == 0 {
                        self.chunk = Chunk::Size(Vec::new());
                    }
                }
                Chunk::Done => return false,
            }
        }
        !matches!(self.chunk, Chunk::Done)
    }

    fn sse(&mut self, buf: &[u8], t: u64, st: &mut Shared) {
        for &b in buf {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            if self.line.is_empty() {
                self.dispatch(t, st);
            } else if self.line[0] == b':' {
                self.comment = true;
            } else if let Some(rest) = self.line.strip_prefix(b"data:") {
                let rest = rest.strip_prefix(b" ").unwrap_or(rest);
                let d = self.data.get_or_insert_with(Vec::new);
                if !d.is_empty() {
                    d.push(b'\n');
                }
                d.extend_from_slice(rest);
            }
            self.line.clear();
        }
    }

    fn dispatch(&mut self, t: u64, st: &mut Shared) {
        match self.data.take() {
            Some(d) => {
                let s = String::from_utf8_lossy(&d);
                if let [prefix, seq, sent_us] = s.split(' ').collect::<Vec<_>>()[..] {
                    if let (Ok(seq), Ok(sent_us)) = (seq.parse(), sent_us.parse()) {
                        let tag = Tagged { prefix: prefix.to_string(), seq, sent_us, kernel_ns: t, read_ns: now_ns() };
                        st.tagged[self.stream].push(tag);
                        self.comment = false;
                        return;
                    }
                }
                match s.trim().trim_matches('"').parse::<u64>() {
                    Ok(sent) => {
                        st.events += 1;
                        st.received.entry(sent).or_default().push(t);
                    }
                    Err(_) => st.other_events += 1,
                }
            }
            None if self.comment => st.heartbeats += 1,
            None => {}
        }
        self.comment = false;
    }
}

fn fail(st: &State, why: &str) {
    let mut s = st.borrow_mut();
    s.failed += 1;
    s.attempts_done += 1;
    *s.failures.entry(why.to_string()).or_default() += 1;
}

async fn stream(index: usize, addr: SocketAddr, path: Rc<String>, st: State, ramp: Arc<Semaphore>) {
    let permit = ramp.acquire_owned().await.expect("semaphore");
    let mut sock = match tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return fail(&st, &format!("connect: {}", e.kind())),
        Err(_) => return fail(&st, "connect: timeout"),
    };
    let _ = sock.set_nodelay(true);
    if let Err(e) = receive_times(&sock) {
        return fail(&st, &format!("SO_TIMESTAMPNS: {}", e.kind()));
    }
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    );
    if sock.write_all(req.as_bytes()).await.is_err() {
        return fail(&st, "write");
    }
    let mut buf = vec![0u8; 4096];
    let mut head = Vec::new();
    let body_start;
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(60), sock.read(&mut buf)).await {
            Ok(Ok(0)) => return fail(&st, "closed before headers"),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return fail(&st, &format!("read: {}", e.kind())),
            Err(_) => return fail(&st, "headers: timeout"),
        };
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            body_start = i + 4;
            break;
        }
        if head.len() > 65536 {
            return fail(&st, "headers too long");
        }
    }
    let t = now_ns();
    let text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
    let status = text.split_whitespace().nth(1).unwrap_or("").to_string();
    if status != "200" {
        return fail(&st, &format!("status {status}"));
    }
    let chunked = text.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let mut parser = Parser::new(index, chunked);
    {
        let mut s = st.borrow_mut();
        s.open += 1;
        s.opened_total += 1;
        s.attempts_done += 1;
        s.bytes += head.len() as u64;
        let rest = head[body_start..].to_vec();
        parser.feed(&rest, t, &mut s);
    }
    drop(permit);
    drop(head);
    buf.truncate(2048);
    buf.shrink_to_fit();
    loop {
        let (n, t) = match read_stamped(&sock, &mut buf).await {
            Ok((0, _)) | Err(_) => break,
            Ok(read) => read,
        };
        let mut s = st.borrow_mut();
        s.bytes += n as u64;
        if !parser.feed(&buf[..n], t, &mut s) {
            break;
        }
    }
    let mut s = st.borrow_mut();
    s.open -= 1;
    s.closed_after_open += 1;
}

/// `--settle MS`: how long the client sleeps when bytes arrive after a quiet moment, before it
/// reads anything (0: it reads at once).
static SETTLE_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// When the client last read (ns): what tells a new burst from the rest of one.
    static LAST_READ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// With `--settle`, the first bytes of a burst (an event on its way to every stream) put the
/// client to sleep outside epoll for the settle time, then it reads everything that arrived.
/// While it sleeps, arrivals wake nothing: the servers fan the event out without the client
/// taking a CPU or an interrupt from them. Receive times are the kernel's, so they do not move.
fn settle() {
    let settle = SETTLE_NS.load(std::sync::atomic::Ordering::Relaxed);
    let now = now_ns();
    if settle > 0 && now > LAST_READ.with(|t| t.get()) + 2_000_000 {
        std::thread::sleep(Duration::from_nanos(settle));
    }
    LAST_READ.with(|t| t.set(now_ns()));
}

/// Asks the kernel to stamp received bytes with their arrival time (CLOCK_REALTIME).
fn receive_times(sock: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a pointer to an int that outlives the call.
    let rc = unsafe {
        libc::setsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, (&on as *const libc::c_int).cast(),
                         std::mem::size_of::<libc::c_int>() as libc::socklen_t)
    };
    if rc < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// One read, with the kernel's receive time of the newest bytes it returned (ns, CLOCK_REALTIME);
/// the client's own clock when the kernel gave none.
async fn read_stamped(sock: &TcpStream, buf: &mut [u8]) -> std::io::Result<(usize, u64)> {
    use std::os::fd::AsRawFd;
    loop {
        sock.readable().await?;
        settle();
        let got = sock.try_io(tokio::io::Interest::READABLE, || {
            let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            let mut control = [0u64; 8]; // room for one cmsg holding a timespec, aligned
            // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the call.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
            // SAFETY: recvmsg into the buffers described by `msg`.
            let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut stamp = None;
            // SAFETY: walking the control messages the kernel wrote into `control`.
            unsafe {
                let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS {
                        let ts = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::timespec);
                        stamp = Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
                    }
                    cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
                }
            }
            Ok((n as usize, stamp.unwrap_or_else(now_ns)))
        });
        match got {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let k = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[k]
}

fn stats_json(st: &Shared) -> String {
    let mut ev = Vec::new();
    for (sent, recv) in &st.received {
        let mut lat: Vec<u64> = recv.iter().map(|r| r.saturating_sub(*sent)).collect();
        lat.sort_unstable();
        ev.push(format!(
            "{{\"sent\":{sent},\"streams\":{},\"min_us\":{},\"p50_us\":{},\"p99_us\":{},\"max_us\":{}}}",
            lat.len(),
            lat[0] / 1000,
            pct(&lat, 50.0) / 1000,
            pct(&lat, 99.0) / 1000,
            lat[lat.len() - 1] / 1000
        ));
    }
    let failures: Vec<String> = st.failures.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!(
        "{{\"open\":{},\"opened_total\":{},\"closed_after_open\":{},\"failed\":{},\"failures\":{{{}}},\"heartbeats\":{},\"events\":{},\"other_events\":{},\"bytes\":{},\"published\":[{}]}}",
        st.open,
        st.opened_total,
        st.closed_after_open,
        st.failed,
        failures.join(","),
        st.heartbeats,
        st.events,
        st.other_events,
        st.bytes,
        ev.join(",")
    )
}

fn tagged_json(st: &Shared, prefix: &str) -> String {
    let streams: Vec<String> = st.tagged.iter().map(|got| {
        let events: Vec<String> = got.iter().filter(|t| t.prefix == prefix).map(|t| {
            let latency = t.kernel_ns as i64 - (t.sent_us * 1000) as i64;
            format!("[{},{},{}]", t.seq, latency, t.read_ns as i64 - t.kernel_ns as i64)
        }).collect();
        format!("[{}]", events.join(","))
    }).collect();
    format!("{{\"streams\":[{}]}}", streams.join(","))
}

/// One plain GET on a new connection: the time from connect to the end of the response.
async fn plain_once(addr: SocketAddr, path: &str) -> Result<u64, String> {
    let t0 = now_ns();
    let mut sock = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = sock.set_nodelay(true);
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    sock.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    sock.read_to_end(&mut body).await.map_err(|e| e.to_string())?;
    if !body.starts_with(b"HTTP/1.1 200") && !body.starts_with(b"HTTP/1.0 200") {
        return Err(format!("not 200: {:?}", String::from_utf8_lossy(&body[..body.len().min(40)])));
    }
    Ok(now_ns() - t0)
}

async fn plain(addr: SocketAddr, path: &str, count: usize) -> String {
    let mut times = Vec::new();
    let mut timeouts = 0;
    let mut errors = 0;
    for _ in 0..count {
        match tokio::time::timeout(Duration::from_secs(5), plain_once(addr, path)).await {
            Ok(Ok(ns)) => times.push(ns),
            Ok(Err(_)) => errors += 1,
            Err(_) => timeouts += 1,
        }
        if timeouts >= 3 {
            break; // nothing answers: no point waiting 5 s more times
        }
    }
    times.sort_unstable();
    format!(
        "{{\"plain\":{{\"ok\":{},\"timeouts\":{timeouts},\"errors\":{errors},\"p50_us\":{},\"p99_us\":{},\"max_us\":{}}}}}",
        times.len(),
        pct(&times, 50.0) / 1000,
        pct(&times, 99.0) / 1000,
        times.last().copied().unwrap_or(0) / 1000
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let addr: SocketAddr = get("--addr").expect("--addr HOST:PORT").parse().expect("--addr");
    let path = Rc::new(get("--path").unwrap_or_else(|| "/".into()));
    let streams: usize = get("--streams").map_or(1, |s| s.parse().expect("--streams"));
    let ramp: usize = get("--ramp").map_or(200, |s| s.parse().expect("--ramp"));
    let settle_ms: u64 = get("--settle").map_or(0, |s| s.parse().expect("--settle"));
    SETTLE_NS.store(settle_ms * 1_000_000, std::sync::atomic::Ordering::Relaxed);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let st: State = Rc::new(RefCell::new(Shared::default()));
        st.borrow_mut().tagged.resize_with(streams, Vec::new);
        let sem = Arc::new(Semaphore::new(ramp));
        let t0 = now_ns();
        for index in 0..streams {
            tokio::task::spawn_local(stream(index, addr, path.clone(), st.clone(), sem.clone()));
        }
        while st.borrow().attempts_done < streams {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        {
            let s = st.borrow();
            println!(
                "{{\"ready\":true,\"open\":{},\"failed\":{},\"seconds\":{:.3}}}",
                s.open,
                s.failed,
                (now_ns() - t0) as f64 / 1e9
            );
        }
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["stats"] => println!("{}", stats_json(&st.borrow())),
                ["seen", prefix, rest @ ..] => {
                    let seq: Option<u64> = rest.first().and_then(|s| s.parse().ok());
                    let seen = st.borrow().tagged.iter()
                        .filter(|got| got.iter().any(|t| t.prefix == *prefix && seq.is_none_or(|s| t.seq == s)))
                        .count();
                    println!("{{\"seen\":{seen}}}");
                }
                ["tagged", prefix] => println!("{}", tagged_json(&st.borrow(), prefix)),
                ["plain", p, n] => println!("{}", plain(addr, p, n.parse().unwrap_or(100)).await),
                ["quit"] => break,
                [] => {}
                _ => println!("{{\"error\":\"unknown command\"}}"),
            }
        }
    });
    std::process::exit(0);
}
