//! The RabbitMQ probe: an AMQP connect/close with lapin, and `GET`s of the management HTTP API
//! for everything AMQP cannot see (queues with their arguments and effective policies, the
//! dead-letter exchanges they name, channels' prefetch and confirm mode, alarms, virtual-host
//! state).
//!
//! It must not change the broker: no queue, exchange, binding or policy is declared, published
//! to or deleted — in particular not `/api/aliveness-test`, which declares a queue. Management
//! requests go through the HTTP probe (timeouts, body cap, request budget) **without** the
//! target's configured headers, which belong to the target and must not be sent to the broker.
//!
//! ## `guest:guest` and loopback
//! RabbitMQ ships a `guest` user whose password is `guest`, and its `loopback_users` setting
//! (default `[guest]`) refuses that user unless the client connects from a loopback address. So
//! what an audit can truthfully say depends on where it runs from:
//! - accepted over a non-loopback path: anyone on the network can log in — a critical failure;
//! - accepted over loopback only (the broker runs on this host, or is addressed as 127.0.0.1):
//!   the broker behaves as shipped; whether it would refuse a remote client depends on
//!   `loopback_users`, which this probe cannot read. The check warns and says so rather than
//!   claiming a remote exposure it did not observe;
//! - refused everywhere it was tried: pass.
//!
//! Whether a path is loopback is decided from the destination address: a connection to a
//! loopback address always comes from a loopback address, and one to any other address never
//! does, which is exactly the distinction `loopback_users` makes.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use base64::Engine;
use serde_json::Value as Json;
use tokio::time::Instant;
use url::Url;

use super::{Dependency, clip, ms_since};
use crate::observations::Probed;
use crate::observations::http::{BODY_KEEP, RequestSpec};
use crate::observations::rabbitmq::{
    AmqpConnect, DeadLetterExchange, GuestAttempt, GuestOutcome, QueueList, RabbitAlarms,
    RabbitChannel, RabbitManagementView, RabbitNode, RabbitObservation, RabbitPolicy, RabbitQueue,
    RabbitVhost, effective_dlx,
};
use crate::probes::http;
use crate::probes::{ProbeCx, ProbeError, error_chain};

/// Queues per management API page (small enough for one page to fit the kept body).
const QUEUE_PAGE: usize = 100;
/// Channels per page (a channel's `message_stats` makes it larger than a queue).
const CHANNEL_PAGE: usize = 40;
/// The most pages of queues or channels read.
const MAX_PAGES: usize = 20;
/// The most distinct dead-letter exchanges looked up.
const MAX_DLX_LOOKUPS: usize = 50;
/// The largest AMQP frame readyprobe negotiates (RabbitMQ's own default). lapin sizes its
/// buffers from the negotiated frame size; a broker offering up to 4 GiB still gets this.
pub const AMQP_FRAME_MAX: u32 = 131_072;

/// The AMQP URL does not parse (lapin's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a usable AMQP URL: {0}")]
struct UnusableAmqpUrl(String);

/// The AMQP URL with the frame size bounded by [`AMQP_FRAME_MAX`] (a smaller `frame_max` in the
/// URL is kept).
fn bounded_uri(url: &str) -> Result<lapin::uri::AMQPUri, UnusableAmqpUrl> {
    let mut uri: lapin::uri::AMQPUri = url.trim().parse().map_err(UnusableAmqpUrl)?;
    let frame_max = match uri.query.frame_max {
        Some(f) if f > 0 => f.min(AMQP_FRAME_MAX),
        _ => AMQP_FRAME_MAX,
    };
    uri.query.frame_max = Some(frame_max);
    Ok(uri)
}

/// Observes the broker: AMQP (when `amqp` is set) and the management API (when `management`
/// is set, with its credentials), plus the `guest:guest` attempts on both.
pub async fn inspect(
    cx: &ProbeCx,
    amqp: Option<&str>,
    management: Option<&Management<'_>>,
) -> RabbitObservation {
    let amqp_probe = async {
        match amqp {
            Some(url) => match connect_amqp(cx, url).await {
                Ok(c) => Probed::Observed(c),
                Err(e) => Probed::Failed(e.to_string()),
            },
            None => Probed::Skipped(
                "no rabbitmq configured (dependencies.rabbitmq = \"amqp://…\")".to_string(),
            ),
        }
    };
    let management_probe = async {
        match management {
            Some(m) => match observe_management(cx, m).await {
                Ok(v) => Probed::Observed(v),
                Err(e) => Probed::Failed(e.to_string()),
            },
            None => Probed::Skipped(
                "no management API configured (dependencies.rabbitmq_management)".to_string(),
            ),
        }
    };
    let guest_probe = async {
        let mut attempts = Vec::new();
        if let Some(url) = amqp {
            attempts.extend(guest_amqp(cx, url).await);
        }
        if let Some(m) = management {
            attempts.extend(guest_management(cx, m).await);
        }
        attempts
    };
    let (amqp, management, guest) = tokio::join!(amqp_probe, management_probe, guest_probe);
    RabbitObservation {
        amqp,
        management,
        guest,
    }
}

/// The management API address and credentials (already resolved).
#[derive(Debug, Clone)]
pub struct Management<'a> {
    /// Base URL (`http://host:15672`).
    pub url: &'a str,
    /// User.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
}

async fn connect_amqp(cx: &ProbeCx, url: &str) -> Result<AmqpConnect, ProbeError> {
    let dep = Dependency::new(cx, "rabbitmq", url);
    let started = Instant::now();
    let props = lapin::ConnectionProperties::default().with_connection_name("readyprobe".into());
    let uri = bounded_uri(url).map_err(|e| dep.protocol_error(&e.to_string()))?;
    let conn = dep
        .timed(cx, lapin::Connection::connect_uri(uri, props))
        .await?
        .map_err(|e| amqp_error(&dep, &e))?;
    let connect_ms = ms_since(started);
    let closed_cleanly = matches!(
        dep.timed(cx, conn.close(200, "readyprobe done".into()))
            .await,
        Ok(Ok(()))
    );
    Ok(AmqpConnect {
        server: dep.shown.clone(),
        connect_ms,
        closed_cleanly,
    })
}

fn amqp_error(dep: &Dependency, e: &lapin::Error) -> ProbeError {
    match e.kind() {
        lapin::ErrorKind::IOError(_) => dep.connect_error(&error_chain(e)),
        _ => dep.protocol_error(&error_chain(e)),
    }
}

/// True when every address `host` resolves to is a loopback address.
async fn is_loopback(cx: &ProbeCx, host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    match tokio::time::timeout_at(cx.op_deadline(), tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        _ => false,
    }
}

async fn guest_amqp(cx: &ProbeCx, url: &str) -> Option<GuestAttempt> {
    let mut guest = Url::parse(url.trim()).ok()?;
    guest.set_username("guest").ok()?;
    guest.set_password(Some("guest")).ok()?;
    guest.set_path("/%2f");
    let host = guest.host_str()?.to_string();
    let default_port = if guest.scheme() == "amqps" {
        5671
    } else {
        5672
    };
    let port = guest.port().unwrap_or(default_port);
    let loopback = is_loopback(cx, &host, port).await;
    let mut address = guest.clone();
    let _ = address.set_username("");
    let _ = address.set_password(None);
    let dep = Dependency::new(cx, "rabbitmq", address.as_str());
    let props = lapin::ConnectionProperties::default()
        .with_connection_name("readyprobe guest check".into());
    let uri = bounded_uri(guest.as_str()).ok()?;
    let outcome = match dep
        .timed(cx, lapin::Connection::connect_uri(uri, props))
        .await
    {
        Ok(Ok(conn)) => {
            let _ = dep
                .timed(cx, conn.close(200, "readyprobe done".into()))
                .await;
            GuestOutcome::Accepted("AMQP connection opened on vhost /".to_string())
        }
        Ok(Err(e)) => {
            let text = dep.scrub(&error_chain(&e));
            if text.contains("NOT_ALLOWED") {
                // Authenticated, then refused the vhost: the credentials themselves work.
                GuestOutcome::Accepted(format!(
                    "login accepted, vhost / refused ({})",
                    clip(&text, 160)
                ))
            } else if text.contains("ACCESS_REFUSED") || text.contains("Login was refused") {
                GuestOutcome::Refused(clip(&text, 200))
            } else {
                // Refused, reset, not AMQP…: no broker said no to guest, so nothing was learned.
                GuestOutcome::Untested(clip(&text, 200))
            }
        }
        Err(timeout) => GuestOutcome::Untested(timeout.to_string()),
    };
    Some(GuestAttempt {
        via: "AMQP".to_string(),
        address: dep.shown.clone(),
        loopback,
        outcome,
    })
}

async fn guest_management(cx: &ProbeCx, m: &Management<'_>) -> Option<GuestAttempt> {
    let base = Url::parse(m.url.trim()).ok()?;
    let host = base.host_str()?.to_string();
    let port = base.port_or_known_default().unwrap_or(15672);
    let loopback = is_loopback(cx, &host, port).await;
    let api = Api::new(cx, m.url, "guest", "guest")?;
    let url = api.endpoint(&["api", "whoami"], &[]);
    let outcome = match api.get(&url).await {
        Ok(ex) if ex.is_success() => GuestOutcome::Accepted(format!(
            "GET {} → {} {}",
            ex.final_url,
            ex.status,
            clip(ex.body.trim(), 80)
        )),
        Ok(ex) if matches!(ex.status, 401 | 403) => {
            GuestOutcome::Refused(format!("GET {} → {}", ex.final_url, ex.status))
        }
        Ok(ex) => GuestOutcome::Untested(format!("GET {} → {}", ex.final_url, ex.status)),
        Err(e) => GuestOutcome::Untested(e.to_string()),
    };
    Some(GuestAttempt {
        via: "management API".to_string(),
        address: api.dep.shown.clone(),
        loopback,
        outcome,
    })
}

/// A management API client: base URL, Basic credentials, a context without the target's
/// headers and with its own "answered" flag.
struct Api {
    cx: ProbeCx,
    base: Url,
    authorization: String,
    dep: Dependency,
}

impl Api {
    fn new(cx: &ProbeCx, url: &str, username: &str, password: &str) -> Option<Api> {
        let mut base = Url::parse(url.trim()).ok()?;
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        let mut dep = Dependency::new(cx, "rabbitmq management", url);
        dep.add_secret(password);
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        Some(Api {
            // Not the target: none of its headers, and an answer from the broker must not count
            // as the target having answered.
            cx: ProbeCx {
                extra_headers: Vec::new(),
                answered: Arc::new(AtomicBool::new(false)),
                ..cx.clone()
            },
            base,
            authorization: format!("Basic {token}"),
            dep,
        })
    }

    /// `base/<segments…>?<query>`, each segment percent-encoded (a vhost `/` becomes `%2F`).
    fn endpoint(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        url
    }

    async fn get(&self, url: &Url) -> Result<crate::observations::http::HttpExchange, ProbeError> {
        let spec = RequestSpec::get(url.clone())
            .no_follow()
            .header("authorization", &self.authorization)
            .header("accept", "application/json");
        // Errors name the broker, not just a URL: `rabbitmq management http://…: GET /api/…`.
        let subject = format!("{}: GET {}", self.dep.subject(), url.path());
        http::send(&self.cx, &spec).await.map_err(|e| match e {
            ProbeError::Timeout { after, .. } => ProbeError::Timeout { subject, after },
            ProbeError::Deadline { .. } => ProbeError::Deadline { subject },
            ProbeError::Budget { limit, share, .. } => ProbeError::Budget {
                subject,
                limit,
                share,
            },
            ProbeError::Connect { reason, .. } => ProbeError::Connect { subject, reason },
            ProbeError::Tls { reason, .. } => ProbeError::Tls { subject, reason },
            ProbeError::Protocol { reason, .. } => ProbeError::Protocol { subject, reason },
        })
    }

    /// GETs a JSON document; any non-2xx answer, a body too large to keep, or invalid JSON is
    /// an error naming the endpoint.
    async fn json(&self, url: &Url) -> Result<Json, ProbeError> {
        let ex = self.get(url).await?;
        let path = url.path();
        if !ex.is_success() {
            let hint = match ex.status {
                401 => " (the credentials were refused)",
                403 => " (the user lacks the management/monitoring tag)",
                404 => " (not found: is this the RabbitMQ management API?)",
                _ => "",
            };
            return Err(self
                .dep
                .protocol_error(&format!("GET {path} → {}{hint}", ex.status)));
        }
        if ex.body.len() >= BODY_KEEP || ex.body_truncated {
            return Err(self.dep.protocol_error(&format!(
                "GET {path}: the answer is larger than the {} KiB a probe keeps",
                BODY_KEEP / 1024
            )));
        }
        serde_json::from_str(&ex.body).map_err(|e| {
            self.dep
                .protocol_error(&format!("GET {path}: not JSON ({e})"))
        })
    }

    /// Reads a paginated list (`items` of each page), up to [`MAX_PAGES`].
    async fn pages(
        &self,
        segments: &[&str],
        columns: &str,
        page_size: usize,
    ) -> Result<(Vec<Json>, u64, bool), ProbeError> {
        let mut items = Vec::new();
        let mut total = 0;
        for page in 1..=MAX_PAGES {
            let page_s = page.to_string();
            let size_s = page_size.to_string();
            let url = self.endpoint(
                segments,
                &[
                    ("page", &page_s),
                    ("page_size", &size_s),
                    ("columns", columns),
                ],
            );
            let doc = self.json(&url).await?;
            total = doc
                .get("filtered_count")
                .and_then(Json::as_u64)
                .unwrap_or(0);
            let page_count = doc.get("page_count").and_then(Json::as_u64).unwrap_or(0);
            if let Some(list) = doc.get("items").and_then(Json::as_array) {
                items.extend(list.iter().cloned());
            }
            if page as u64 >= page_count {
                return Ok((items, total, false));
            }
        }
        Ok((items, total, true))
    }
}

fn text(v: &Json, key: &str) -> String {
    v.get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

fn flag(v: &Json, key: &str) -> bool {
    v.get(key).and_then(Json::as_bool).unwrap_or(false)
}

fn number(v: &Json, key: &str) -> Option<u64> {
    v.get(key).and_then(Json::as_u64)
}

fn dlx_of(v: Option<&Json>, key: &str) -> Option<String> {
    v.and_then(|d| d.get(key))
        .and_then(Json::as_str)
        .map(str::to_string)
}

async fn observe_management(
    cx: &ProbeCx,
    m: &Management<'_>,
) -> Result<RabbitManagementView, ProbeError> {
    let api = Api::new(cx, m.url, m.username, m.password).ok_or_else(|| ProbeError::Protocol {
        subject: format!("rabbitmq management {}", crate::redact::url_str(m.url)),
        reason: "not a usable URL".to_string(),
    })?;
    let overview = api
        .json(&api.endpoint(
            &["api", "overview"],
            &[(
                "columns",
                "rabbitmq_version,cluster_name,management_version",
            )],
        ))
        .await?;
    if overview.get("rabbitmq_version").is_none() && overview.get("management_version").is_none() {
        return Err(api.dep.protocol_error(
            "GET /api/overview: no rabbitmq_version: not a RabbitMQ management API",
        ));
    }

    let queues = match api
        .pages(
            &["api", "queues"],
            "name,vhost,durable,exclusive,auto_delete,type,arguments,policy,\
             effective_policy_definition,messages_ready,messages_ready_details,consumers",
            QUEUE_PAGE,
        )
        .await
    {
        Ok((items, total, truncated)) => Probed::Observed(QueueList {
            queues: items.iter().map(queue).collect(),
            total,
            truncated,
        }),
        Err(e) => Probed::Failed(e.to_string()),
    };

    // The policy definitions decide dead-lettering at once; a queue's reported effective policy
    // lags a policy change by a statistics interval (seconds).
    let policies = match api.json(&api.endpoint(&["api", "policies"], &[])).await {
        Ok(Json::Array(items)) => Probed::Observed(items.iter().map(policy).collect()),
        Ok(_) => Probed::Failed(
            api.dep
                .protocol_error("GET /api/policies: not a list")
                .to_string(),
        ),
        Err(e) => Probed::Failed(e.to_string()),
    };

    let dead_letter_exchanges = match &queues {
        Probed::Observed(list) => {
            let pols = policies.observed().map(Vec::as_slice).unwrap_or(&[]);
            dead_letter_exchanges(&api, &list.queues, pols).await
        }
        Probed::Failed(r) => Probed::Failed(r.clone()),
        Probed::Skipped(r) => Probed::Skipped(r.clone()),
    };

    let channels = match api
        .pages(
            &["api", "channels"],
            "name,vhost,user,consumer_count,prefetch_count,global_prefetch_count,confirm,message_stats",
            CHANNEL_PAGE,
        )
        .await
    {
        Ok((items, _, _)) => Probed::Observed(items.iter().map(channel).collect()),
        Err(e) => Probed::Failed(e.to_string()),
    };

    let alarms = {
        let url = api.endpoint(&["api", "health", "checks", "alarms"], &[]);
        match api.get(&url).await {
            Ok(ex) if matches!(ex.status, 200 | 503) => {
                let doc: Json = serde_json::from_str(&ex.body).unwrap_or(Json::Null);
                let status = match text(&doc, "status") {
                    s if s.is_empty() => if ex.status == 200 { "ok" } else { "failed" }.to_string(),
                    s => s,
                };
                let mut detail = text(&doc, "reason");
                if let Some(list) = doc.get("alarms") {
                    detail = format!("{detail} {}", clip(&list.to_string(), 300));
                }
                Probed::Observed(RabbitAlarms {
                    status,
                    detail: detail.trim().to_string(),
                })
            }
            Ok(ex) if ex.status == 404 => Probed::Skipped(
                "this RabbitMQ has no /api/health/checks/alarms (before 3.8.10); node alarms are used"
                    .to_string(),
            ),
            Ok(ex) => Probed::Failed(
                api.dep
                    .protocol_error(&format!("GET {} → {}", url.path(), ex.status))
                    .to_string(),
            ),
            Err(e) => Probed::Failed(e.to_string()),
        }
    };

    let nodes = match api
        .json(&api.endpoint(
            &["api", "nodes"],
            &[("columns", "name,running,mem_alarm,disk_free_alarm")],
        ))
        .await
    {
        Ok(Json::Array(items)) => Probed::Observed(
            items
                .iter()
                .map(|n| RabbitNode {
                    name: text(n, "name"),
                    running: n.get("running").and_then(Json::as_bool).unwrap_or(true),
                    mem_alarm: flag(n, "mem_alarm"),
                    disk_free_alarm: flag(n, "disk_free_alarm"),
                })
                .collect(),
        ),
        Ok(_) => Probed::Failed(
            api.dep
                .protocol_error("GET /api/nodes: not a list")
                .to_string(),
        ),
        Err(e) => Probed::Failed(e.to_string()),
    };

    let vhosts = match api
        .json(&api.endpoint(&["api", "vhosts"], &[("columns", "name,cluster_state")]))
        .await
    {
        Ok(Json::Array(items)) => Probed::Observed(
            items
                .iter()
                .map(|v| RabbitVhost {
                    name: text(v, "name"),
                    states: v
                        .get("cluster_state")
                        .and_then(Json::as_object)
                        .map(|m| {
                            m.iter()
                                .map(|(node, state)| {
                                    (node.clone(), state.as_str().unwrap_or_default().to_string())
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        ),
        Ok(_) => Probed::Failed(
            api.dep
                .protocol_error("GET /api/vhosts: not a list")
                .to_string(),
        ),
        Err(e) => Probed::Failed(e.to_string()),
    };

    Ok(RabbitManagementView {
        api: api.dep.shown.clone(),
        version: text(&overview, "rabbitmq_version"),
        cluster_name: text(&overview, "cluster_name"),
        queues,
        policies,
        dead_letter_exchanges,
        channels,
        alarms,
        nodes,
        vhosts,
    })
}

fn queue(v: &Json) -> RabbitQueue {
    let policy_dlx = v
        .get("effective_policy_definition")
        .map(|d| dlx_of(Some(d), "dead-letter-exchange"));
    RabbitQueue {
        vhost: text(v, "vhost"),
        name: text(v, "name"),
        durable: flag(v, "durable"),
        exclusive: flag(v, "exclusive"),
        auto_delete: flag(v, "auto_delete"),
        kind: match text(v, "type") {
            t if t.is_empty() => "classic".to_string(),
            t => t,
        },
        dlx_argument: dlx_of(v.get("arguments"), "x-dead-letter-exchange"),
        policy: v.get("policy").and_then(Json::as_str).map(str::to_string),
        policy_dlx,
        messages_ready: number(v, "messages_ready"),
        ready_rate: v
            .get("messages_ready_details")
            .and_then(|d| d.get("rate"))
            .and_then(Json::as_f64),
        consumers: number(v, "consumers"),
    }
}

fn policy(v: &Json) -> RabbitPolicy {
    RabbitPolicy {
        vhost: text(v, "vhost"),
        name: text(v, "name"),
        pattern: text(v, "pattern"),
        apply_to: text(v, "apply-to"),
        priority: v.get("priority").and_then(Json::as_i64).unwrap_or(0),
        dlx: dlx_of(v.get("definition"), "dead-letter-exchange"),
    }
}

fn channel(v: &Json) -> RabbitChannel {
    RabbitChannel {
        name: text(v, "name"),
        vhost: text(v, "vhost"),
        user: text(v, "user"),
        consumers: number(v, "consumer_count").unwrap_or(0),
        prefetch: number(v, "prefetch_count").unwrap_or(0),
        global_prefetch: number(v, "global_prefetch_count").unwrap_or(0),
        confirm: flag(v, "confirm"),
        published: v
            .get("message_stats")
            .and_then(|s| s.get("publish"))
            .and_then(Json::as_u64)
            .unwrap_or(0),
    }
}

async fn dead_letter_exchanges(
    api: &Api,
    queues: &[RabbitQueue],
    policies: &[RabbitPolicy],
) -> Probed<Vec<DeadLetterExchange>> {
    let named: BTreeSet<(String, String)> = queues
        .iter()
        .filter_map(|q| effective_dlx(q, policies).map(|dlx| (q.vhost.clone(), dlx)))
        .collect();
    let mut out = Vec::new();
    for (vhost, name) in named.into_iter().take(MAX_DLX_LOOKUPS) {
        if name.is_empty() {
            // The default exchange always exists and routes by queue name.
            out.push(DeadLetterExchange {
                vhost,
                name,
                exists: true,
                bound_queues: Vec::new(),
            });
            continue;
        }
        let url = api.endpoint(&["api", "exchanges", &vhost, &name], &[("columns", "name")]);
        let exists = match api.get(&url).await {
            Ok(ex) if ex.is_success() => true,
            Ok(ex) if ex.status == 404 => false,
            Ok(ex) => {
                return Probed::Failed(
                    api.dep
                        .protocol_error(&format!("GET {} → {}", url.path(), ex.status))
                        .to_string(),
                );
            }
            Err(e) => return Probed::Failed(e.to_string()),
        };
        let mut bound_queues = Vec::new();
        if exists {
            let url = api.endpoint(
                &["api", "exchanges", &vhost, &name, "bindings", "source"],
                &[("columns", "destination,destination_type")],
            );
            if let Ok(Json::Array(items)) = api.json(&url).await {
                bound_queues = items
                    .iter()
                    .filter(|b| text(b, "destination_type") == "queue")
                    .map(|b| text(b, "destination"))
                    .collect();
            }
        }
        out.push(DeadLetterExchange {
            vhost,
            name,
            exists,
            bound_queues,
        });
    }
    Probed::Observed(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(name: &str) -> RabbitQueue {
        RabbitQueue {
            vhost: "shop".into(),
            name: name.into(),
            durable: true,
            kind: "classic".into(),
            ..RabbitQueue::default()
        }
    }

    fn pol(name: &str, pattern: &str, priority: i64, dlx: Option<&str>) -> RabbitPolicy {
        RabbitPolicy {
            vhost: "shop".into(),
            name: name.into(),
            pattern: pattern.into(),
            apply_to: "queues".into(),
            priority,
            dlx: dlx.map(str::to_string),
        }
    }

    #[test]
    fn argument_wins_over_policy() {
        let mut queue = q("orders");
        queue.dlx_argument = Some("arg-dlx".into());
        queue.policy_dlx = Some(Some("policy-dlx".into()));
        assert_eq!(effective_dlx(&queue, &[]).as_deref(), Some("arg-dlx"));
    }

    #[test]
    fn policy_definitions_win_over_a_stale_report() {
        let mut queue = q("orders");
        // Reported before the policy was added: no DLX. The definitions say otherwise.
        queue.policy_dlx = Some(None);
        let pols = [pol("p", ".*", 0, Some("dlx"))];
        assert_eq!(effective_dlx(&queue, &pols).as_deref(), Some("dlx"));
        // Without readable definitions, the broker's report is all there is.
        queue.policy_dlx = Some(Some("reported".into()));
        assert_eq!(effective_dlx(&queue, &[]).as_deref(), Some("reported"));
    }

    #[test]
    fn unreported_policy_is_matched_by_pattern_and_priority() {
        let queue = q("emails");
        let pols = [
            pol("low", "^email", 1, Some("low-dlx")),
            pol("high", "^emails$", 5, Some("high-dlx")),
            pol("other", "^orders$", 9, Some("x")),
        ];
        assert_eq!(effective_dlx(&queue, &pols).as_deref(), Some("high-dlx"));
        let mut exchanges_only = pols[1].clone();
        exchanges_only.apply_to = "exchanges".into();
        assert_eq!(effective_dlx(&queue, &[exchanges_only]), None);
    }
}
