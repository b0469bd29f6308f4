//! A fake cloud metadata service for the tests: each cloud's real URL layout (directory listings
//! with trailing `/`, raw string leaves, 404 for absent keys), token endpoints and headers, and
//! injected faults (status codes, delays, a NIC that appears only after a few polls).
//!
//! [`Server::start`] binds 127.0.0.1 in the test's own network namespace (`tests/imds.rs`);
//! [`Server::start_on`] serves a listener bound elsewhere — the booted-guest suite binds one
//! inside the guest's namespace (`guest::imds`). The served tree can be changed while it runs
//! ([`Server::set`]), and the server stops accepting when dropped.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// An injected fault, consumed by one request to its path.
#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16),
    Delay(Duration),
}

/// How the fake service authenticates.
#[derive(Clone, Debug)]
pub struct TokenRule {
    pub put_path: &'static str,
    pub ttl_header: &'static str,
    pub token_header: &'static str,
    /// Number of GETs a token is good for (then 401: "expired").
    pub uses: usize,
}

/// What the service serves and has seen.
#[derive(Default)]
pub struct State {
    /// path -> body (listings and leaves).
    pub tree: BTreeMap<String, String>,
    pub token: Option<TokenRule>,
    pub issued: Vec<(String, usize)>,
    pub faults: BTreeMap<String, VecDeque<Fault>>,
    /// Every request: "METHOD path STATUS [token]".
    pub log: Vec<String>,
    /// (MAC key, number of listings of macs/ before it shows up).
    pub hidden: Option<(String, usize)>,
    pub listings: usize,
}

pub struct Server {
    /// `http://127.0.0.1:PORT`, valid in the namespace the listener was bound in.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Serves `state` on a fresh listener on 127.0.0.1 in this process's namespace.
    pub fn start(state: State) -> Server {
        Server::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), state)
    }

    /// Serves `state` on `listener` (bound on 127.0.0.1 in whichever namespace), one thread per
    /// connection, until the server is dropped.
    pub fn start_on(listener: TcpListener, state: State) -> Server {
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(state));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, halt) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !halt.load(Ordering::SeqCst) {
                let conn = match listener.accept() {
                    Ok((conn, _)) => conn,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(_) => continue,
                };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = conn.set_nonblocking(false);
                    let _ = handle(conn, &st);
                });
            }
        });
        Server { url, state, stop }
    }

    /// Queues faults for the next requests to `path` (a 5xx burst, a slow answer).
    pub fn inject(&self, path: &str, faults: impl IntoIterator<Item = Fault>) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(path.to_owned())
            .or_default()
            .extend(faults);
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// Replaces everything the service serves (a NIC attached or detached in the console).
    pub fn set_tree(&self, tree: BTreeMap<String, String>) {
        self.state.lock().unwrap().tree = tree;
    }

    /// Sets (or replaces) the body served at `path`.
    pub fn set(&self, path: &str, body: &str) {
        self.state
            .lock()
            .unwrap()
            .tree
            .insert(path.to_owned(), body.to_owned());
    }

    /// The body served at `path`.
    pub fn get(&self, path: &str) -> Option<String> {
        self.state.lock().unwrap().tree.get(path).cloned()
    }

    /// The whole served tree (to serve it again after the guest reboots).
    pub fn tree(&self) -> BTreeMap<String, String> {
        self.state.lock().unwrap().tree.clone()
    }

    /// Every request so far: `METHOD path STATUS [token]`.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// How many logged requests start with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.log().iter().filter(|l| l.starts_with(prefix)).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Other",
    }
}

fn handle(conn: TcpStream, st: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = BTreeMap::new();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_owned();
            if k == "content-length" {
                content_length = v.parse().unwrap_or(0);
            }
            headers.insert(k, v);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;

    let (status, reply, delay) = respond(st, &method, &path, &headers);
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let mut conn = conn;
    let msg = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reason(status),
        reply.len()
    );
    conn.write_all(msg.as_bytes())?;
    conn.flush()
}

fn respond(
    st: &Arc<Mutex<State>>,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
) -> (u16, String, Option<Duration>) {
    let mut s = st.lock().unwrap();
    let mut delay = None;
    let fault = s.faults.get_mut(path).and_then(VecDeque::pop_front);
    let (status, body) = 'answer: {
        match fault {
            Some(Fault::Status(code)) => break 'answer (code, "fault".to_owned()),
            Some(Fault::Delay(d)) => delay = Some(d),
            None => {}
        }
        let rule = s.token.clone();
        if method == "PUT" {
            match &rule {
                Some(r) if path == r.put_path => {
                    if !headers.contains_key(&r.ttl_header.to_ascii_lowercase()) {
                        break 'answer (400, "missing TTL header".to_owned());
                    }
                    let token = format!("token-{}", s.issued.len() + 1);
                    s.issued.push((token.clone(), 0));
                    break 'answer (200, token);
                }
                _ => break 'answer (404, "no such path".to_owned()),
            }
        }
        if let Some(r) = &rule {
            let given = headers.get(&r.token_header.to_ascii_lowercase()).cloned();
            let uses = r.uses;
            let entry = s.issued.iter_mut().find(|(t, _)| Some(t) == given.as_ref());
            match entry {
                Some((_, used)) if *used < uses => *used += 1,
                _ => break 'answer (401, "token missing or expired".to_owned()),
            }
        }
        let macs_listing = path.ends_with("/network/interfaces/macs/");
        if macs_listing {
            s.listings += 1;
        }
        let hidden = s
            .hidden
            .clone()
            .filter(|(_, after)| s.listings <= *after)
            .map(|(m, _)| m);
        if let Some(m) = &hidden
            && path.contains(&format!("/macs/{m}/"))
        {
            break 'answer (404, "not yet".to_owned());
        }
        match s.tree.get(path) {
            Some(b) => {
                let mut b = b.clone();
                if let (true, Some(m)) = (macs_listing, &hidden) {
                    b = b
                        .lines()
                        .filter(|l| *l != format!("{m}/"))
                        .map(|l| format!("{l}\n"))
                        .collect();
                }
                (200, b)
            }
            None => (404, "Not Found".to_owned()),
        }
    };
    let tok = headers
        .iter()
        .find(|(k, _)| k.ends_with("-token") || k.as_str() == "x-metadata-token")
        .map(|(_, v)| format!(" {v}"))
        .unwrap_or_default();
    s.log.push(format!("{method} {path} {status}{tok}"));
    (status, body, delay)
}

/// Flattens an EC2-style sample into the service's paths under `/latest/meta-data/`.
pub fn ec2_tree(doc: &Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) => {
                let listing: String = m
                    .iter()
                    .map(|(k, v)| {
                        if v.is_object() {
                            format!("{k}/\n")
                        } else {
                            format!("{k}\n")
                        }
                    })
                    .collect();
                out.insert(prefix.to_owned(), listing);
                for (k, v) in m {
                    match v {
                        Value::Object(_) => walk(&format!("{prefix}{k}/"), v, out),
                        Value::String(s) => {
                            out.insert(format!("{prefix}{k}"), s.clone());
                        }
                        other => panic!("sample leaf {k} is not a string: {other}"),
                    }
                }
            }
            other => panic!("not a directory: {other}"),
        }
    }
    let mut out = BTreeMap::new();
    walk("/latest/meta-data/", doc, &mut out);
    out
}

/// A metadata sample from `tests/fixtures/metadata/`.
pub fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(super::fixture(&format!("metadata/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// AWS IMDSv2 (a token good for any number of GETs).
pub fn aws_token() -> TokenRule {
    TokenRule {
        put_path: "/latest/api/token",
        ttl_header: "X-aws-ec2-metadata-token-ttl-seconds",
        token_header: "X-aws-ec2-metadata-token",
        uses: usize::MAX,
    }
}

/// Alibaba Cloud hardened mode, each token good for `uses` GETs.
pub fn aliyun_token(uses: usize) -> TokenRule {
    TokenRule {
        put_path: "/latest/api/token",
        ttl_header: "X-aliyun-ecs-metadata-token-ttl-seconds",
        token_header: "X-aliyun-ecs-metadata-token",
        uses,
    }
}

/// A sample served with the EC2-style layout and the given token rule.
pub fn ec2_state(name: &str, token: Option<TokenRule>) -> State {
    State {
        tree: ec2_tree(&sample(name)),
        token,
        ..State::default()
    }
}
