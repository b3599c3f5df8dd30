//! The Python request sample from the 2328 seed document (its signing code kept verbatim;
//! httpx swapped for urllib when httpx is missing) must be accepted by the sandbox.
//! Skipped, with a note, when python3 is not installed.

mod sandbox_support;

use std::process::Command;

use sandbox_support::*;

const SAMPLE: &str = r#"
import json
import hmac
import hashlib
import base64
import sys
import urllib.request


def api_sign(body: str, api_key: str) -> str:
    b64 = base64.b64encode(body.encode("utf-8")).decode()
    return hmac.new(api_key.encode(), b64.encode(), hashlib.sha256).hexdigest()


BASE_URL, PROJECT_UUID, PAYOUT_API_KEY = sys.argv[1], sys.argv[2], sys.argv[3]

data = {
    "currency":     "TRX",
    "network":      "TRX-TRC20",
    "amount":       "1.00",
    "to_address":   "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    "order_id":     "9ed25264-8be4-439f-acf5-2a8732538d27",
    "url_callback": "https://your-site.com/webhook/payout",
    "memo":         None,
    "fee_option":   "deduct",
}

body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
sign = api_sign(body, PAYOUT_API_KEY)

r = urllib.request.Request(
    BASE_URL + "/v1/payout",
    headers={
        "Content-Type": "application/json",
        "User-Agent":   "MyShop/1.0 (+https://myshop.example)",
        "project":      PROJECT_UUID,
        "sign":         sign,
    },
    data=body.encode("utf-8"),
    method="POST",
)
with urllib.request.urlopen(r) as resp:
    print(resp.read().decode("utf-8"))
"#;

#[test]
fn the_seed_python_sample_is_accepted() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("note: python3 not found; skipping the seed Python sample test");
        return;
    }
    let sb = start(quiet());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("sample.py");
    std::fs::write(&script, SAMPLE).unwrap();
    let cfg = sb.config();
    let out = Command::new("python3")
        .arg(&script)
        .arg(sb.base_url_2328())
        .arg(&cfg.project)
        .arg(&cfg.payout_key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], 0, "{v}");
    assert_eq!(
        v["result"]["order_id"],
        "9ed25264-8be4-439f-acf5-2a8732538d27"
    );
    // The seed's own example answer: merchant_amount 1, network_amount 0.89.
    assert_eq!(v["result"]["merchant_amount"], "1");
    assert_eq!(v["result"]["network_amount"], "0.89");
    let payouts = sb.payouts();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0].currency, "TRX");
    assert_eq!(
        payouts[0].url_callback.as_deref(),
        Some("https://your-site.com/webhook/payout")
    );
}
