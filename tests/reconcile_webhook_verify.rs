//! `payrun webhook verify`: one payload on stdin (BlockATM headers as `--signature`/`--time`),
//! exit 0 when genuine and 1 when not, for both gateways. Genuine payloads are the sandbox's
//! own webhook format signed with the library's signing side; forged ones are tampered here.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Output, Stdio};

use common::*;
use payrun::gateway::webhook::{
    sign_blockatm_webhook, signed_2328_webhook_body, signed_2328_webhook_body_with, Encoding2328,
};
use serde_json::{json, Map, Value};

fn verify(env: &HashMap<String, String>, extra: &[&str], body: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["webhook", "verify"];
    args.extend_from_slice(extra);
    let mut child = payrun(dir.path(), env, &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    child.wait_with_output().unwrap()
}

fn env_2328() -> HashMap<String, String> {
    HashMap::from([
        ("PAYRUN_GATEWAY".to_string(), "2328".to_string()),
        ("PAYRUN_API_KEY".to_string(), KEY_2328.to_string()),
    ])
}

fn env_blockatm() -> HashMap<String, String> {
    HashMap::from([
        ("PAYRUN_GATEWAY".to_string(), "blockatm".to_string()),
        ("PAYRUN_API_KEY".to_string(), API_KEY.to_string()),
        ("PAYRUN_API_SECRET".to_string(), SECRET.to_string()),
    ])
}

fn payload_2328() -> Map<String, Value> {
    let v = json!({
        "uuid": "019dff1f-0dbd-7277-8d45-271e7775388f",
        "order_id": "pay-4dfdcc84402b1185",
        "status": "completed",
        "currency": "USDT",
        "network": "TRX-TRC20",
        "amount": "10.01",
        "merchant_amount": "10.01",
        "network_amount": "8.51",
        "amount_usd": "10.01",
        "to_address": tron_address(1),
        "memo": null,
        "txid": "9242e533703704ef3eaba840f70b4a26333e72c943377ee375fea17badb53def",
        "block_number": 1001,
        "error_type": null,
        "created_at": "2026-05-07T00:08:38+00:00",
        "updated_at": "2026-05-07T00:08:54+00:00",
        "from_currency": null,
        "debited_amount": null,
        "debited_currency": null,
        "explorer_url": "https://tronscan.org/#/transaction/9242e533",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn verify_2328_genuine_exits_0_and_forged_exits_1() {
    let env = env_2328();
    let payload = payload_2328();
    let genuine = signed_2328_webhook_body(KEY_2328, &payload);
    let o = verify(&env, &[], &genuine);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("pay-4dfdcc84402b1185"),
        "{}",
        text(&o)
    );
    let php = signed_2328_webhook_body_with(KEY_2328, &payload, Encoding2328::PHP_DEFAULT);
    assert!(String::from_utf8_lossy(&php).contains(r"\/"));
    let o = verify(&env, &["--json"], &php);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(v["valid"], true);
    assert_eq!(v["status"], "completed");

    let text_genuine = String::from_utf8(genuine.clone()).unwrap();
    let forged: Vec<(&str, Vec<u8>)> = vec![
        (
            "altered amount",
            text_genuine
                .replace("\"amount\":\"10.01\"", "\"amount\":\"1001.00\"")
                .into_bytes(),
        ),
        (
            "wrong key",
            signed_2328_webhook_body("another-key", &payload),
        ),
        ("unsigned", serde_json::to_vec(&payload).unwrap()),
        ("empty", Vec::new()),
    ];
    for (what, body) in &forged {
        assert_ne!(body, &genuine, "{what}");
        let o = verify(&env, &[], body);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
        let o = verify(&env, &["--json"], body);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
        let v: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
        assert_eq!(v["valid"], false, "{what}");
    }
    // Genuine for one key is forged for another.
    let mut other = env.clone();
    other.insert("PAYRUN_API_KEY".into(), "another-key".into());
    let o = verify(&other, &[], &genuine);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn verify_blockatm_genuine_exits_0_and_forged_exits_1() {
    let env = env_blockatm();
    let body = serde_json::to_vec(&json!({
        "custNo": "86000000",
        "bizOrderNo": "pay-77aa",
        "id": "1900001",
        "symbol": "USDT",
        "amount": "10.01",
        "status": "SUCCESS",
        "txId": "0xabc",
        "network": "TRX-TRC20",
        "chainId": null,
        "fromAddress": "sandbox-contract",
        "toAddress": tron_address(3),
        "fee": "1",
        "gasAmount": "0.5",
        "type": 1,
        "createTime": 1742723373000u64,
        "contractId": "TEST-CONTRACT",
        "blockTime": 1742723399000u64,
    }))
    .unwrap();
    let time = "1742723400000";
    let sig = sign_blockatm_webhook(SECRET, &body, time);
    let o = verify(&env, &["--signature", &sig, "--time", time], &body);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("pay-77aa"),
        "{}",
        text(&o)
    );

    let altered = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"amount\":\"10.01\"", "\"amount\":\"1001\"")
        .into_bytes();
    assert_ne!(altered, body);
    let wrong = sign_blockatm_webhook("wrong-secret", &body, time);
    for (what, b, s, t) in [
        ("altered amount", &altered, sig.as_str(), time),
        ("wrong secret", &body, wrong.as_str(), time),
        ("another time", &body, sig.as_str(), "1742723400001"),
    ] {
        let o = verify(&env, &["--signature", s, "--time", t], b);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
    }
    // The gateway chosen by flag instead of the environment.
    let mut by_flag = env.clone();
    by_flag.remove("PAYRUN_GATEWAY");
    let o = verify(
        &by_flag,
        &["--gateway", "blockatm", "--signature", &sig, "--time", time],
        &body,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A 2328-style body "signed" with the BlockATM API key (no signing secret) is not genuine.
    let as_2328 = signed_2328_webhook_body(API_KEY, &payload_2328());
    let o = verify(&env, &["--signature", &sig, "--time", time], &as_2328);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Without the headers the command cannot judge: a usage error, not a verdict.
    let o = verify(&env, &[], &body);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Nor without the secret key: a configuration to fix, not a forged delivery.
    let mut no_secret = env.clone();
    no_secret.remove("PAYRUN_API_SECRET");
    let o = verify(&no_secret, &["--signature", &sig, "--time", time], &body);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("PAYRUN_API_SECRET is not set"),
        "{}",
        text(&o)
    );
}
