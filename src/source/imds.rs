//! Live crawl of a cloud's instance metadata service (IMDS), producing the same document shape
//! as the saved samples: EC2-style trees as nested objects with the raw string bodies, or
//! `network_data.json` as served. `source::metadata` then decodes it like a saved file.
//!
//! What this module guarantees: a metadata error is never "no NICs". Every failure (timeout,
//! refused connection, 4xx/5xx, malformed listing, deadline) is an error naming the URL and how
//! it failed, so the caller writes nothing. Only `network/interfaces/macs/**` and the top-level
//! `mac` are read, not the whole tree.
//!
//! - Tokens: AWS IMDSv2 and Alibaba hardened mode (`PUT /latest/api/token`), Huawei V2
//!   (`PUT /meta-data/latest/api/token`); the tokenless fallback is taken only when the token
//!   endpoint is absent (404/405). A 401 refreshes the token once.
//! - Each request has its own timeout, and the whole crawl an overall deadline; timeouts,
//!   connection failures, 429 and 5xx are retried with exponential back-off.
//! - `--wait-for MAC` re-crawls until that NIC is listed with its addresses (on AWS also with a
//!   propagated `device-number` and, on multi-card instances, `network-card`), or the deadline.
//! - MAC path segments are used exactly as the service lists them (Tencent: upper case).
//!
//! Blocking HTTP only (ureq, no TLS, no proxy: the services are link-local plain HTTP).

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};

use crate::model::MacAddr;
use crate::source::metadata::Cloud;

/// Attempts per request (the first try included) on retryable failures.
pub const MAX_ATTEMPTS: u32 = 5;
/// First back-off delay; doubled after each retry, capped at [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest back-off delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Delay between two crawls while waiting for a NIC (`--wait-for`).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Token lifetime asked for, in seconds.
pub const TOKEN_TTL: &str = "21600";

/// How to reach the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL (`http://HOST or http://HOST:PORT`); `None` for the cloud's documented address.
    pub endpoint: Option<String>,
    /// Overall deadline for the whole crawl, retries and waiting included.
    pub timeout: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// NICs to wait for, until they are listed with addresses.
    pub wait_for: Vec<MacAddr>,
}

/// A crawled document plus notes for the user.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The document, in the shape of the saved samples.
    pub doc: Value,
    /// What the crawl decided on its own (e.g. tokenless fallback).
    pub notes: Vec<String>,
}

/// The documented base URL of each cloud's service.
pub fn default_endpoint(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws | Cloud::Openstack => "http://169.254.169.254",
        Cloud::Aliyun => "http://100.100.100.200",
        // NOTE: metadata.tencentyun.com resolves to this address; the IP avoids depending on
        // DNS at early boot (DataDog's agent does the same).
        Cloud::Tencent => "http://169.254.0.23",
    }
}

/// `(token path, TTL header, token header)` of the cloud's token scheme.
fn token_scheme(cloud: Cloud) -> Option<(&'static str, &'static str, &'static str)> {
    match cloud {
        Cloud::Aws => Some((
            "/latest/api/token",
            "X-aws-ec2-metadata-token-ttl-seconds",
            "X-aws-ec2-metadata-token",
        )),
        Cloud::Aliyun => Some((
            "/latest/api/token",
            "X-aliyun-ecs-metadata-token-ttl-seconds",
            "X-aliyun-ecs-metadata-token",
        )),
        Cloud::Openstack => Some((
            "/meta-data/latest/api/token",
            "X-Metadata-Token-Ttl-Seconds",
            "X-Metadata-Token",
        )),
        Cloud::Tencent => None,
    }
}

/// One attempt's failure, before retries are decided.
enum Failure {
    Timeout,
    Transport(String),
}

enum Reply {
    Ok(String),
    Absent,
}

struct Client {
    agent: ureq::Agent,
    base: String,
    cloud: Cloud,
    deadline: Instant,
    timeout: Duration,
    request_timeout: Duration,
    /// `None` before the first token request; `Some(None)` for tokenless mode.
    token: Option<Option<String>>,
    notes: Vec<String>,
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

impl Client {
    fn new(cloud: Cloud, settings: &Settings) -> Result<Client> {
        let base = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| default_endpoint(cloud).to_owned());
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            return Err(crate::UsageError(format!(
                "--endpoint {base:?}: expected http://HOST or http://HOST:PORT (metadata services speak plain HTTP)"
            )).into());
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        Ok(Client {
            agent,
            base,
            cloud,
            deadline: Instant::now() + settings.timeout,
            timeout: settings.timeout,
            request_timeout: settings.request_timeout,
            token: None,
            notes: Vec::new(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One HTTP exchange; the status and body, or how the transport failed.
    fn once(
        &self,
        put: bool,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let timeout = self.request_timeout.min(left);
        if timeout.is_zero() {
            return Err(Failure::Timeout);
        }
        let result = if put {
            let mut req = self.agent.put(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.config()
                .timeout_global(Some(timeout))
                .build()
                .send_empty()
        } else {
            let mut req = self.agent.get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.config().timeout_global(Some(timeout)).build().call()
        };
        let classify = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => Failure::Timeout,
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Failure::Timeout,
            other => Failure::Transport(other.to_string()),
        };
        let mut resp = result.map_err(classify)?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().map_err(classify)?;
        Ok((status, body))
    }

    /// An exchange with retries on timeouts, transport errors, 429 and 5xx.
    fn exchange(&self, put: bool, path: &str, headers: &[(&str, &str)]) -> Result<(u16, String)> {
        let url = self.url(path);
        let method = if put { "PUT" } else { "GET" };
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome = self.once(put, &url, headers);
            let why = match &outcome {
                Ok((status, _)) if *status == 429 || (500..600).contains(status) => {
                    format!("HTTP {status} {}", reason(*status))
                }
                Ok((status, body)) => return Ok((*status, body.clone())),
                Err(Failure::Timeout) => {
                    format!(
                        "timed out (per-request timeout {})",
                        secs(self.request_timeout)
                    )
                }
                Err(Failure::Transport(e)) => format!("connection failed: {e}"),
            };
            let left = self.deadline.saturating_duration_since(Instant::now());
            if attempt >= MAX_ATTEMPTS || left <= backoff {
                let stop = if attempt >= MAX_ATTEMPTS {
                    format!("after {attempt} attempts")
                } else {
                    format!(
                        "after {attempt} attempts, at the overall deadline of {}",
                        secs(self.timeout)
                    )
                };
                bail!("{method} {url} failed: {why} ({stop})");
            }
            sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
            attempt += 1;
        }
    }

    /// Gets a token, or settles on tokenless mode when the token endpoint is absent.
    fn refresh_token(&mut self) -> Result<()> {
        let Some((path, ttl_header, _)) = token_scheme(self.cloud) else {
            self.token = Some(None);
            return Ok(());
        };
        let url = self.url(path);
        let (status, body) = self.exchange(true, path, &[(ttl_header, TOKEN_TTL)])?;
        match status {
            200 => {
                let token = body.trim().to_owned();
                if token.is_empty() {
                    bail!("PUT {url} answered 200 with an empty token");
                }
                self.token = Some(Some(token));
            }
            404 | 405 => {
                self.notes.push(format!(
                    "PUT {url} answered HTTP {status}: the service has no token endpoint, so requests go without a token"
                ));
                self.token = Some(None);
            }
            403 => bail!(
                "PUT {url} failed: HTTP 403 Forbidden: the metadata service is disabled for this instance (or the request was refused)"
            ),
            s => bail!("PUT {url} failed: HTTP {s} {}", reason(s)),
        }
        Ok(())
    }

    /// GET with the token; `Absent` on 404. A 401 refreshes the token once.
    fn get(&mut self, path: &str) -> Result<Reply> {
        if self.token.is_none() {
            self.refresh_token()?;
        }
        let mut refreshed = false;
        loop {
            let header = token_scheme(self.cloud).map(|(_, _, h)| h);
            let token = self.token.clone().flatten();
            let headers: Vec<(&str, &str)> = match (header, token.as_deref()) {
                (Some(h), Some(t)) => vec![(h, t)],
                _ => Vec::new(),
            };
            let url = self.url(path);
            let (status, body) = self.exchange(false, path, &headers)?;
            match status {
                200 => return Ok(Reply::Ok(body)),
                404 => return Ok(Reply::Absent),
                401 if !refreshed && token.is_some() => {
                    refreshed = true;
                    self.refresh_token()?;
                }
                401 if token.is_none() => bail!(
                    "GET {url} failed: HTTP 401 Unauthorized without a token (the token endpoint was absent)"
                ),
                401 => bail!("GET {url} failed: HTTP 401 Unauthorized even with a fresh token"),
                s => bail!("GET {url} failed: HTTP {s} {}", reason(s)),
            }
        }
    }

    /// Crawls an EC2-style directory (`path` ends with `/`); `None` when it is absent.
    fn crawl_dir(&mut self, path: &str) -> Result<Option<Map<String, Value>>> {
        let listing = match self.get(path)? {
            Reply::Absent => return Ok(None),
            Reply::Ok(b) => b,
        };
        let mut out = Map::new();
        for line in listing.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (name, is_dir) = match line.strip_suffix('/') {
                Some(n) => (n, true),
                None => (line, false),
            };
            let bad = name.is_empty()
                || name == "."
                || name == ".."
                || name
                    .chars()
                    .any(|c| c == '/' || c == '?' || c == '#' || c == '%' || !c.is_ascii_graphic());
            if bad {
                bail!(
                    "GET {} listed {line:?}, which is not a metadata key",
                    self.url(path)
                );
            }
            // Listings may repeat an entry (Tencent's doc shows local-ipv4s/ twice).
            if out.contains_key(name) {
                continue;
            }
            let sub = format!("{path}{line}");
            if is_dir {
                match self.crawl_dir(&sub)? {
                    Some(dir) => {
                        out.insert(name.to_owned(), Value::Object(dir));
                    }
                    // A detached NIC stays listed for minutes while its keys answer 404.
                    None => self.notes.push(format!(
                        "GET {} answered 404 although {} lists it: skipped (a detached NIC stays listed for a while)",
                        self.url(&sub),
                        self.url(path)
                    )),
                }
            } else if let Reply::Ok(body) = self.get(&sub)? {
                out.insert(name.to_owned(), Value::String(body));
            }
        }
        Ok(Some(out))
    }

    /// One crawl of the NIC part of the service.
    fn crawl(&mut self) -> Result<Value> {
        if self.cloud == Cloud::Openstack {
            let path = "/openstack/latest/network_data.json";
            return match self.get(path)? {
                Reply::Absent => bail!("GET {} failed: HTTP 404 Not Found", self.url(path)),
                Reply::Ok(body) => serde_json::from_str(&body).map_err(|e| {
                    anyhow!(
                        "GET {} returned a body that is not JSON: {e}",
                        self.url(path)
                    )
                }),
            };
        }
        let root = "/latest/meta-data/";
        let mut doc = Map::new();
        let mac_path = format!("{root}mac");
        match self.get(&mac_path)? {
            Reply::Ok(mac) => {
                doc.insert("mac".into(), Value::String(mac.trim().to_owned()));
            }
            Reply::Absent if self.cloud != Cloud::Aws => bail!(
                "GET {} failed: HTTP 404 Not Found: the service does not name the primary NIC",
                self.url(&mac_path)
            ),
            Reply::Absent => {}
        }
        let macs_path = format!("{root}network/interfaces/macs/");
        let Some(macs) = self.crawl_dir(&macs_path)? else {
            bail!("GET {} failed: HTTP 404 Not Found", self.url(&macs_path));
        };
        if macs.is_empty() {
            bail!(
                "GET {} listed no NICs: refusing to treat that as \"no secondary NICs\"",
                self.url(&macs_path)
            );
        }
        let mut interfaces = Map::new();
        interfaces.insert("macs".into(), Value::Object(macs));
        let mut network = Map::new();
        network.insert("interfaces".into(), Value::Object(interfaces));
        doc.insert("network".into(), Value::Object(network));
        Ok(Value::Object(doc))
    }
}

/// Why a NIC is not ready yet, or `None` when it is listed with addresses.
fn not_ready(cloud: Cloud, doc: &Value, mac: MacAddr) -> Option<String> {
    let want = mac.to_string();
    if cloud == Cloud::Openstack {
        let links = doc.get("links").and_then(Value::as_array)?;
        let link = links.iter().find(|l| {
            l.get("ethernet_mac_address")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case(&want))
        });
        let Some(id) = link.and_then(|l| l.get("id")).and_then(Value::as_str) else {
            return Some(format!("{want} is not in links[]"));
        };
        let has_net = doc
            .get("networks")
            .and_then(Value::as_array)
            .is_some_and(|n| {
                n.iter()
                    .any(|n| n.get("link").and_then(Value::as_str) == Some(id))
            });
        return (!has_net).then(|| format!("{want} has no networks[] entry yet"));
    }
    let macs = doc
        .pointer("/network/interfaces/macs")
        .and_then(Value::as_object)?;
    let Some((_, nic)) = macs.iter().find(|(k, _)| k.eq_ignore_ascii_case(&want)) else {
        return Some(format!(
            "{want} is not listed under network/interfaces/macs/"
        ));
    };
    let has = |k: &str| nic.get(k).is_some();
    let addressed = match cloud {
        Cloud::Aws => has("local-ipv4s") || has("ipv6s"),
        Cloud::Aliyun => has("private-ipv4s") || has("primary-ip-address"),
        Cloud::Tencent => nic
            .get("local-ipv4s")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty()),
        Cloud::Openstack => true,
    };
    if !addressed {
        return Some(format!("{want} is listed but has no addresses yet"));
    }
    if cloud == Cloud::Aws {
        let top = doc.get("mac").and_then(Value::as_str).unwrap_or_default();
        let zero = |k: &str| {
            nic.get(k)
                .and_then(Value::as_str)
                .is_none_or(|v| v.trim() == "0")
        };
        if !top.eq_ignore_ascii_case(&want) && zero("device-number") && zero("network-card") {
            return Some(format!(
                "{want} still reads device-number 0 (not propagated)"
            ));
        }
        // On a multi-card instance every NIC has a network-card; one without it has not
        // propagated (single-card types answer 404 for every NIC).
        let card =
            |d: &Value| d.get("network-card").is_some() || d.get("network-card-index").is_some();
        if !top.eq_ignore_ascii_case(&want) && !card(nic) && macs.values().any(card) {
            return Some(format!(
                "{want} has no network-card yet while other NICs have one (not propagated)"
            ));
        }
    }
    None
}

/// Crawls the NIC part of `cloud`'s metadata service.
pub fn fetch(cloud: Cloud, settings: &Settings) -> Result<Fetched> {
    if settings.timeout.is_zero() || settings.request_timeout.is_zero() {
        bail!("--timeout and --request-timeout must be more than 0 seconds");
    }
    let mut client = Client::new(cloud, settings)?;
    // What the last complete crawl was still waiting for: when the deadline then ends a
    // re-poll half-way, that is what the user needs to hear, not which request was cut short.
    let mut still_waiting: Vec<String> = Vec::new();
    loop {
        let doc = match client.crawl() {
            Ok(doc) => doc,
            Err(e)
                if !still_waiting.is_empty()
                    && client.deadline.saturating_duration_since(Instant::now())
                        <= POLL_INTERVAL =>
            {
                bail!(
                    "--wait-for: after {} at {}: {} (the last poll was cut short: {e:#})",
                    secs(settings.timeout),
                    client.base,
                    still_waiting.join("; ")
                );
            }
            Err(e) => return Err(e),
        };
        let waiting: Vec<String> = settings
            .wait_for
            .iter()
            .filter_map(|m| not_ready(cloud, &doc, *m))
            .collect();
        if waiting.is_empty() {
            return Ok(Fetched {
                doc,
                notes: client.notes,
            });
        }
        let left = client.deadline.saturating_duration_since(Instant::now());
        if left <= POLL_INTERVAL {
            bail!(
                "--wait-for: after {} at {}: {}",
                secs(settings.timeout),
                client.base,
                waiting.join("; ")
            );
        }
        still_waiting = waiting;
        sleep(POLL_INTERVAL);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--wait-for` on AWS waits for a propagated `device-number` and, on multi-card
    /// instances, `network-card` (a NIC without it is not taken as card 0).
    #[test]
    fn wait_for_waits_for_network_card_on_multi_card_instances() {
        let doc = |third: Value| {
            serde_json::json!({
                "mac": "0e:00:00:00:00:01",
                "network": {"interfaces": {"macs": {
                    "0e:00:00:00:00:01": {"device-number": "0", "network-card": "0", "local-ipv4s": "10.0.1.5"},
                    "0e:00:00:00:00:02": {"device-number": "0", "network-card": "1", "local-ipv4s": "10.0.2.5"},
                    "0e:00:00:00:00:03": third,
                }}}
            })
        };
        let m: MacAddr = "0e:00:00:00:00:03".parse().unwrap();
        let late = doc(serde_json::json!({"device-number": "1", "local-ipv4s": "10.0.3.5"}));
        let why = not_ready(Cloud::Aws, &late, m).unwrap();
        assert!(why.contains("no network-card yet"), "{why}");
        let ready = doc(
            serde_json::json!({"device-number": "1", "network-card": "0", "local-ipv4s": "10.0.3.5"}),
        );
        assert_eq!(not_ready(Cloud::Aws, &ready, m), None);
        // Single-card types answer 404 for every NIC's network-card: nothing to wait for.
        let single = serde_json::json!({
            "mac": "0e:00:00:00:00:01",
            "network": {"interfaces": {"macs": {
                "0e:00:00:00:00:01": {"device-number": "0", "local-ipv4s": "10.0.1.5"},
                "0e:00:00:00:00:03": {"device-number": "1", "local-ipv4s": "10.0.3.5"},
            }}}
        });
        assert_eq!(not_ready(Cloud::Aws, &single, m), None);
    }
}
