//! A throw-away `redis-server` on a free loopback port, and a tiny RESP client to read
//! everything it holds (for scanning the store's raw contents).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

use crate::process::{free_port, tool, Process, START_TIMEOUT};

/// A running `redis-server` (no automatic persistence); stopped on drop.
#[derive(Debug)]
pub struct RedisServer {
    /// The process.
    pub process: Process,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server --port N --save '' --appendonly no` (from `VALV_REDIS_SERVER` or
    /// `PATH`) and waits until it answers `PING`.
    pub fn start() -> Result<RedisServer> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let process = Self::spawn(port, dir.path())?;
        let server = RedisServer { process, port, dir };
        server.wait_for_ping()?;
        Ok(server)
    }

    fn spawn(port: u16, dir: &std::path::Path) -> Result<Process> {
        let bin = tool("VALV_REDIS_SERVER", &["redis-server"], valv_testkit::redis::MISSING)?;
        crate::process::start("redis", valv_testkit::redis::command(bin, port, dir), valv_testkit::redis::READY)
    }

    /// Stops the server the way an operator restarting it would (`SHUTDOWN SAVE`: the data
    /// is written to its dump file); [`RedisServer::start_again`] brings it back with it.
    pub fn shutdown_saving(&mut self) -> Result<()> {
        let mut conn = self.connect()?;
        // The server closes the connection instead of answering.
        let _ = conn.command(&[b"SHUTDOWN", b"SAVE"]);
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.process.has_exited() {
            if Instant::now() >= deadline {
                bail!("redis did not exit after SHUTDOWN SAVE");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Starts the server again on the same port and directory (loading its dump file).
    pub fn start_again(&mut self) -> Result<()> {
        self.process = Self::spawn(self.port, self.dir.path())?;
        self.wait_for_ping()
    }

    fn wait_for_ping(&self) -> Result<()> {
        let server = self;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match server.connect().and_then(|mut c| c.command(&[b"PING"])) {
                Ok(Resp::Simple(s)) if s == "PONG" => return Ok(()),
                Ok(other) if Instant::now() >= deadline => bail!("redis PING answered {other:?}"),
                Err(e) if Instant::now() >= deadline => return Err(e.context("redis never answered PING")),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The store URL for the broker.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A new connection.
    pub fn connect(&self) -> Result<RedisConn> {
        RedisConn::connect(self.port)
    }

    /// Every key and every value (all fields, members, elements) of every database, as raw
    /// bytes.
    pub fn dump_all(&self) -> Result<Vec<Entry>> {
        let mut conn = self.connect()?;
        let databases = match conn.command(&[b"CONFIG", b"GET", b"databases"])? {
            Resp::Array(Some(items)) => {
                items.get(1).and_then(Resp::as_bytes).and_then(|b| std::str::from_utf8(b).ok()?.parse::<u32>().ok()).unwrap_or(16)
            }
            _ => 16,
        };
        let mut out = Vec::new();
        for db in 0..databases {
            conn.command(&[b"SELECT", db.to_string().as_bytes()])?.ok()?;
            let keys = conn.command(&[b"KEYS", b"*"])?.flatten();
            for key in keys {
                let kind = match conn.command(&[b"TYPE", &key])? {
                    Resp::Simple(s) => s,
                    other => bail!("TYPE answered {other:?}"),
                };
                let reply = match kind.as_str() {
                    "string" => conn.command(&[b"GET", &key])?,
                    "hash" => conn.command(&[b"HGETALL", &key])?,
                    "list" => conn.command(&[b"LRANGE", &key, b"0", b"-1"])?,
                    "set" => conn.command(&[b"SMEMBERS", &key])?,
                    "zset" => conn.command(&[b"ZRANGE", &key, b"0", b"-1", b"WITHSCORES"])?,
                    "stream" => conn.command(&[b"XRANGE", &key, b"-", b"+"])?,
                    "none" => continue, // expired between KEYS and TYPE
                    other => bail!("redis key of unexpected type {other}"),
                };
                out.push(Entry { db, key, values: reply.flatten() });
            }
        }
        Ok(out)
    }
}

/// One key of a Redis dump.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Database number.
    pub db: u32,
    /// The key.
    pub key: Vec<u8>,
    /// Every string in its value.
    pub values: Vec<Vec<u8>>,
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    /// `+OK`
    Simple(String),
    /// `-ERR …`
    Error(String),
    /// `:1`
    Int(i64),
    /// `$n` bulk string (`None` = nil)
    Bulk(Option<Vec<u8>>),
    /// `*n` array (`None` = nil)
    Array(Option<Vec<Resp>>),
}

impl Resp {
    /// The bytes of a bulk or simple string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Resp::Bulk(Some(b)) => Some(b),
            Resp::Simple(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// Every string in this reply, depth first.
    pub fn flatten(self) -> Vec<Vec<u8>> {
        match self {
            Resp::Simple(s) | Resp::Error(s) => vec![s.into_bytes()],
            Resp::Int(i) => vec![i.to_string().into_bytes()],
            Resp::Bulk(Some(b)) => vec![b],
            Resp::Bulk(None) | Resp::Array(None) => Vec::new(),
            Resp::Array(Some(items)) => items.into_iter().flat_map(Resp::flatten).collect(),
        }
    }

    /// Fails on an error reply.
    pub fn ok(self) -> Result<Resp> {
        match self {
            Resp::Error(e) => Err(anyhow!("redis error: {e}")),
            other => Ok(other),
        }
    }
}

/// One blocking RESP connection.
#[derive(Debug)]
pub struct RedisConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RedisConn {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Result<RedisConn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).with_context(|| format!("connecting to redis on {port}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let writer = stream.try_clone()?;
        Ok(RedisConn { reader: BufReader::new(stream), writer })
    }

    /// Sends one command and reads its reply.
    pub fn command(&mut self, args: &[&[u8]]) -> Result<Resp> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            buf.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            buf.extend_from_slice(arg);
            buf.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&buf)?;
        self.read()
    }

    fn read(&mut self) -> Result<Resp> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\r\n") {
            bail!("redis closed the connection or sent a partial line");
        }
        line.truncate(line.len() - 2);
        let (kind, rest) = line.split_first().ok_or_else(|| anyhow!("empty RESP line"))?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let int = || text.parse::<i64>().with_context(|| format!("bad RESP length {text:?}"));
        Ok(match kind {
            b'+' => Resp::Simple(text),
            b'-' => Resp::Error(text),
            b':' => Resp::Int(int()?),
            b'$' => {
                let n = int()?;
                if n < 0 {
                    Resp::Bulk(None)
                } else {
                    let n = usize::try_from(n)?;
                    let mut data = vec![0u8; n + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(n);
                    Resp::Bulk(Some(data))
                }
            }
            b'*' => {
                let n = int()?;
                if n < 0 {
                    Resp::Array(None)
                } else {
                    let mut items = Vec::with_capacity(usize::try_from(n)?);
                    for _ in 0..n {
                        items.push(self.read()?);
                    }
                    Resp::Array(Some(items))
                }
            }
            other => bail!("unknown RESP type byte {other:#x}"),
        })
    }
}
