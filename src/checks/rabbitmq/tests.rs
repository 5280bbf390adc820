//! Tests of `rabbitmq`.

use super::*;
use crate::model::Outcome;
use crate::observations::rabbitmq::{
    AmqpConnect, DeadLetterExchange, GuestAttempt, QueueList, RabbitAlarms, RabbitChannel,
    RabbitNode, RabbitPolicy, RabbitVhost,
};

fn queue(name: &str, dlx_argument: Option<&str>, policy_dlx: Option<Option<&str>>) -> RabbitQueue {
    RabbitQueue {
        vhost: "shop".into(),
        name: name.into(),
        durable: true,
        kind: "classic".into(),
        dlx_argument: dlx_argument.map(str::to_string),
        policy_dlx: policy_dlx.map(|p| p.map(str::to_string)),
        messages_ready: Some(0),
        ready_rate: Some(0.0),
        consumers: Some(1),
        ..RabbitQueue::default()
    }
}

fn dlx_exchange(name: &str, exists: bool, bound: &[&str]) -> DeadLetterExchange {
    DeadLetterExchange {
        vhost: "shop".into(),
        name: name.into(),
        exists,
        bound_queues: bound.iter().map(|s| s.to_string()).collect(),
    }
}

fn channel(consumers: u64, prefetch: u64, published: u64, confirm: bool) -> RabbitChannel {
    RabbitChannel {
        name: "10.0.0.7:51234 -> 10.0.0.5:5672 (1)".into(),
        vhost: "shop".into(),
        user: "orders".into(),
        consumers,
        prefetch,
        global_prefetch: 0,
        confirm,
        published,
    }
}

/// A broker where every rule holds.
fn healthy() -> RabbitObservation {
    RabbitObservation {
        amqp: Probed::Observed(AmqpConnect {
            server: "amqp://orders:***@mq:5672/shop".into(),
            connect_ms: 4.0,
            closed_cleanly: true,
        }),
        management: Probed::Observed(RabbitManagementView {
            api: "http://mq:15672/".into(),
            version: "3.13.1".into(),
            cluster_name: "rabbit@mq".into(),
            queues: Probed::Observed(QueueList {
                queues: vec![
                    queue("orders", Some("dlx"), Some(None)),
                    queue("emails", None, Some(Some("dlx"))),
                    queue("dead-letters", None, Some(None)),
                ],
                total: 3,
                truncated: false,
            }),
            policies: Probed::Observed(Vec::new()),
            dead_letter_exchanges: Probed::Observed(vec![dlx_exchange(
                "dlx",
                true,
                &["dead-letters"],
            )]),
            channels: Probed::Observed(vec![channel(1, 50, 0, false), channel(0, 0, 900, true)]),
            alarms: Probed::Observed(RabbitAlarms {
                status: "ok".into(),
                detail: String::new(),
            }),
            nodes: Probed::Observed(vec![RabbitNode {
                name: "rabbit@mq".into(),
                running: true,
                mem_alarm: false,
                disk_free_alarm: false,
            }]),
            vhosts: Probed::Observed(vec![RabbitVhost {
                name: "shop".into(),
                states: vec![("rabbit@mq".into(), "running".into())],
            }]),
        }),
        guest: vec![GuestAttempt {
            via: "AMQP".into(),
            address: "amqp://mq:5672/%2f".into(),
            loopback: false,
            outcome: GuestOutcome::Refused("ACCESS_REFUSED".into()),
        }],
    }
}

fn obs(r: RabbitObservation) -> Observations {
    Observations {
        rabbitmq: Probed::Observed(r),
        ..Observations::default()
    }
}

fn mgmt(r: &mut RabbitObservation) -> &mut RabbitManagementView {
    match &mut r.management {
        Probed::Observed(m) => m,
        _ => unreachable!(),
    }
}

fn run(f: super::super::JudgeFn, o: &Observations) -> Result<Judgement, Unobserved> {
    f(o, &JudgeConfig::default())
}

const ALL: &[&CheckMeta] = &[
    &REACHABLE,
    &DEFAULT_CREDENTIALS,
    &DLX,
    &DLX_TARGET,
    &CONFIRMS,
    &ALARMS,
    &PREFETCH,
    &BACKLOG,
];

#[test]
fn healthy_broker_passes_every_check() {
    let o = obs(healthy());
    for check in ALL {
        let j = run(check.judge, &o).expect("judged");
        assert_eq!(j.outcome, Outcome::Pass, "{}: {}", check.id, j.summary);
    }
}

#[test]
fn not_configured_skips_everything() {
    let o = Observations {
        rabbitmq: Probed::Skipped("no rabbitmq configured".into()),
        ..Observations::default()
    };
    for check in ALL {
        assert!(
            matches!(run(check.judge, &o), Err(Unobserved::Skipped(_))),
            "{}",
            check.id
        );
    }
}

#[test]
fn amqp_unreachable_fails_reachable() {
    let mut r = healthy();
    r.amqp =
        Probed::Failed("rabbitmq amqp://orders:***@mq:5672/shop: cannot connect: refused".into());
    let j = run(reachable, &obs(r)).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("refused"));
}

#[test]
fn no_management_api_skips_its_checks_with_the_reason() {
    let mut r = healthy();
    r.management =
        Probed::Skipped("no management API configured (dependencies.rabbitmq_management)".into());
    let o = obs(r);
    let j = run(reachable, &o).unwrap();
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.evidence[1].starts_with("management API skipped: no management API"));
    for check in [&DLX, &DLX_TARGET, &CONFIRMS, &ALARMS, &PREFETCH, &BACKLOG] {
        match run(check.judge, &o) {
            Err(Unobserved::Skipped(reason)) => assert!(reason.contains("management API")),
            other => panic!("{}: {other:?}", check.id),
        }
    }
}

#[test]
fn guest_accepted_remotely_fails_over_loopback_warns() {
    let mut r = healthy();
    r.guest[0].outcome = GuestOutcome::Accepted("AMQP connection opened on vhost /".into());
    assert_eq!(
        run(default_credentials, &obs(r.clone())).unwrap().outcome,
        Outcome::Fail
    );
    r.guest[0].loopback = true;
    let j = run(default_credentials, &obs(r)).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.evidence[0].contains("(over loopback): guest:guest accepted"),
        "{}",
        j.evidence[0]
    );
}

#[test]
fn guest_untestable_is_an_error() {
    let mut r = healthy();
    r.guest[0].outcome = GuestOutcome::Untested("no answer within 2s".into());
    assert!(matches!(
        run(default_credentials, &obs(r)),
        Err(Unobserved::Failed(_))
    ));
}

#[test]
fn some_queues_without_dlx_warn_none_fail() {
    let mut r = healthy();
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![
            queue("orders", None, Some(None)),
            queue("emails", None, Some(Some("dlx"))),
        ],
        total: 2,
        truncated: false,
    });
    let j = run(dlx, &obs(r.clone())).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(
        j.evidence[0],
        "queue `orders` in vhost `shop` has no dead-letter exchange"
    );
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![queue("orders", None, Some(None))],
        total: 1,
        truncated: false,
    });
    mgmt(&mut r).dead_letter_exchanges = Probed::Observed(Vec::new());
    let j = run(dlx, &obs(r)).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary
            .contains("queue `orders` in vhost `shop` has no dead-letter exchange")
    );
}

#[test]
fn dlx_from_unreported_policy_counts_and_amq_exclusive_queues_are_ignored() {
    let mut r = healthy();
    let mut exclusive = queue("amq.gen-xyz", None, Some(None));
    exclusive.exclusive = true;
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![queue("emails", None, None), exclusive],
        total: 2,
        truncated: false,
    });
    mgmt(&mut r).policies = Probed::Observed(vec![RabbitPolicy {
        vhost: "shop".into(),
        name: "dlx".into(),
        pattern: "^emails$".into(),
        apply_to: "queues".into(),
        priority: 0,
        dlx: Some("dlx".into()),
    }]);
    assert_eq!(run(dlx, &obs(r)).unwrap().outcome, Outcome::Pass);
}

#[test]
fn unreadable_policies_fall_back_to_the_reported_effective_policy() {
    let mut r = healthy();
    mgmt(&mut r).policies = Probed::Failed("GET /api/policies → 403".into());
    let j = run(dlx, &obs(r)).unwrap();
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    assert!(
        j.evidence
            .iter()
            .any(|l| l.starts_with("policies could not be read (GET /api/policies → 403)")),
        "{:?}",
        j.evidence
    );
}

#[test]
fn missing_dlx_exchange_fails_unbound_warns_none_named_skips() {
    let mut r = healthy();
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![queue("payments", Some("nope"), Some(None))],
        total: 1,
        truncated: false,
    });
    mgmt(&mut r).dead_letter_exchanges = Probed::Observed(vec![dlx_exchange("nope", false, &[])]);
    let j = run(dlx_target, &obs(r.clone())).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert_eq!(
        j.evidence[0],
        "queue `payments` in vhost `shop` dead-letters to exchange `nope`, which does not exist"
    );
    mgmt(&mut r).dead_letter_exchanges = Probed::Observed(vec![dlx_exchange("nope", true, &[])]);
    assert_eq!(
        run(dlx_target, &obs(r.clone())).unwrap().outcome,
        Outcome::Warn
    );
    mgmt(&mut r).dead_letter_exchanges = Probed::Observed(Vec::new());
    assert!(matches!(
        run(dlx_target, &obs(r)),
        Err(Unobserved::Skipped(_))
    ));
}

#[test]
fn publishing_without_confirms_warns_and_no_publisher_skips() {
    let mut r = healthy();
    mgmt(&mut r).channels = Probed::Observed(vec![channel(0, 0, 10, false)]);
    assert_eq!(
        run(confirms, &obs(r.clone())).unwrap().outcome,
        Outcome::Warn
    );
    mgmt(&mut r).channels = Probed::Observed(vec![channel(1, 10, 0, false)]);
    assert!(matches!(
        run(confirms, &obs(r)),
        Err(Unobserved::Skipped(_))
    ));
}

#[test]
fn alarm_or_stopped_vhost_fails_and_unreadable_errors() {
    let mut r = healthy();
    mgmt(&mut r).alarms = Probed::Observed(RabbitAlarms {
        status: "failed".into(),
        detail: "resource alarm(s) in effect".into(),
    });
    assert_eq!(run(alarms, &obs(r)).unwrap().outcome, Outcome::Fail);
    let mut r = healthy();
    mgmt(&mut r).vhosts = Probed::Observed(vec![RabbitVhost {
        name: "shop".into(),
        states: vec![("rabbit@mq".into(), "stopped".into())],
    }]);
    let j = run(alarms, &obs(r)).unwrap();
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("vhost `shop` is stopped"));
    let mut r = healthy();
    let m = mgmt(&mut r);
    m.alarms = Probed::Failed("403".into());
    m.nodes = Probed::Failed("403".into());
    m.vhosts = Probed::Failed("403".into());
    assert!(matches!(run(alarms, &obs(r)), Err(Unobserved::Failed(_))));
}

#[test]
fn unbounded_prefetch_warns_and_no_consumer_skips() {
    let mut r = healthy();
    mgmt(&mut r).channels = Probed::Observed(vec![channel(2, 0, 0, false)]);
    let j = run(prefetch, &obs(r.clone())).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[0].ends_with("— unbounded"));
    mgmt(&mut r).channels = Probed::Observed(vec![channel(1, 5000, 0, false)]);
    assert_eq!(
        run(prefetch, &obs(r.clone())).unwrap().outcome,
        Outcome::Warn
    );
    mgmt(&mut r).channels = Probed::Observed(Vec::new());
    assert!(matches!(
        run(prefetch, &obs(r)),
        Err(Unobserved::Skipped(_))
    ));
}

#[test]
fn prefetch_and_backlog_thresholds_come_from_the_config() {
    let mut r = healthy();
    let mut q = queue("orders", Some("dlx"), Some(None));
    q.messages_ready = Some(500);
    q.ready_rate = Some(2.5);
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![q],
        total: 1,
        truncated: false,
    });
    let o = obs(r);
    // Prefetch 50 and 500 ready messages growing are fine by default.
    assert_eq!(run(prefetch, &o).unwrap().outcome, Outcome::Pass);
    assert_eq!(run(backlog, &o).unwrap().outcome, Outcome::Pass);
    let cfg = JudgeConfig {
        rabbitmq_prefetch_warn: 40,
        rabbitmq_backlog_growing_min: 100,
        ..JudgeConfig::default()
    };
    let j = prefetch(&o, &cfg).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[0].ends_with("— above 40"), "{}", j.evidence[0]);
    let j = backlog(&o, &cfg).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[0].contains("500 message(s) ready and growing by 2.5/s"));
}

#[test]
fn backlog_without_consumer_warns_and_missing_stats_skip() {
    let mut r = healthy();
    let mut q = queue("orders", Some("dlx"), Some(None));
    q.messages_ready = Some(42);
    q.consumers = Some(0);
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![q],
        total: 1,
        truncated: false,
    });
    let j = run(backlog, &obs(r.clone())).unwrap();
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(
        j.evidence[0],
        "queue `orders` in vhost `shop`: 42 message(s) ready and no consumer"
    );
    let mut q = queue("orders", None, None);
    q.messages_ready = None;
    mgmt(&mut r).queues = Probed::Observed(QueueList {
        queues: vec![q],
        total: 1,
        truncated: false,
    });
    assert!(matches!(run(backlog, &obs(r)), Err(Unobserved::Skipped(_))));
}
