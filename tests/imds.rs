//! Live crawling against a metadata service the test starts itself on 127.0.0.1 (never any
//! other address). The server serves the sample documents with each cloud's real URL layout
//! (directory listings with trailing `/`, raw string leaves, 404 for absent keys), token
//! endpoints and headers, and injects faults: 401 with an expired token, 429/5xx bursts, slow
//! responses, and a NIC that appears only after a few polls. Each test asserts what was
//! fetched and retried, and that a failed crawl writes nothing.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

const ENICFG: &str = env!("CARGO_BIN_EXE_enicfg");

/// An injected fault, consumed by one request to its path.
#[derive(Clone, Debug)]
enum Fault {
    Status(u16),
    Delay(Duration),
}

/// How the fake service authenticates.
#[derive(Clone, Debug)]
struct TokenRule {
    put_path: &'static str,
    ttl_header: &'static str,
    token_header: &'static str,
    /// Number of GETs a token is good for (then 401: "expired").
    uses: usize,
}

#[derive(Default)]
struct State {
    /// path -> body (listings and leaves).
    tree: BTreeMap<String, String>,
    token: Option<TokenRule>,
    issued: Vec<(String, usize)>,
    faults: BTreeMap<String, VecDeque<Fault>>,
    /// Every request: "METHOD path STATUS [token]".
    log: Vec<String>,
    /// (MAC key, number of listings of macs/ before it shows up).
    hidden: Option<(String, usize)>,
    listings: usize,
}

struct Server {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start(state: State) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(state));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &st);
                });
            }
        });
        Server { url, state }
    }

    fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.log().iter().filter(|l| l.starts_with(prefix)).count()
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
fn ec2_tree(doc: &Value) -> BTreeMap<String, String> {
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

fn sample(name: &str) -> Value {
    let text = fs::read_to_string(common::fixture(&format!("metadata/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn aws_token() -> TokenRule {
    TokenRule {
        put_path: "/latest/api/token",
        ttl_header: "X-aws-ec2-metadata-token-ttl-seconds",
        token_header: "X-aws-ec2-metadata-token",
        uses: usize::MAX,
    }
}

fn aliyun_token(uses: usize) -> TokenRule {
    TokenRule {
        put_path: "/latest/api/token",
        ttl_header: "X-aliyun-ecs-metadata-token-ttl-seconds",
        token_header: "X-aliyun-ecs-metadata-token",
        uses,
    }
}

fn ec2_state(name: &str, token: Option<TokenRule>) -> State {
    State {
        tree: ec2_tree(&sample(name)),
        token,
        ..State::default()
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(ENICFG).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `enicfg fetch` output parsed, asserting success.
fn fetch(cloud: &str, server: &Server, extra: &[&str]) -> Value {
    let mut args = vec!["fetch", "--cloud", cloud, "--endpoint", &server.url];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}\nlog: {:#?}",
        text(&out.stderr),
        server.log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The NIC-related part of a sample: what the crawl reads.
fn nic_part(doc: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(m) = doc.get("mac") {
        out.insert("mac".into(), m.clone());
    }
    out.insert("network".into(), doc["network"].clone());
    Value::Object(out)
}

/// Every file under a directory, with contents, to compare before and after a failed write.
fn tree_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if p.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                stack.push(p);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A guest root: Debian 12, sysfs with the given (name, MAC), and an existing enicfg file.
fn guest_root(nics: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc/netplan")).unwrap();
    fs::write(
        dir.path().join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("etc/netplan/60-enicfg-eth1.yaml"),
        "# Generated by enicfg (backend netplan). Old config that must survive a failed crawl.\n",
    )
    .unwrap();
    for (name, mac) in nics {
        let d = dir.path().join(format!("sys/class/net/{name}"));
        fs::create_dir_all(d.join("device")).unwrap();
        fs::write(d.join("address"), format!("{mac}\n")).unwrap();
    }
    dir
}

#[test]
fn aws_imdsv2_crawl_reproduces_the_sample() {
    let server = Server::start(ec2_state("aws.json", Some(aws_token())));
    let doc = fetch("aws", &server, &[]);
    assert_eq!(doc, nic_part(&sample("aws.json")));
    let log = server.log();
    assert_eq!(log[0], "PUT /latest/api/token 200", "{log:#?}");
    assert_eq!(server.count("PUT"), 1, "one token per run: {log:#?}");
    assert!(
        log.iter()
            .filter(|l| l.starts_with("GET"))
            .all(|l| l.ends_with("200 token-1")),
        "every GET carries the token: {log:#?}"
    );
    assert!(
        log.iter().any(|l| l
            == "GET /latest/meta-data/network/interfaces/macs/0e:1a:2b:3c:4d:01/ipv4-associations/203.0.113.10 200 token-1"),
        "sub-directories are crawled: {log:#?}"
    );
    assert!(
        !log.iter()
            .any(|l| l.contains("/user-data") || l.contains("/iam/")),
        "only the NIC part is crawled: {log:#?}"
    );
}

#[test]
fn listed_keys_that_404_are_absent_and_stale_macs_are_skipped() {
    let mut st = ec2_state("aws.json", Some(aws_token()));
    let macs = "/latest/meta-data/network/interfaces/macs/";
    let nic = format!("{macs}0e:1a:2b:3c:4d:02/");
    // ipv6-prefix is listed but answers 404 (nothing delegated); a detached ENI is still listed.
    let listing = st.tree[&nic].clone() + "ipv6-prefix\n";
    st.tree.insert(nic.clone(), listing);
    let listing = st.tree[macs].clone() + "0e:1a:2b:3c:4d:09/\n";
    st.tree.insert(macs.into(), listing);
    let server = Server::start(st);
    let root = guest_root(&[("eth1", "0e:1a:2b:3c:4d:02")]);
    let out = run(&[
        "render",
        "--imds",
        "aws",
        "--endpoint",
        &server.url,
        "--root",
        root.path().to_str().unwrap(),
        "--backend",
        "netplan",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = server.log();
    assert!(
        log.contains(&format!("GET {nic}ipv6-prefix 404 token-1")),
        "{log:#?}"
    );
    assert!(
        log.contains(&format!("GET {macs}0e:1a:2b:3c:4d:09/ 404 token-1")),
        "{log:#?}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("10.0.2.22/24") && !stdout.contains("4d:09"),
        "{stdout}"
    );
}

#[test]
fn aws_falls_back_to_imdsv1_only_when_the_token_endpoint_is_absent() {
    let server = Server::start(ec2_state("aws.json", None));
    let out = run(&["fetch", "--cloud", "aws", "--endpoint", &server.url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("without a token"),
        "{}",
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc, nic_part(&sample("aws.json")));
    assert_eq!(server.log()[0], "PUT /latest/api/token 404");

    // A failing token endpoint (503) is not "absent": no fallback, a clear error.
    let mut st = ec2_state("aws.json", Some(aws_token()));
    st.faults.insert(
        "/latest/api/token".into(),
        std::iter::repeat_n(Fault::Status(503), 10).collect(),
    );
    let server = Server::start(st);
    let out = run(&[
        "fetch",
        "--cloud",
        "aws",
        "--endpoint",
        &server.url,
        "--timeout",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("PUT {}/latest/api/token", server.url)) && err.contains("HTTP 503"),
        "{err}"
    );
    assert!(err.contains("after 5 attempts"), "{err}");
    assert_eq!(server.count("PUT"), 5, "{:#?}", server.log());
    assert_eq!(
        server.count("GET"),
        0,
        "no tokenless GET: {:#?}",
        server.log()
    );
}

#[test]
fn aliyun_expired_token_is_refreshed_once() {
    // Each token is good for 4 GETs: the crawl needs several tokens, one refresh per 401.
    let server = Server::start(ec2_state("aliyun.json", Some(aliyun_token(4))));
    let doc = fetch("aliyun", &server, &[]);
    assert_eq!(doc, nic_part(&sample("aliyun.json")));
    let log = server.log();
    let puts = server.count("PUT /latest/api/token 200");
    let unauthorized = log.iter().filter(|l| l.contains(" 401 ")).count();
    assert!(puts >= 3, "{log:#?}");
    assert_eq!(
        unauthorized,
        puts - 1,
        "each 401 refreshes the token: {log:#?}"
    );

    // A token that is refused at once: one refresh, then a clear error naming the URL.
    let server = Server::start(ec2_state("aliyun.json", Some(aliyun_token(0))));
    let out = run(&["fetch", "--cloud", "aliyun", "--endpoint", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("GET {}/latest/meta-data/mac", server.url))
            && err.contains("401 Unauthorized even with a fresh token"),
        "{err}"
    );
    assert_eq!(server.count("PUT"), 2, "{:#?}", server.log());
}

#[test]
fn tencent_upper_case_mac_paths_are_used_verbatim() {
    let mut st = ec2_state("tencent.json", None);
    // The service lists local-ipv4s/ twice (as its documentation shows).
    let key = "/latest/meta-data/network/interfaces/macs/52:54:00:AB:CD:02/".to_owned();
    let listing = st.tree[&key].clone() + "local-ipv4s/\n";
    st.tree.insert(key, listing);
    let server = Server::start(st);
    let doc = fetch("tencent", &server, &[]);
    assert_eq!(doc, nic_part(&sample("tencent.json")));
    assert_eq!(server.count("PUT"), 0, "Tencent has no token");
    assert!(
        !server.log().iter().any(|l| l.contains("52:54:00:ab")),
        "no lower-cased URL: {:#?}",
        server.log()
    );

    // Render straight from the service, matching the guest's lower-case sysfs address.
    let root = guest_root(&[("eth0", "52:54:00:ab:cd:01"), ("eth1", "52:54:00:ab:cd:02")]);
    let out = run(&[
        "render",
        "--imds",
        "tencent",
        "--endpoint",
        &server.url,
        "--root",
        root.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("macaddress: \"52:54:00:ab:cd:02\""),
        "{stdout}"
    );
    assert!(stdout.contains("via: \"10.0.2.1\""), "{stdout}");
}

#[test]
fn openstack_network_data_and_huawei_token_fallback() {
    for name in ["openstack-network_data.json", "huawei-network_data.json"] {
        let body = fs::read_to_string(common::fixture(&format!("metadata/{name}"))).unwrap();
        let mut st = State::default();
        st.tree
            .insert("/openstack/latest/network_data.json".into(), body);
        let server = Server::start(st);
        let doc = fetch("openstack", &server, &[]);
        assert_eq!(doc, sample(name));
        assert_eq!(
            server.log(),
            [
                "PUT /meta-data/latest/api/token 404",
                "GET /openstack/latest/network_data.json 200"
            ]
        );
    }
    // Huawei V2 (hardened) mode: the token is fetched and sent.
    let body = fs::read_to_string(common::fixture("metadata/huawei-network_data.json")).unwrap();
    let mut st = State {
        token: Some(TokenRule {
            put_path: "/meta-data/latest/api/token",
            ttl_header: "X-Metadata-Token-Ttl-Seconds",
            token_header: "X-Metadata-Token",
            uses: usize::MAX,
        }),
        ..State::default()
    };
    st.tree
        .insert("/openstack/latest/network_data.json".into(), body);
    let server = Server::start(st);
    fetch("openstack", &server, &[]);
    assert_eq!(
        server.log()[1],
        "GET /openstack/latest/network_data.json 200 token-1"
    );
}

#[test]
fn bursts_of_429_and_5xx_and_a_slow_response_are_retried() {
    let mut st = ec2_state("aws.json", Some(aws_token()));
    let listing = "/latest/meta-data/network/interfaces/macs/";
    let leaf = "/latest/meta-data/network/interfaces/macs/0e:1a:2b:3c:4d:02/local-ipv4s";
    st.faults.insert(
        listing.into(),
        [Fault::Status(429), Fault::Status(503), Fault::Status(500)].into(),
    );
    st.faults.insert(
        leaf.into(),
        [Fault::Delay(Duration::from_secs(5)), Fault::Status(502)].into(),
    );
    let server = Server::start(st);
    let doc = fetch("aws", &server, &["--request-timeout", "2"]);
    assert_eq!(doc, nic_part(&sample("aws.json")));
    let log = server.log();
    let tries = |p: &str| {
        log.iter()
            .filter(|l| l.starts_with(&format!("GET {p} ")))
            .count()
    };
    assert_eq!(tries(listing), 4, "3 failures then success: {log:#?}");
    assert_eq!(tries(leaf), 3, "slow, 502, then success: {log:#?}");
    assert_eq!(server.count("PUT"), 1);
}

#[test]
fn a_failed_crawl_writes_nothing_and_names_the_url() {
    let macs = [("eth0", "0e:1a:2b:3c:4d:01"), ("eth1", "0e:1a:2b:3c:4d:02")];
    let cases: Vec<(&str, State, Vec<&str>, String)> = vec![
        (
            "5xx forever",
            {
                let mut st = ec2_state("aws.json", Some(aws_token()));
                st.faults.insert(
                    "/latest/meta-data/network/interfaces/macs/".into(),
                    std::iter::repeat_n(Fault::Status(500), 10).collect(),
                );
                st
            },
            vec![],
            "HTTP 500 Internal Server Error (after 5 attempts)".to_owned(),
        ),
        (
            "a leaf slower than the deadline",
            {
                let mut st = ec2_state("aws.json", Some(aws_token()));
                st.faults.insert(
                    "/latest/meta-data/network/interfaces/macs/0e:1a:2b:3c:4d:02/local-ipv4s"
                        .into(),
                    std::iter::repeat_n(Fault::Delay(Duration::from_secs(3)), 10).collect(),
                );
                st
            },
            vec!["--request-timeout", "0.4", "--timeout", "2"],
            "timed out".to_owned(),
        ),
        (
            "the NIC listing is absent",
            {
                let mut st = ec2_state("aws.json", Some(aws_token()));
                st.tree.remove("/latest/meta-data/network/interfaces/macs/");
                st
            },
            vec![],
            "/latest/meta-data/network/interfaces/macs/ failed: HTTP 404 Not Found".to_owned(),
        ),
        (
            "the NIC listing is empty",
            {
                let mut st = ec2_state("aws.json", Some(aws_token()));
                st.tree.insert(
                    "/latest/meta-data/network/interfaces/macs/".into(),
                    String::new(),
                );
                st
            },
            vec![],
            "listed no NICs".to_owned(),
        ),
    ];
    for (what, st, extra, expect) in cases {
        let server = Server::start(st);
        let root = guest_root(&macs);
        let before = tree_of(root.path());
        let mut args = vec![
            "write",
            "--imds",
            "aws",
            "--endpoint",
            &server.url,
            "--root",
            root.path().to_str().unwrap(),
        ];
        args.extend_from_slice(&extra);
        let out = run(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(&server.url), "{what}: the URL is named: {err}");
        assert!(err.contains(&expect), "{what}: {err}");
        assert!(err.contains("nothing was written"), "{what}: {err}");
        assert_eq!(tree_of(root.path()), before, "{what}: ROOT is untouched");
    }
}

#[test]
fn write_from_the_service_into_a_guest_root() {
    let server = Server::start(ec2_state("aws.json", Some(aws_token())));
    let root = guest_root(&[("ens5", "0e:1a:2b:3c:4d:01"), ("ens6", "0e:1a:2b:3c:4d:02")]);
    let out = run(&[
        "write",
        "--imds",
        "aws",
        "--endpoint",
        &server.url,
        "--root",
        root.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = fs::read_to_string(root.path().join("etc/netplan/60-enicfg-ens6.yaml")).unwrap();
    assert!(written.contains("table: 10001"), "{written}");
    assert!(written.contains("via: \"10.0.2.1\""), "{written}");
    assert!(
        text(&out.stderr).contains("base address + 1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn wait_for_polls_until_a_new_nic_appears() {
    let mut st = ec2_state("aliyun.json", Some(aliyun_token(usize::MAX)));
    st.hidden = Some(("00:16:3e:0a:00:02".into(), 3));
    let server = Server::start(st);
    let root = guest_root(&[]);
    let out = run(&[
        "render",
        "--imds",
        "aliyun",
        "--endpoint",
        &server.url,
        "--wait-for",
        "00:16:3E:0A:00:02",
        "--ifname",
        "00:16:3e:0a:00:02=eth1",
        "--root",
        root.path().to_str().unwrap(),
        "--backend",
        "netplan",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("172.16.2.21/24"));
    let listings = server.count("GET /latest/meta-data/network/interfaces/macs/ ");
    assert_eq!(
        listings,
        4,
        "three polls without it, then found: {:#?}",
        server.log()
    );

    // A NIC that never shows up: the wait ends at the deadline with an error naming it.
    let mut st = ec2_state("aliyun.json", Some(aliyun_token(usize::MAX)));
    st.hidden = Some(("00:16:3e:0a:00:02".into(), 100));
    let server = Server::start(st);
    let out = run(&[
        "render",
        "--imds",
        "aliyun",
        "--endpoint",
        &server.url,
        "--backend",
        "netplan",
        "--wait-for",
        "00:16:3e:0a:00:02",
        "--timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--wait-for") && err.contains("00:16:3e:0a:00:02 is not listed"),
        "{err}"
    );
}

#[test]
fn without_wait_for_a_late_nic_is_reported_not_ignored() {
    let mut st = ec2_state("aliyun.json", Some(aliyun_token(usize::MAX)));
    st.hidden = Some(("00:16:3e:0a:00:02".into(), 100));
    let server = Server::start(st);
    let root = guest_root(&[]);
    let before = tree_of(root.path());
    let out = run(&[
        "write",
        "--imds",
        "aliyun",
        "--endpoint",
        &server.url,
        "--root",
        root.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("lists only the primary NIC"), "{err}");
    assert_eq!(tree_of(root.path()), before);
}

#[test]
fn a_saved_fetch_renders_the_same_offline() {
    let server = Server::start(ec2_state("aliyun.json", Some(aliyun_token(usize::MAX))));
    let root = guest_root(&[("eth0", "00:16:3e:0a:00:01"), ("eth1", "00:16:3e:0a:00:02")]);
    let r = root.path().to_str().unwrap();
    let out = run(&["fetch", "--cloud", "aliyun", "--endpoint", &server.url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let saved = root.path().join("nics.json");
    fs::write(&saved, &out.stdout).unwrap();
    let live = run(&[
        "render",
        "--imds",
        "aliyun",
        "--endpoint",
        &server.url,
        "--root",
        r,
        "--format",
        "json",
    ]);
    let offline = run(&[
        "render",
        "--input",
        saved.to_str().unwrap(),
        "--root",
        r,
        "--format",
        "json",
    ]);
    assert!(live.status.success(), "{}", text(&live.stderr));
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    assert_eq!(text(&live.stdout), text(&offline.stdout));
    assert!(
        text(&live.stdout).contains("ROUTING") || text(&live.stdout).contains("routing-policy")
    );
}
