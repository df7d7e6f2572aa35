//! A `redis-server` of a test's own on a free loopback port, stopped when dropped. Without
//! `/usr/bin/redis-server` the tests that want one say so and pass.

use super::peer::PATIENCE;
use sse_server::broker::redis::RedisEngine;
use sse_server::broker::Engine;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BINARY: &str = "/usr/bin/redis-server";

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// None (and a note naming `what` is skipped) when there is no Redis to test against.
    /// Small stream nodes: approximate trimming (`MAXLEN ~`) then trims close to the limit.
    pub fn start(what: &str) -> Option<Server> {
        if !std::path::Path::new(BINARY).exists() {
            eprintln!("note: {BINARY} is absent: {what} skipped");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(BINARY)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--stream-node-max-entries", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = Server { child, port };
        let give_up = Instant::now() + PATIENCE;
        while server.command("PING") != "+PONG\r\n" {
            assert!(Instant::now() < give_up, "redis-server did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// An engine on this server (another one stands for another process or machine).
    pub fn engine(&self) -> Arc<dyn Engine> {
        Arc::new(RedisEngine::open(&self.url(), None).unwrap())
    }

    /// An engine that reads Redis through the relay under `root` (engines with the same root
    /// stand for the processes of one machine).
    pub fn relayed_engine(&self, root: &std::path::Path) -> Arc<dyn Engine> {
        Arc::new(RedisEngine::open(&self.url(), Some(root)).unwrap())
    }

    /// One inline command; the first line of the reply, or "" when Redis is not there.
    pub fn command(&self, command: &str) -> String {
        let Ok(mut connection) = TcpStream::connect(("127.0.0.1", self.port)) else { return String::new() };
        connection.set_read_timeout(Some(PATIENCE)).unwrap();
        if connection.write_all(format!("{command}\r\n").as_bytes()).is_err() {
            return String::new();
        }
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            match connection.read(&mut byte) {
                Ok(1) => reply.push(byte[0]),
                _ => return String::new(),
            }
        }
        String::from_utf8_lossy(&reply).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
