//! The protocol readers fed byte by byte: what each lets through, holds back or cuts.

use super::mysql_wire::{
    MAX_MYSQL_AUTH_PACKET, MY_PLUGIN_AUTH, MY_SECURE_CONNECTION, MY_SSL, MyWire, handshake_plugin,
};
use super::pg_wire::PgWire;
use super::*;

fn pg_msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend(((body.len() + 4) as u32).to_be_bytes());
    m.extend(body);
    m
}

fn auth(code: u32) -> Vec<u8> {
    pg_msg(b'R', &code.to_be_bytes())
}

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
const STARTUP: [u8; 8] = [0, 0, 0, 40, 0, 3, 0, 0];

/// Feeds server bytes one at a time (the worst split) and returns the first refusal.
fn feed_bytewise(pg: &mut PgWire, bytes: &[u8]) -> Result<(), Cut> {
    for b in bytes {
        pg.server(std::slice::from_ref(b))?;
    }
    Ok(())
}

#[test]
fn postgres_cleartext_request_on_a_plain_connection_is_held_back() {
    let mut pg = PgWire::new(false);
    pg.client(&STARTUP);
    let mut answer = pg_msg(b'S', b"server_version\x0016\x00");
    answer.extend(auth(3));
    let err = pg.server(&answer).unwrap_err().to_string();
    assert!(err.contains("cleartext"), "{err}");
    // The same, split into single bytes.
    let mut pg = PgWire::new(false);
    pg.client(&STARTUP);
    assert!(feed_bytewise(&mut pg, &answer).is_err());
    // After SSLRequest → 'N' the connection is still plain.
    let mut pg = PgWire::new(false);
    pg.client(&SSL_REQUEST);
    let mut plain = vec![b'N'];
    plain.extend(auth(3));
    assert!(pg.server(&plain).is_err());
}

#[test]
fn postgres_cleartext_is_answered_when_allowed_or_encrypted() {
    let mut pg = PgWire::new(true);
    pg.client(&STARTUP);
    assert_eq!(pg.server(&auth(3)), Ok(()));
    // TLS accepted: what follows is ciphertext, never parsed.
    let mut pg = PgWire::new(false);
    pg.client(&SSL_REQUEST);
    assert_eq!(pg.server(b"S"), Ok(()));
    assert_eq!(pg.server(&auth(3)), Ok(()));
    assert_eq!(pg.server(&[0xff; 64]), Ok(()));
}

#[test]
fn postgres_scram_md5_and_ok_pass_and_later_messages_are_framed() {
    let mut pg = PgWire::new(false);
    pg.client(&STARTUP);
    let mut flow = pg_msg(
        b'R',
        &[&10u32.to_be_bytes()[..], b"SCRAM-SHA-256\x00\x00"].concat(),
    );
    flow.extend(auth(0));
    flow.extend(pg_msg(b'Z', b"I"));
    // After authentication, an 'R'-looking byte inside a body is not an auth request.
    flow.extend(pg_msg(b'D', &[0, 1, 0, 0, 0, 5, b'R', 0, 0, 0, 3]));
    assert_eq!(feed_bytewise(&mut pg, &flow), Ok(()));
    let mut md5 = PgWire::new(false);
    md5.client(&STARTUP);
    assert_eq!(md5.server(&pg_msg(b'R', &[0, 0, 0, 5, 1, 2, 3, 4])), Ok(()));
}

#[test]
fn postgres_oversized_or_impossible_messages_are_refused() {
    let mut pg = PgWire::new(false);
    pg.client(&STARTUP);
    let mut huge = vec![b'D'];
    huge.extend((100 * 1024 * 1024u32).to_be_bytes());
    let err = pg.server(&huge).unwrap_err().to_string();
    assert!(err.contains("over the 1024 KiB"), "{err}");
    let mut pg = PgWire::new(false);
    pg.client(&STARTUP);
    assert!(pg.server(&[b'E', 0, 0, 0, 2]).is_err());
    let mut pg = PgWire::new(false);
    pg.client(&STARTUP);
    assert!(
        pg.server(&pg_msg(b'R', &[]))
            .unwrap_err()
            .to_string()
            .contains("without a method")
    );
    let mut pg = PgWire::new(false);
    pg.client(&SSL_REQUEST);
    assert!(
        pg.server(b"\x9cgarbage")
            .unwrap_err()
            .to_string()
            .contains("0x9c")
    );
}

fn my_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
    p.extend(payload);
    p
}

/// A MariaDB-style initial handshake naming `plugin`.
fn handshake(plugin: &str, ssl: bool) -> Vec<u8> {
    let mut p = vec![10];
    p.extend(b"10.11.6-MariaDB\x00");
    p.extend(7u32.to_le_bytes());
    p.extend(b"abcdefgh\x00");
    let caps: u32 = 0x200 | MY_SECURE_CONNECTION | MY_PLUGIN_AUTH | if ssl { MY_SSL } else { 0 };
    p.extend((caps as u16).to_le_bytes());
    p.push(45);
    p.extend(2u16.to_le_bytes());
    p.extend(((caps >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend([0; 10]);
    p.extend(b"ijklmnopqrst\x00");
    p.extend(plugin.as_bytes());
    p.push(0);
    my_packet(0, &p)
}

fn server_all(my: &mut MyWire, bytes: &[u8]) -> Result<Vec<u8>, Cut> {
    let mut out = Vec::new();
    my.server(bytes, &mut out)?;
    Ok(out)
}

fn client_all(my: &mut MyWire, bytes: &[u8]) -> Result<Vec<u8>, Cut> {
    let mut out = Vec::new();
    for b in bytes {
        my.client(std::slice::from_ref(b), &mut out)?;
    }
    Ok(out)
}

#[test]
fn mysql_handshake_plugin_is_read_like_the_client_reads_it() {
    let h = handshake("caching_sha2_password", false);
    assert_eq!(
        handshake_plugin(&h[4..]).unwrap().as_deref(),
        Some(&b"caching_sha2_password"[..])
    );
    for cut in [5, 10, 20, 40, h.len() - 6] {
        assert!(handshake_plugin(&h[4..cut]).is_err(), "cut at {cut}");
    }
    let mut my = MyWire::new(false);
    let err = server_all(&mut my, &my_packet(0, &h[4..30]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("malformed"), "{err}");
}

#[test]
fn mysql_clear_password_response_is_withheld_on_a_plain_connection() {
    let mut my = MyWire::new(false);
    let h = handshake("mysql_clear_password", true);
    assert_eq!(server_all(&mut my, &h).unwrap(), h);
    // The handshake response would carry the password: nothing of it is forwarded.
    let mut response = vec![0x05, 0xa2, 0x0a, 0x00];
    response.extend([0u8; 28]);
    response.extend(b"app\x00s3cret\x00mysql_clear_password\x00");
    let packet = my_packet(1, &response);
    let mut out = Vec::new();
    let err = packet
        .iter()
        .try_for_each(|b| my.client(std::slice::from_ref(b), &mut out))
        .unwrap_err()
        .to_string();
    assert!(err.contains("mysql_clear_password"), "{err}");
    assert!(out.is_empty(), "forwarded {out:?}");
}

#[test]
fn mysql_clear_password_inside_tls_or_when_allowed_passes() {
    let h = handshake("mysql_clear_password", true);
    let mut ssl_request = (MY_SSL | 0x200 | MY_PLUGIN_AUTH).to_le_bytes().to_vec();
    ssl_request.extend([0u8; 28]);
    let mut my = MyWire::new(false);
    server_all(&mut my, &h).unwrap();
    let sent = my_packet(1, &ssl_request);
    assert_eq!(client_all(&mut my, &sent).unwrap(), sent);
    assert!(my.encrypted);
    assert_eq!(
        client_all(&mut my, &[0x16, 3, 1]).unwrap(),
        vec![0x16, 3, 1]
    );
    let mut allowed = MyWire::new(true);
    server_all(&mut allowed, &h).unwrap();
    let response = my_packet(1, &[0u8; 40]);
    assert_eq!(client_all(&mut allowed, &response).unwrap(), response);
}

#[test]
fn mysql_switch_to_clear_password_and_switch_loops_are_refused() {
    let mut my = MyWire::new(false);
    server_all(&mut my, &handshake("mysql_native_password", false)).unwrap();
    let response = my_packet(1, &[0u8; 40]);
    assert_eq!(client_all(&mut my, &response).unwrap(), response);
    server_all(&mut my, &my_packet(2, b"\xfemysql_clear_password\x00")).unwrap();
    assert!(client_all(&mut my, &my_packet(3, b"s3cret\x00")).is_err());

    let mut looping = MyWire::new(false);
    server_all(&mut looping, &handshake("mysql_native_password", false)).unwrap();
    let switch = my_packet(2, b"\xfemysql_native_password\x00abcdefghijabcdefghij\x00");
    let mut last = Ok(Vec::new());
    for _ in 0..=MAX_AUTH_SWITCHES {
        last = server_all(&mut looping, &switch);
    }
    assert!(last.unwrap_err().to_string().contains("switch"));
}

#[test]
fn mysql_after_ok_is_passed_through() {
    let mut my = MyWire::new(false);
    server_all(&mut my, &handshake("mysql_native_password", false)).unwrap();
    client_all(&mut my, &my_packet(1, &[0u8; 40])).unwrap();
    server_all(&mut my, &my_packet(2, &[0, 0, 0, 2, 0, 0, 0])).unwrap();
    assert!(my.done);
    // A result set bigger than the auth-phase packet limit is fine now.
    let big = my_packet(1, &vec![b'x'; MAX_MYSQL_AUTH_PACKET + 10]);
    assert_eq!(server_all(&mut my, &big).unwrap().len(), big.len());
}
