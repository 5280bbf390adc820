//! `[dependencies]` from TOML: accepted forms, each refusal's field and message, `env:NAME`
//! resolution and what the redactor is handed.

use super::*;
use crate::config::from_str;

fn message(toml: &str) -> (String, String) {
    match from_str(toml, "t.toml") {
        Err(ConfigError::Field { field, message, .. }) => (field, message),
        Err(other) => panic!("expected a field error, got {other}"),
        Ok(_) => panic!("expected an error for {toml}"),
    }
}

#[test]
fn redis_without_scheme_names_field_and_form() {
    let (field, msg) = message("[dependencies]\nredis = \"localhost:6379\"\n");
    assert_eq!(field, "dependencies.redis");
    assert_eq!(
        msg,
        "expected redis:// or rediss://, got \"localhost:6379\""
    );
}

#[test]
fn redis_table_names_url_field_and_keeps_role() {
    let (field, msg) =
        message("[dependencies]\nredis = { url = \"http://x\", role = \"store\" }\n");
    assert_eq!(field, "dependencies.redis.url");
    assert!(msg.starts_with("expected redis:// or rediss://"), "{msg}");
    let ok = from_str(
        "[dependencies]\nredis = { url = \"redis://h:6379\", role = \"queue\" }\n",
        "t.toml",
    )
    .unwrap();
    let redis = ok.dependencies.redis.unwrap();
    assert_eq!(redis.role, RedisRole::Queue);
    assert!(redis.table);
}

#[test]
fn redis_unknown_role_is_named() {
    let (field, msg) = message("[dependencies]\nredis = { url = \"redis://h\", role = \"db\" }\n");
    assert_eq!(field, "dependencies.redis.role");
    assert!(msg.contains("cache"), "{msg}");
}

#[test]
fn postgres_with_wrong_scheme_masks_password() {
    let (field, msg) = message("[dependencies]\npostgres = \"mysql://app:hunter22@db/app\"\n");
    assert_eq!(field, "dependencies.postgres");
    assert!(
        msg.contains("expected postgres:// or postgresql://"),
        "{msg}"
    );
    assert!(msg.contains("app:***@db"), "{msg}");
    assert!(!msg.contains("hunter22"), "{msg}");
}

#[test]
fn mysql_amqp_and_management_urls_are_checked() {
    let (field, _) = message("[dependencies]\nmysql = \"db:3306\"\n");
    assert_eq!(field, "dependencies.mysql");
    let (field, msg) = message("[dependencies]\nrabbitmq = \"http://mq:5672\"\n");
    assert_eq!(field, "dependencies.rabbitmq");
    assert_eq!(msg, "expected amqp:// or amqps://, got \"http://mq:5672\"");
    let (field, _) = message(
        "[dependencies]\nrabbitmq_management = { url = \"mq:15672\", username = \"u\", password = \"p\" }\n",
    );
    assert_eq!(field, "dependencies.rabbitmq_management.url");
}

#[test]
fn management_needs_credentials_somewhere() {
    let (field, msg) =
        message("[dependencies]\nrabbitmq_management = { url = \"http://mq:15672\" }\n");
    assert_eq!(field, "dependencies.rabbitmq_management");
    assert!(msg.contains("no credentials"), "{msg}");
    let (_, msg) = message(
        "[dependencies]\nrabbitmq_management = { url = \"http://mq:15672\", username = \"u\" }\n",
    );
    assert!(msg.contains("both username and password"), "{msg}");
}

#[test]
fn dns_nameserver_and_names_are_checked() {
    let (field, msg) = message("[dependencies.dns]\nnameserver = \"dns.local\"\n");
    assert_eq!(field, "dependencies.dns.nameserver");
    assert!(msg.contains("expected an IP address"), "{msg}");
    let (field, _) = message("[dependencies.dns]\nnames = [\"bad name\"]\n");
    assert_eq!(field, "dependencies.dns.names");
    let ok = from_str(
        "[dependencies.dns]\nnameserver = \"127.0.0.1:5353\"\nnames = [\"app.test\"]\n",
        "t.toml",
    )
    .unwrap();
    let dns = ok.dependencies.dns.unwrap();
    assert_eq!(
        dns.nameserver_addr(),
        Some("127.0.0.1:5353".parse().unwrap())
    );
    assert_eq!(parse_nameserver("10.0.0.2").unwrap().port(), 53);
}

#[test]
fn starter_config_example_parses_when_uncommented() {
    let starter = include_str!("../../../config/readyprobe.toml");
    let start = starter.find("# [dependencies]").expect("example section");
    // The example block runs to the first blank line; later sections have their own prose.
    let example: String = starter[start..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("# ") && !l.starts_with("#   "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    let cfg = from_str(&example, "readyprobe.toml").expect("the example parses");
    let deps = cfg.dependencies;
    assert_eq!(deps.redis.map(|r| r.role), Some(RedisRole::Store));
    assert!(deps.postgres.is_some() && deps.mysql.is_some() && deps.rabbitmq.is_some());
    assert_eq!(
        deps.dns.map(|d| d.names),
        Some(vec!["app.example.com".to_string()])
    );
}

#[test]
fn cleartext_passwords_are_refused_unless_allowed() {
    let cfg = from_str("[dependencies]\npostgres = \"postgres://h/db\"\n", "t.toml").unwrap();
    assert!(!cfg.dependencies.allow_cleartext_password);
    let cfg = from_str(
        "[dependencies]\npostgres = \"postgres://h/db\"\nallow_cleartext_password = true\n",
        "t.toml",
    )
    .unwrap();
    assert!(cfg.dependencies.allow_cleartext_password);
    let (field, msg) = message("[dependencies]\nallow_cleartext_password = \"yes\"\n");
    assert_eq!(field, "dependencies.allow_cleartext_password");
    assert!(msg.contains("bool"), "{msg}");
}

#[test]
fn unknown_key_in_section_is_named() {
    let (field, msg) = message("[dependencies]\npostgress = \"postgres://h/db\"\n");
    assert_eq!(field, "dependencies.postgress");
    assert!(msg.contains("unknown field"), "{msg}");
}

#[test]
fn env_values_are_resolved_and_validated_with_the_field() {
    let cfg = from_str(
        "[dependencies]\npostgres = \"env:READYPROBE_TEST_UNSET_PG_URL\"\n",
        "t.toml",
    )
    .unwrap();
    let err = cfg.dependencies.resolve("t.toml").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("dependencies.postgres"), "{text}");
    assert!(
        text.contains("READYPROBE_TEST_UNSET_PG_URL is not set"),
        "{text}"
    );
    let (field, msg) = message("[dependencies]\nredis = \"env:\"\n");
    assert_eq!(field, "dependencies.redis");
    assert!(msg.contains("variable name"), "{msg}");
}

#[test]
fn secrets_include_raw_and_decoded_passwords() {
    let deps = DependenciesConfig {
        postgres: Some("postgres://app:p%40ss-word@db/app".into()),
        rabbitmq_management: Some(RabbitManagement {
            url: "http://mq:15672".into(),
            username: Some("admin".into()),
            password: Some("mgmt-secret".into()),
        }),
        rabbitmq: Some("amqp://u:amqp-secret@mq".into()),
        ..DependenciesConfig::default()
    };
    let secrets = deps.secrets();
    for s in ["p%40ss-word", "p@ss-word", "mgmt-secret", "amqp-secret"] {
        assert!(
            secrets.iter().any(|x| x == s),
            "{s} missing from {secrets:?}"
        );
    }
    let debug = format!("{deps:?}");
    assert!(
        !debug.contains("mgmt-secret") && !debug.contains("p%40ss"),
        "{debug}"
    );
    let guest = DependenciesConfig {
        rabbitmq: Some("amqp://guest:guest@mq".into()),
        ..DependenciesConfig::default()
    };
    assert!(guest.secrets().is_empty());
}
