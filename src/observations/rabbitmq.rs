//! RabbitMQ over AMQP and its management API.

use serde::{Deserialize, Serialize};

use super::Probed;

/// What the RabbitMQ probes saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RabbitObservation {
    /// The AMQP connect/close (skipped when `dependencies.rabbitmq` is not set).
    pub amqp: Probed<AmqpConnect>,
    /// The management API (skipped when `dependencies.rabbitmq_management` is not set).
    pub management: Probed<RabbitManagementView>,
    /// `guest:guest` tried against AMQP and the management API.
    pub guest: Vec<GuestAttempt>,
}

/// A successful AMQP connect/close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmqpConnect {
    /// The URL, password masked.
    pub server: String,
    /// Connect, handshake and authentication, in milliseconds.
    pub connect_ms: f64,
    /// True when the connection was closed cleanly.
    pub closed_cleanly: bool,
}

/// One `guest:guest` attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestAttempt {
    /// `AMQP` or `management API`.
    pub via: String,
    /// Where it was sent (no credentials in it).
    pub address: String,
    /// True when the destination (and so the source) is a loopback address.
    pub loopback: bool,
    /// What happened.
    pub outcome: GuestOutcome,
}

/// The result of a `guest:guest` attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", content = "detail", rename_all = "lowercase")]
pub enum GuestOutcome {
    /// The credentials were accepted (with what the broker said).
    Accepted(String),
    /// The broker refused them (with its words).
    Refused(String),
    /// The attempt could not be made (unreachable, timeout).
    Untested(String),
}

/// What the management API showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RabbitManagementView {
    /// The API base URL, password masked.
    pub api: String,
    /// `rabbitmq_version` from `/api/overview`.
    pub version: String,
    /// `cluster_name` from `/api/overview`.
    pub cluster_name: String,
    /// Every queue visible to the user (up to the page cap).
    pub queues: Probed<QueueList>,
    /// The policies, for queues whose effective policy the broker has not reported yet.
    pub policies: Probed<Vec<RabbitPolicy>>,
    /// The dead-letter exchanges named by queues or policies: whether each exists and which
    /// queues it routes to.
    pub dead_letter_exchanges: Probed<Vec<DeadLetterExchange>>,
    /// Channels (up to the page cap).
    pub channels: Probed<Vec<RabbitChannel>>,
    /// `/api/health/checks/alarms`.
    pub alarms: Probed<RabbitAlarms>,
    /// Nodes' running state and resource alarms.
    pub nodes: Probed<Vec<RabbitNode>>,
    /// Virtual hosts and their state per node.
    pub vhosts: Probed<Vec<RabbitVhost>>,
}

/// The queue list and whether it was cut at the page cap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueList {
    /// The queues read.
    pub queues: Vec<RabbitQueue>,
    /// How many the broker reported in total.
    pub total: u64,
    /// True when not every queue was read.
    pub truncated: bool,
}

/// One queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RabbitQueue {
    /// Virtual host.
    pub vhost: String,
    /// Name.
    pub name: String,
    /// Survives a broker restart.
    pub durable: bool,
    /// Owned by one connection.
    pub exclusive: bool,
    /// Deleted when its last consumer goes.
    pub auto_delete: bool,
    /// `classic`, `quorum`, `stream`.
    pub kind: String,
    /// `x-dead-letter-exchange` from the queue's arguments.
    pub dlx_argument: Option<String>,
    /// The policy applied, by name.
    pub policy: Option<String>,
    /// `dead-letter-exchange` of the effective policy; `None` inside when the policy sets none.
    /// The outer `None` means the broker had not reported the effective policy yet.
    pub policy_dlx: Option<Option<String>>,
    /// Messages ready for delivery.
    pub messages_ready: Option<u64>,
    /// Growth of `messages_ready` per second.
    pub ready_rate: Option<f64>,
    /// Consumers attached.
    pub consumers: Option<u64>,
}

impl RabbitQueue {
    /// `shop/orders` (the default vhost shown as `/`).
    pub fn label(&self) -> String {
        format!("{}/{}", self.vhost, self.name)
    }
}

/// One policy (only what dead-lettering needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RabbitPolicy {
    /// Virtual host.
    pub vhost: String,
    /// Name.
    pub name: String,
    /// Regular expression on queue names.
    pub pattern: String,
    /// `queues`, `all`, `exchanges`, `classic_queues`, `quorum_queues`, `streams`.
    pub apply_to: String,
    /// Higher wins.
    pub priority: i64,
    /// `dead-letter-exchange` of its definition.
    pub dlx: Option<String>,
}

/// A dead-letter exchange named by some queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterExchange {
    /// Virtual host.
    pub vhost: String,
    /// Exchange name (`""` is the default exchange).
    pub name: String,
    /// True when the exchange exists.
    pub exists: bool,
    /// Queues bound to it (the dead-letter queues).
    pub bound_queues: Vec<String>,
}

/// One channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RabbitChannel {
    /// `127.0.0.1:5000 -> 127.0.0.1:5672 (1)`.
    pub name: String,
    /// Virtual host.
    pub vhost: String,
    /// User.
    pub user: String,
    /// Consumers on the channel.
    pub consumers: u64,
    /// Per-consumer prefetch (0: unbounded).
    pub prefetch: u64,
    /// Per-channel prefetch (0: unbounded).
    pub global_prefetch: u64,
    /// Publisher confirms enabled.
    pub confirm: bool,
    /// Messages published on it (from the broker's stats; 0 when none or unknown).
    pub published: u64,
}

/// `/api/health/checks/alarms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RabbitAlarms {
    /// `ok` or `failed`.
    pub status: String,
    /// The broker's reason and alarms, as text.
    pub detail: String,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RabbitNode {
    /// Node name.
    pub name: String,
    /// Running.
    pub running: bool,
    /// Memory alarm raised.
    pub mem_alarm: bool,
    /// Disk alarm raised.
    pub disk_free_alarm: bool,
}

/// One virtual host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RabbitVhost {
    /// Name.
    pub name: String,
    /// State per node (`running`, `stopped`…).
    pub states: Vec<(String, String)>,
}

/// The dead-letter exchange a queue names: its `x-dead-letter-exchange` argument (which wins
/// over policies, as in RabbitMQ), else the highest-priority policy that matches it, else — when
/// no policy definition matches (or they could not be read) — the effective policy the broker
/// last reported for it.
pub fn effective_dlx(queue: &RabbitQueue, policies: &[RabbitPolicy]) -> Option<String> {
    if let Some(dlx) = &queue.dlx_argument {
        return Some(dlx.clone());
    }
    match matching_policy(queue, policies) {
        Some(policy) => policy.dlx.clone(),
        None => queue.policy_dlx.clone().flatten(),
    }
}

/// The policy RabbitMQ would apply to a queue: same vhost, applies to queues, pattern matches,
/// highest priority.
pub fn matching_policy<'a>(
    queue: &RabbitQueue,
    policies: &'a [RabbitPolicy],
) -> Option<&'a RabbitPolicy> {
    policies
        .iter()
        .filter(|p| p.vhost == queue.vhost)
        .filter(|p| match p.apply_to.as_str() {
            "all" | "queues" => true,
            "classic_queues" => queue.kind == "classic",
            "quorum_queues" => queue.kind == "quorum",
            "streams" => queue.kind == "stream",
            _ => false,
        })
        .filter(|p| {
            regex::Regex::new(&p.pattern)
                .map(|re| re.is_match(&queue.name))
                .unwrap_or(false)
        })
        .max_by_key(|p| p.priority)
}
