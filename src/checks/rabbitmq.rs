//! RabbitMQ judges: `rabbitmq.*`, over the AMQP connect/close, the `guest:guest` attempts and
//! what the management API showed.
//!
//! Dead-lettering is judged per durable, non-exclusive, non-`amq.*` queue, from its
//! `x-dead-letter-exchange` argument or its effective policy's `dead-letter-exchange`. Queues
//! that *are* dead-letter queues (bound to an exchange some queue dead-letters to) and streams
//! (which cannot dead-letter) are not asked to have one. Without the management API these
//! checks are `skipped` with that reason. See the RabbitMQ probe for why a
//! `guest:guest` login over loopback warns rather than fails.

use std::collections::BTreeSet;

use super::db::{capped, reachable_or_fail};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::rabbitmq::effective_dlx;
use crate::observations::rabbitmq::{
    GuestOutcome, RabbitManagementView, RabbitObservation, RabbitQueue,
};
use crate::observations::{Observations, Probed, Unobserved};

fn rabbit(obs: &Observations) -> Result<&RabbitObservation, Unobserved> {
    obs.rabbitmq.get()
}

fn management(obs: &Observations) -> Result<&RabbitManagementView, Unobserved> {
    rabbit(obs)?.management.get()
}

/// `rabbitmq.reachable`: AMQP connect/close, plus `/api/overview`.
pub const REACHABLE: CheckMeta = CheckMeta {
    id: "rabbitmq.reachable",
    title: "RabbitMQ reachable",
    problem: "RabbitMQ is unreachable",
    category: Category::Reliability,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "AMQP connect/close; management /api/overview — fail critical: AMQP unreachable; the \
           management part is skipped with the reason when not configured",
    remediation: "Make the broker reachable from where the application runs (network path, \
                  listeners, TLS, the user's vhost permissions), and check the URLs in \
                  [dependencies] rabbitmq / rabbitmq_management.",
    references: &["https://www.rabbitmq.com/docs/troubleshooting-networking"],
    judge: reachable,
};

/// Judges `rabbitmq.reachable`: see [`REACHABLE`].
pub fn reachable(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = rabbit(obs)?;
    let mgmt_line = match &r.management {
        Probed::Observed(m) => format!(
            "{}: /api/overview → RabbitMQ {} (cluster {})",
            m.api, m.version, m.cluster_name
        ),
        Probed::Failed(reason) => format!("management API failed: {reason}"),
        Probed::Skipped(reason) => format!("management API skipped: {reason}"),
    };
    match &r.amqp {
        Probed::Observed(c) => Ok(Judgement::pass(format!(
            "RabbitMQ accepted an AMQP connection in {:.1} ms.",
            c.connect_ms
        ))
        .evidence(format!(
            "{}: connected in {:.1} ms, closed {}",
            c.server,
            c.connect_ms,
            if c.closed_cleanly {
                "cleanly"
            } else {
                "uncleanly"
            }
        ))
        .evidence(mgmt_line)),
        Probed::Failed(reason) => Ok(Judgement::fail(format!(
            "RabbitMQ could not be opened over AMQP: {reason}"
        ))
        .evidence(reason.clone())
        .evidence(mgmt_line)),
        // Only the management API is configured: judge what there is.
        Probed::Skipped(amqp_reason) => {
            match reachable_or_fail(&r.management, "The RabbitMQ management API")? {
                Ok(m) => Ok(Judgement::pass(format!(
                    "The RabbitMQ management API answered (RabbitMQ {}); AMQP was not checked.",
                    m.version
                ))
                .evidence(mgmt_line)
                .evidence(format!("AMQP skipped: {amqp_reason}"))),
                Err(failed) => Ok(failed.evidence(format!("AMQP skipped: {amqp_reason}"))),
            }
        }
    }
}

/// `rabbitmq.default_credentials`: `guest:guest` accepted.
pub const DEFAULT_CREDENTIALS: CheckMeta = CheckMeta {
    id: "rabbitmq.default_credentials",
    title: "RabbitMQ default guest:guest credentials",
    problem: "RabbitMQ accepts guest:guest",
    category: Category::Reliability,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "guest:guest against AMQP and the management API — fail critical: accepted from a \
           non-loopback address; warn: accepted over loopback only (loopback_users normally \
           blocks it remotely, which this run could not test)",
    remediation: "Delete the guest user (`rabbitmqctl delete_user guest`) or at least change its \
                  password, keep `loopback_users.guest = true`, and give each application its \
                  own user limited to its vhost.",
    references: &["https://www.rabbitmq.com/docs/access-control#default-state"],
    judge: default_credentials,
};

/// Judges `rabbitmq.default_credentials`: see [`DEFAULT_CREDENTIALS`].
pub fn default_credentials(
    obs: &Observations,
    _cfg: &JudgeConfig,
) -> Result<Judgement, Unobserved> {
    let r = rabbit(obs)?;
    if r.guest.is_empty() {
        return Err(Unobserved::Skipped(
            "no AMQP URL or management API to try guest:guest against".into(),
        ));
    }
    let lines: Vec<String> = r
        .guest
        .iter()
        .map(|a| {
            let path = if a.loopback {
                "over loopback"
            } else {
                "over the network"
            };
            match &a.outcome {
                GuestOutcome::Accepted(d) => format!(
                    "{} {} ({path}): guest:guest accepted — {d}",
                    a.via, a.address
                ),
                GuestOutcome::Refused(d) => format!(
                    "{} {} ({path}): guest:guest refused — {d}",
                    a.via, a.address
                ),
                GuestOutcome::Untested(d) => {
                    format!("{} {} ({path}): not tested — {d}", a.via, a.address)
                }
            }
        })
        .collect();
    let accepted = |remote: bool| {
        r.guest
            .iter()
            .any(|a| a.loopback != remote && matches!(a.outcome, GuestOutcome::Accepted(_)))
    };
    if accepted(true) {
        return Ok(Judgement::fail(
            "RabbitMQ accepts the default guest:guest login from a non-loopback address: \
             anyone on the network can read, publish and (on the management API) administer.",
        )
        .evidence_all(lines));
    }
    if accepted(false) {
        return Ok(Judgement::warn(
            "RabbitMQ accepted guest:guest over loopback. Its loopback_users setting normally \
             refuses guest from other hosts, but this run could only test from loopback; the \
             guest user still exists with its default password.",
        )
        .evidence_all(lines));
    }
    if r.guest
        .iter()
        .all(|a| matches!(a.outcome, GuestOutcome::Untested(_)))
    {
        return Err(Unobserved::Failed(format!(
            "guest:guest could not be tried: {}",
            lines.join("; ")
        )));
    }
    Ok(Judgement::pass("RabbitMQ refuses the default guest:guest login.").evidence_all(lines))
}

/// The queues the dead-letter rules apply to, and the dead-letter queues left out.
fn dlx_subjects(m: &RabbitManagementView) -> Result<(Vec<&RabbitQueue>, Vec<String>), Unobserved> {
    let list = m.queues.get()?;
    let dlxs = m.dead_letter_exchanges.get()?;
    let dead_letter_queues: BTreeSet<(&str, &str)> = dlxs
        .iter()
        .flat_map(|d| {
            d.bound_queues
                .iter()
                .map(move |q| (d.vhost.as_str(), q.as_str()))
        })
        .collect();
    let mut exempt = Vec::new();
    let subjects = list
        .queues
        .iter()
        .filter(|q| q.durable && !q.exclusive && !q.name.starts_with("amq."))
        .filter(|q| {
            if q.kind == "stream" {
                exempt.push(format!(
                    "{}: a stream (streams do not dead-letter)",
                    q.label()
                ));
                return false;
            }
            if dead_letter_queues.contains(&(q.vhost.as_str(), q.name.as_str())) {
                exempt.push(format!("{}: a dead-letter queue itself", q.label()));
                return false;
            }
            true
        })
        .collect();
    Ok((subjects, exempt))
}

/// The policy definitions, or none with a note saying why (then the broker's reported effective
/// policies decide).
fn policies(
    m: &RabbitManagementView,
) -> (
    &[crate::observations::rabbitmq::RabbitPolicy],
    Option<String>,
) {
    match &m.policies {
        Probed::Observed(list) => (list.as_slice(), None),
        Probed::Failed(reason) | Probed::Skipped(reason) => (
            &[],
            Some(format!(
                "policies could not be read ({reason}); judged from the effective policies the broker reported"
            )),
        ),
    }
}

/// `rabbitmq.dlx`: a dead-letter exchange on every application queue.
pub const DLX: CheckMeta = CheckMeta {
    id: "rabbitmq.dlx",
    title: "RabbitMQ queues have a dead-letter exchange",
    problem: "RabbitMQ queues have no dead-letter exchange",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "durable, non-exclusive, non-amq.* queues: x-dead-letter-exchange argument or policy \
           dead-letter-exchange — pass: all; warn: some lack one; fail: none",
    remediation: "Give every work queue a dead-letter exchange, preferably by policy \
                  (`rabbitmqctl set_policy DLX \"^orders$\" '{\"dead-letter-exchange\":\"dlx\"}' \
                  --apply-to queues`), bind a dead-letter queue to it, and alert on its depth, \
                  so rejected or expired messages are kept instead of dropped.",
    references: &["https://www.rabbitmq.com/docs/dlx"],
    judge: dlx,
};

/// Judges `rabbitmq.dlx`: see [`DLX`].
pub fn dlx(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = management(obs)?;
    let (subjects, exempt) = dlx_subjects(m)?;
    let (policies, policy_note) = policies(m);
    if subjects.is_empty() {
        return Err(Unobserved::Skipped(
            "no durable, non-exclusive application queue to judge".into(),
        ));
    }
    let mut with = Vec::new();
    let mut without = Vec::new();
    for q in &subjects {
        match effective_dlx(q, policies) {
            Some(name) => with.push(format!(
                "queue `{}` in vhost `{}` dead-letters to `{}` ({})",
                q.name,
                q.vhost,
                if name.is_empty() {
                    "(default exchange)"
                } else {
                    name.as_str()
                },
                if q.dlx_argument.is_some() {
                    "queue argument"
                } else {
                    "policy"
                }
            )),
            None => without.push(format!(
                "queue `{}` in vhost `{}` has no dead-letter exchange",
                q.name, q.vhost
            )),
        }
    }
    let mut evidence = without.clone();
    evidence.extend(with.iter().cloned());
    let mut evidence = capped(evidence);
    evidence.extend(policy_note);
    evidence.extend(
        exempt
            .into_iter()
            .take(5)
            .map(|e| format!("not judged: {e}")),
    );
    if let Some(list) = m.queues.observed()
        && list.truncated
    {
        evidence.push(format!(
            "only the first {} of {} queues were read",
            list.queues.len(),
            list.total
        ));
    }
    let total = subjects.len();
    if without.is_empty() {
        return Ok(Judgement::pass(format!(
            "All {total} durable application queue(s) have a dead-letter exchange."
        ))
        .evidence_all(evidence));
    }
    let first = without[0].clone();
    if with.is_empty() {
        return Ok(Judgement::fail(format!(
            "None of the {total} durable application queue(s) has a dead-letter exchange \
             ({first}{}): rejected and expired messages are dropped.",
            if total > 1 { ", …" } else { "" }
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::warn(format!(
        "{} of {total} durable application queue(s) have no dead-letter exchange ({first}{}).",
        without.len(),
        if without.len() > 1 { ", …" } else { "" }
    ))
    .evidence_all(evidence))
}

/// `rabbitmq.dlx_target`: the named dead-letter exchanges exist and route somewhere.
pub const DLX_TARGET: CheckMeta = CheckMeta {
    id: "rabbitmq.dlx_target",
    title: "RabbitMQ dead-letter exchanges exist",
    problem: "A RabbitMQ dead-letter exchange does not exist",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "the named DLX exchange exists — fail: missing (messages silently dropped); warn: it \
           exists but no queue is bound to it",
    remediation: "Declare the dead-letter exchange each queue or policy names (in the same \
                  vhost) and bind a dead-letter queue to it; RabbitMQ drops dead letters \
                  addressed to a missing or unbound exchange without an error.",
    references: &["https://www.rabbitmq.com/docs/dlx#routing"],
    judge: dlx_target,
};

/// Judges `rabbitmq.dlx_target`: see [`DLX_TARGET`].
pub fn dlx_target(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = management(obs)?;
    let list = m.queues.get()?;
    let dlxs = m.dead_letter_exchanges.get()?;
    let (policies, _) = policies(m);
    if dlxs.is_empty() {
        return Err(Unobserved::Skipped(
            "no queue names a dead-letter exchange".into(),
        ));
    }
    let users = |vhost: &str, name: &str| -> Vec<String> {
        list.queues
            .iter()
            .filter(|q| q.vhost == vhost && effective_dlx(q, policies).as_deref() == Some(name))
            .map(|q| format!("`{}`", q.name))
            .collect()
    };
    let mut missing = Vec::new();
    let mut unbound = Vec::new();
    let mut fine = Vec::new();
    for d in dlxs {
        let queues = users(&d.vhost, &d.name).join(", ");
        if d.name.is_empty() {
            fine.push(format!(
                "vhost `{}`: {queues} dead-letter to the default exchange (routed by routing key)",
                d.vhost
            ));
        } else if !d.exists {
            missing.push(format!(
                "queue {queues} in vhost `{}` dead-letters to exchange `{}`, which does not exist",
                d.vhost, d.name
            ));
        } else if d.bound_queues.is_empty() {
            unbound.push(format!(
                "exchange `{}` in vhost `{}` (used by {queues}) exists but no queue is bound to it",
                d.name, d.vhost
            ));
        } else {
            fine.push(format!(
                "exchange `{}` in vhost `{}` exists and routes to {}",
                d.name,
                d.vhost,
                d.bound_queues
                    .iter()
                    .map(|q| format!("`{q}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let mut evidence = missing.clone();
    evidence.extend(unbound.iter().cloned());
    evidence.extend(fine);
    let evidence = capped(evidence);
    if !missing.is_empty() {
        return Ok(Judgement::fail(format!(
            "{} dead-letter exchange(s) do not exist, so dead letters are silently dropped ({}).",
            missing.len(),
            missing[0]
        ))
        .evidence_all(evidence));
    }
    if !unbound.is_empty() {
        return Ok(Judgement::warn(format!(
            "{} dead-letter exchange(s) have no queue bound, so dead letters are dropped.",
            unbound.len()
        ))
        .evidence_all(evidence));
    }
    Ok(
        Judgement::pass("Every dead-letter exchange named exists and routes to a queue.")
            .evidence_all(evidence),
    )
}

/// `rabbitmq.confirms`: publishers use publisher confirms.
pub const CONFIRMS: CheckMeta = CheckMeta {
    id: "rabbitmq.confirms",
    title: "RabbitMQ publisher confirms",
    problem: "RabbitMQ publishers do not use confirms",
    category: Category::Reliability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "publishing channels' confirm flag — warn: publishing without confirms",
    remediation: "Enable publisher confirms (confirm.select) on publishing channels and handle \
                  nacks and timeouts by retrying, so a message the broker did not take is not \
                  assumed sent.",
    references: &["https://www.rabbitmq.com/docs/confirms#publisher-confirms"],
    judge: confirms,
};

/// Judges `rabbitmq.confirms`: see [`CONFIRMS`].
pub fn confirms(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let channels = management(obs)?.channels.get()?;
    let publishing: Vec<_> = channels.iter().filter(|c| c.published > 0).collect();
    if publishing.is_empty() {
        return Err(Unobserved::Skipped(format!(
            "no channel had published messages at the time of the audit ({} channel(s) open)",
            channels.len()
        )));
    }
    let line = |c: &&crate::observations::rabbitmq::RabbitChannel| {
        format!(
            "channel {} (vhost `{}`, user {}): {} published, confirm = {}",
            c.name, c.vhost, c.user, c.published, c.confirm
        )
    };
    let without: Vec<String> = publishing.iter().filter(|c| !c.confirm).map(line).collect();
    if without.is_empty() {
        return Ok(Judgement::pass(format!(
            "All {} publishing channel(s) use publisher confirms.",
            publishing.len()
        ))
        .evidence_all(capped(publishing.iter().map(line).collect())));
    }
    Ok(Judgement::warn(format!(
        "{} of {} publishing channel(s) publish without confirms: a message lost on the way is \
         never known to be lost.",
        without.len(),
        publishing.len()
    ))
    .evidence_all(capped(without)))
}

/// `rabbitmq.alarms`: resource alarms, node and virtual-host state.
pub const ALARMS: CheckMeta = CheckMeta {
    id: "rabbitmq.alarms",
    title: "RabbitMQ alarms and virtual hosts",
    problem: "A RabbitMQ alarm is raised",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "/api/health/checks/alarms, nodes, virtual-hosts — fail: alarm raised, a node or a \
           vhost not running",
    remediation: "A memory or disk alarm blocks every publisher: free memory/disk or raise the \
                  watermarks with capacity behind them; restart stopped vhosts \
                  (`rabbitmqctl restart_vhost`) and find why they stopped.",
    references: &[
        "https://www.rabbitmq.com/docs/alarms",
        "https://www.rabbitmq.com/docs/monitoring#health-checks",
    ],
    judge: alarms,
};

/// Judges `rabbitmq.alarms`: see [`ALARMS`].
pub fn alarms(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = management(obs)?;
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    let mut seen_anything = false;
    match &m.alarms {
        Probed::Observed(a) => {
            seen_anything = true;
            evidence.push(format!(
                "GET /api/health/checks/alarms → {}{}",
                a.status,
                if a.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.detail)
                }
            ));
            if a.status != "ok" {
                problems.push(format!("alarm health check: {} {}", a.status, a.detail));
            }
        }
        Probed::Failed(r) | Probed::Skipped(r) => {
            evidence.push(format!("alarms health check: {r}"))
        }
    }
    match &m.nodes {
        Probed::Observed(nodes) => {
            seen_anything = true;
            for n in nodes {
                evidence.push(format!(
                    "node {}: running = {}, mem_alarm = {}, disk_free_alarm = {}",
                    n.name, n.running, n.mem_alarm, n.disk_free_alarm
                ));
                if !n.running {
                    problems.push(format!("node {} is not running", n.name));
                }
                if n.mem_alarm {
                    problems.push(format!("memory alarm on {}", n.name));
                }
                if n.disk_free_alarm {
                    problems.push(format!("disk alarm on {}", n.name));
                }
            }
        }
        Probed::Failed(r) | Probed::Skipped(r) => evidence.push(format!("nodes: {r}")),
    }
    match &m.vhosts {
        Probed::Observed(vhosts) => {
            seen_anything = true;
            for v in vhosts {
                for (node, state) in &v.states {
                    if state != "running" {
                        problems.push(format!("vhost `{}` is {state} on {node}", v.name));
                    }
                }
            }
            evidence.push(format!(
                "{} virtual host(s): {}",
                vhosts.len(),
                vhosts
                    .iter()
                    .map(|v| format!("`{}`", v.name))
                    .take(10)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Probed::Failed(r) | Probed::Skipped(r) => evidence.push(format!("virtual hosts: {r}")),
    }
    if !seen_anything {
        return Err(Unobserved::Failed(evidence.join("; ")));
    }
    let evidence = capped(evidence);
    if !problems.is_empty() {
        return Ok(Judgement::fail(format!(
            "RabbitMQ reports trouble: {}.",
            problems.join("; ")
        ))
        .evidence_all(evidence));
    }
    Ok(
        Judgement::pass("No resource alarm is raised and every node and virtual host is running.")
            .evidence_all(evidence),
    )
}

/// `rabbitmq.prefetch`: consumers' prefetch is bounded.
pub const PREFETCH: CheckMeta = CheckMeta {
    id: "rabbitmq.prefetch",
    title: "RabbitMQ consumer prefetch",
    problem: "RabbitMQ consumers have unbounded or huge prefetch",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "consuming channels' prefetch — warn: unbounded (0) or > 1000 (threshold in [judge])",
    remediation: "Set a bounded prefetch (basic.qos) on consuming channels — tens to a few \
                  hundred — so one consumer cannot hoard a queue's messages in its memory.",
    references: &["https://www.rabbitmq.com/docs/consumer-prefetch"],
    judge: prefetch,
};

/// Judges `rabbitmq.prefetch`: see [`PREFETCH`].
pub fn prefetch(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let channels = management(obs)?.channels.get()?;
    let consuming: Vec<_> = channels.iter().filter(|c| c.consumers > 0).collect();
    if consuming.is_empty() {
        return Err(Unobserved::Skipped(format!(
            "no consuming channel at the time of the audit ({} channel(s) open)",
            channels.len()
        )));
    }
    let line = |c: &crate::observations::rabbitmq::RabbitChannel, why: &str| {
        format!(
            "channel {} (vhost `{}`, user {}): {} consumer(s), prefetch_count = {}, global_prefetch_count = {}{why}",
            c.name, c.vhost, c.user, c.consumers, c.prefetch, c.global_prefetch
        )
    };
    let max = cfg.rabbitmq_prefetch_warn;
    let mut bad = Vec::new();
    for c in &consuming {
        if c.prefetch == 0 && c.global_prefetch == 0 {
            bad.push(line(c, " — unbounded"));
        } else if c.prefetch > max || c.global_prefetch > max {
            bad.push(line(c, &format!(" — above {max}")));
        }
    }
    if bad.is_empty() {
        return Ok(Judgement::pass(format!(
            "All {} consuming channel(s) have a bounded prefetch.",
            consuming.len()
        ))
        .evidence_all(capped(consuming.iter().map(|c| line(c, "")).collect())));
    }
    Ok(Judgement::warn(format!(
        "{} of {} consuming channel(s) have an unbounded or very large prefetch.",
        bad.len(),
        consuming.len()
    ))
    .evidence_all(capped(bad)))
}

/// `rabbitmq.backlog`: ready messages piling up.
pub const BACKLOG: CheckMeta = CheckMeta {
    id: "rabbitmq.backlog",
    title: "RabbitMQ queue backlog",
    problem: "RabbitMQ queues are backing up",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "messages_ready growth (≥ 1000 ready and growing; threshold in [judge]), queues without \
           consumers — warn",
    remediation: "Find the missing or stalled consumers of the queues listed, scale them, or \
                  bound the queue (x-max-length with overflow reject-publish, a message TTL \
                  with a dead-letter exchange).",
    references: &["https://www.rabbitmq.com/docs/monitoring#queue-metrics"],
    judge: backlog,
};

/// Judges `rabbitmq.backlog`: see [`BACKLOG`].
pub fn backlog(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let list = management(obs)?.queues.get()?;
    let measured: Vec<&RabbitQueue> = list
        .queues
        .iter()
        .filter(|q| q.messages_ready.is_some())
        .collect();
    if list.queues.is_empty() {
        return Err(Unobserved::Skipped("the broker has no queues".into()));
    }
    if measured.is_empty() {
        return Err(Unobserved::Skipped(
            "the broker had not reported queue statistics yet (they are emitted every few seconds)"
                .into(),
        ));
    }
    let mut bad = Vec::new();
    for q in &measured {
        let ready = q.messages_ready.unwrap_or(0);
        let consumers = q.consumers.unwrap_or(0);
        let rate = q.ready_rate.unwrap_or(0.0);
        if ready > 0 && consumers == 0 {
            bad.push(format!(
                "queue `{}` in vhost `{}`: {ready} message(s) ready and no consumer",
                q.name, q.vhost
            ));
        } else if ready >= cfg.rabbitmq_backlog_growing_min && rate > 0.0 {
            bad.push(format!(
                "queue `{}` in vhost `{}`: {ready} message(s) ready and growing by {rate:.1}/s with {consumers} consumer(s)",
                q.name, q.vhost
            ));
        }
    }
    if bad.is_empty() {
        return Ok(Judgement::pass(format!(
            "No backlog: none of {} queue(s) has ready messages without a consumer or a growing \
             pile.",
            measured.len()
        )));
    }
    Ok(
        Judgement::warn(format!("{} queue(s) are accumulating messages.", bad.len()))
            .evidence_all(capped(bad)),
    )
}

#[cfg(test)]
mod tests;
