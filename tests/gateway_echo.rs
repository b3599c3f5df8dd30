//! Echo checks end to end: the real clients (`Client2328`, `BlockAtmClient`) against the
//! embedded sandbox. Without faults every answer (create, repeat, batch item, status / detail,
//! webhook) agrees with what was sent; with each `lie=FIELD` fault the decoded state differs
//! from the request in that field and `echo::compare` names exactly that field, while the
//! sandbox still stored the truth; with `foreign` the answer is an earlier payout that
//! `created_before` catches. A gateway (or mock) that agrees with everything would fail here.

mod common;
mod sandbox_support;

use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use common::*;
use payrun::gateway::echo::{self, compare, created_before, Expect, CREATED_TOLERANCE};
use payrun::gateway::webhook::{
    verify_2328_webhook, verify_blockatm_webhook_with, BlockAtmWebhookCheck, WebhookError,
};
use payrun::gateway::{
    AnswerKind, BlockAtmClient, Client2328, Gateway, GatewayError, HttpSettings, PayoutRequest,
    PayoutState, PayoutType,
};
use payrun::model::{FeeOption, OrderId, Status};
use payrun::sandbox::faults::{FaultRule, FOREIGN_REMARK};
use payrun::sandbox::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;
use sandbox_support::{eventually, receiver};

const TON_FRIENDLY: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";

fn req(id: &str, n: u32) -> PayoutRequest {
    PayoutRequest {
        order_id: OrderId(id.into()),
        currency: "USDT".into(),
        network: "TRX-TRC20".into(),
        amount: Decimal::from_str("12.50").unwrap(),
        to_address: tron_address(n),
        memo: None,
        fee_option: FeeOption::Deduct,
        from_currency: None,
        remark: None,
        url_callback: None,
    }
}

/// A TON payout with a memo (2328 only).
fn ton_req(id: &str) -> PayoutRequest {
    PayoutRequest {
        network: "TON".into(),
        to_address: TON_FRIENDLY.into(),
        memo: Some("4711".into()),
        amount: Decimal::from_str("5.000").unwrap(),
        ..req(id, 0)
    }
}

fn settings(base: String) -> HttpSettings {
    let mut s = HttpSettings::new(base);
    s.request_timeout = Duration::from_secs(5);
    s
}

fn c2328(sb: &Sandbox) -> Client2328 {
    let c = sb.config();
    Client2328::new(settings(sb.base_url_2328()), c.project, c.payout_key).unwrap()
}

fn cbatm(sb: &Sandbox) -> BlockAtmClient {
    let c = sb.config();
    BlockAtmClient::new(
        settings(sb.base_url_blockatm()),
        c.api_key,
        c.secret,
        c.contract_id,
        PayoutType::Balance,
        None,
    )
    .unwrap()
}

fn expect_blockatm(sb: &Sandbox) -> Expect {
    Expect::blockatm(sb.config().contract_id)
}

fn fields(state: &PayoutState, r: &PayoutRequest, expect: &Expect) -> Vec<&'static str> {
    compare(r, state, expect).iter().map(|m| m.field).collect()
}

fn lie(field: &str, path: Option<&str>) -> Vec<FaultRule> {
    let spec = match path {
        Some(p) => format!("lie={field}@{p}"),
        None => format!("lie={field}"),
    };
    vec![FaultRule::parse(&spec).unwrap()]
}

/// The sandbox stored the request's own values: the lie is only in the answer.
fn stored_truth(sb: &Sandbox, r: &PayoutRequest) {
    let p = sb
        .payouts()
        .into_iter()
        .find(|p| p.order_id == r.order_id.0)
        .expect("stored");
    assert_eq!(p.amount, r.amount);
    assert_eq!(p.address, r.to_address);
    assert_eq!(p.currency, r.currency);
    assert_eq!(p.memo, r.memo);
}

/// The decoded echo differs from the request in `field`.
fn echo_differs(state: &PayoutState, r: &PayoutRequest, field: &str) {
    let e = &state.echo;
    let differs = match field {
        "amount" => e.amount != Some(r.amount),
        "to_address" => e.to_address.as_deref() != Some(r.to_address.as_str()),
        "currency" => e.currency.as_deref() != Some(r.currency.as_str()),
        "network" => e.network.as_deref() != Some(r.network.as_str()),
        "memo" => e.memo != r.memo,
        "contract_id" => e.contract_id.is_some(),
        other => panic!("{other}"),
    };
    assert!(differs, "{field}: {e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_faults_every_2328_answer_agrees() {
    let sb = start(sandbox_config());
    let c = c2328(&sb);
    let x = Expect::g2328();
    let intent = Utc::now();
    for r in [req("e-1", 1), ton_req("e-ton")] {
        let created = c.create(&r).await.unwrap();
        assert_eq!(created.echo.answer, Some(AnswerKind::Create2328));
        assert_eq!(compare(&r, &created, &x), vec![], "{:?}", created.echo);
        assert_eq!(created_before(&created, intent, CREATED_TOLERANCE), None);
        let again = c.create(&r).await.unwrap();
        assert_eq!(compare(&r, &again, &x), vec![]);
        let status = c
            .lookup(&r.order_id, created.gateway_id.as_ref())
            .await
            .unwrap();
        assert_eq!(status.echo.answer, Some(AnswerKind::Status2328));
        assert_eq!(compare(&r, &status, &x), vec![]);
        assert_eq!(created_before(&status, intent, CREATED_TOLERANCE), None);
    }
    // The TON memo and address came back as sent.
    let ton = c.create(&ton_req("e-ton")).await.unwrap();
    assert_eq!(ton.echo.memo.as_deref(), Some("4711"));
    assert_eq!(ton.echo.to_address.as_deref(), Some(TON_FRIENDLY));
    // Settled: still the same payout.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = req("e-1", 1);
    let first = c.create(&r).await.unwrap();
    let done = c
        .lookup(&r.order_id, first.gateway_id.as_ref())
        .await
        .unwrap();
    assert_eq!(done.status, Status::Completed);
    assert_eq!(compare(&r, &done, &x), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_faults_every_blockatm_answer_agrees() {
    let sb = start(sandbox_config());
    let c = cbatm(&sb);
    let x = expect_blockatm(&sb);
    let intent = Utc::now();
    let r = req("b-1", 1);
    let created = c.create(&r).await.unwrap();
    assert_eq!(created.echo.answer, Some(AnswerKind::CreateBlockAtm));
    assert_eq!(compare(&r, &created, &x), vec![]);
    assert_eq!(created_before(&created, intent, CREATED_TOLERANCE), None);
    let batch: Vec<PayoutRequest> = (2..5).map(|i| req(&format!("b-{i}"), i)).collect();
    let items = c.create_batch(&batch).await.unwrap();
    assert_eq!(items.len(), 3);
    for ((id, outcome), r) in items.iter().zip(&batch) {
        assert_eq!(id, &r.order_id);
        let s = outcome.as_ref().unwrap();
        assert_eq!(s.echo.answer, Some(AnswerKind::BatchItemBlockAtm));
        assert_eq!(compare(r, s, &x), vec![]);
        assert_eq!(created_before(s, intent, CREATED_TOLERANCE), None);
    }
    for r in std::iter::once(&r).chain(&batch) {
        let d = c.lookup(&r.order_id, None).await.unwrap();
        assert_eq!(d.echo.answer, Some(AnswerKind::DetailBlockAtm));
        assert_eq!(d.echo.contract_id.as_deref(), Some("TEST-CONTRACT"));
        assert_eq!(compare(r, &d, &x), vec![], "{:?}", d.echo);
        assert_eq!(created_before(&d, intent, CREATED_TOLERANCE), None);
    }
    // Another account's contract is caught on a detail.
    let d = c.lookup(&r.order_id, None).await.unwrap();
    let m = compare(&r, &d, &Expect::blockatm("MY-OTHER-CONTRACT"));
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].to_string(),
        "contract_id: sent MY-OTHER-CONTRACT, answered TEST-CONTRACT"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_2328_lie_is_reported_as_exactly_that_field() {
    let sb = start(sandbox_config());
    let c = c2328(&sb);
    let x = Expect::g2328();
    for (n, (spec, field)) in [
        ("amount", "amount"),
        ("address", "to_address"),
        ("currency", "currency"),
        ("network", "network"),
        ("memo", "memo"),
    ]
    .into_iter()
    .enumerate()
    {
        for r in [
            req(&format!("l-{spec}"), n as u32 + 10),
            ton_req(&format!("t-{spec}")),
        ] {
            sb.set_faults(lie(spec, Some("/v1/payout")));
            let created = c.create(&r).await.unwrap();
            echo_differs(&created, &r, field);
            let m = compare(&r, &created, &x);
            assert_eq!(
                m.iter().map(|m| m.field).collect::<Vec<_>>(),
                [field],
                "{spec}: {m:?}"
            );
            let status = c
                .lookup(&r.order_id, created.gateway_id.as_ref())
                .await
                .unwrap();
            assert_eq!(fields(&status, &r, &x), [field], "{spec} status");
            stored_truth(&sb, &r);
            // Once the lie stops, the same payout agrees again.
            sb.set_faults(Vec::new());
            let honest = c
                .lookup(&r.order_id, created.gateway_id.as_ref())
                .await
                .unwrap();
            assert_eq!(compare(&r, &honest, &x), vec![], "{spec}");
        }
    }
    // The message names what was sent and what was answered.
    sb.set_faults(lie("amount", None));
    let mut r = req("l-msg", 30);
    r.amount = Decimal::from_str("2007.01").unwrap();
    let s = c.create(&r).await.unwrap();
    assert_eq!(
        echo::describe(&compare(&r, &s, &x)),
        "amount: sent 2007.01, answered 999999.00"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_blockatm_lie_is_reported_as_exactly_that_field() {
    let sb = start(sandbox_config());
    let c = cbatm(&sb);
    let x = expect_blockatm(&sb);
    let mut n = 100;
    for (spec, field) in [
        ("amount", "amount"),
        ("address", "to_address"),
        ("symbol", "currency"),
        ("memo", "memo"),
        ("contract", "contract_id"),
    ] {
        sb.set_faults(lie(spec, None));
        n += 1;
        let single = req(&format!("s-{spec}"), n);
        let created = c.create(&single).await.unwrap();
        echo_differs(&created, &single, field);
        assert_eq!(fields(&created, &single, &x), [field], "{spec} create");
        let batch: Vec<PayoutRequest> = (0..2)
            .map(|i| {
                n += 1;
                req(&format!("m-{spec}-{i}"), n)
            })
            .collect();
        for ((_, outcome), r) in c.create_batch(&batch).await.unwrap().iter().zip(&batch) {
            let s = outcome.as_ref().unwrap();
            echo_differs(s, r, field);
            assert_eq!(fields(s, r, &x), [field], "{spec} batch item");
        }
        for r in std::iter::once(&single).chain(&batch) {
            let d = c.lookup(&r.order_id, None).await.unwrap();
            echo_differs(&d, r, field);
            assert_eq!(fields(&d, r, &x), [field], "{spec} detail");
            stored_truth(&sb, r);
        }
        sb.set_faults(Vec::new());
        let d = c.lookup(&single.order_id, None).await.unwrap();
        assert_eq!(compare(&single, &d, &x), vec![], "{spec}");
    }
    // BlockATM has no per-order network: a lie about it is carried but never compared.
    sb.set_faults(lie("network", None));
    let r = req("s-network", 200);
    c.create(&r).await.unwrap();
    let d = c.lookup(&r.order_id, None).await.unwrap();
    assert_eq!(d.echo.network.as_deref(), Some("BSC-BEP20"));
    assert_eq!(compare(&r, &d, &x), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_item_refused_as_a_duplicate_is_a_duplicate() {
    let sb = start(sandbox_config());
    let c = cbatm(&sb);
    c.create(&req("dup-1", 1)).await.unwrap();
    let items = c
        .create_batch(&[req("dup-1", 1), req("dup-2", 2)])
        .await
        .unwrap();
    match &items[0].1 {
        Err(GatewayError::Duplicate { code, .. }) => assert_eq!(code, "000106"),
        other => panic!("{other:?}"),
    }
    assert!(items[1].1.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_lies_are_signed_and_still_caught() {
    let (url, got) = receiver(0).await;
    let sb = start(sandbox_config());
    let c = c2328(&sb);
    let key = sb.config().payout_key;
    let x = Expect::g2328();
    // Honest first, then one lie per field, each on its own payout's webhook only.
    let cases = [
        (None, None),
        (Some("amount"), Some("amount")),
        (Some("address"), Some("to_address")),
        (Some("currency"), Some("currency")),
        (Some("network"), Some("network")),
        (Some("memo"), Some("memo")),
    ];
    for (i, (spec, field)) in cases.into_iter().enumerate() {
        sb.set_faults(spec.map_or_else(Vec::new, |s| lie(s, Some("/webhook"))));
        let mut r = req(&format!("w-{i}"), 300 + i as u32);
        r.url_callback = Some(url.clone());
        let created = c.create(&r).await.unwrap();
        assert_eq!(
            compare(&r, &created, &x),
            vec![],
            "API answers are not lied about"
        );
        let want = i + 1;
        assert!(
            eventually(Duration::from_secs(5), || got.lock().unwrap().len() >= want).await,
            "webhook {i}"
        );
        let body = got.lock().unwrap()[i].body.clone();
        let w = verify_2328_webhook(&key, &body).expect("genuinely signed");
        assert_eq!(w.state.echo.answer, Some(AnswerKind::Webhook2328));
        assert_eq!(w.state.order_id, r.order_id);
        match field {
            None => assert_eq!(compare(&r, &w.state, &x), vec![]),
            Some(f) => {
                echo_differs(&w.state, &r, f);
                assert_eq!(fields(&w.state, &r, &x), [f], "{spec:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn blockatm_webhook_lies_and_contract_check() {
    let (url, got) = receiver(0).await;
    let sb = start(SandboxConfig {
        blockatm_callback: Some(url),
        ..sandbox_config()
    });
    let c = cbatm(&sb);
    let cfg = sb.config();
    let x = expect_blockatm(&sb);
    let cases = [
        (None, None),
        (Some("amount"), Some("amount")),
        (Some("address"), Some("to_address")),
        (Some("symbol"), Some("currency")),
        (Some("contract"), Some("contract_id")),
    ];
    for (i, (spec, field)) in cases.into_iter().enumerate() {
        sb.set_faults(spec.map_or_else(Vec::new, |s| lie(s, Some("/webhook/blockatm"))));
        let r = req(&format!("bw-{i}"), 400 + i as u32);
        let created = c.create(&r).await.unwrap();
        assert_eq!(compare(&r, &created, &x), vec![]);
        let want = i + 1;
        assert!(
            eventually(Duration::from_secs(5), || got.lock().unwrap().len() >= want).await,
            "webhook {i}"
        );
        let hook = got.lock().unwrap()[i].clone();
        let header = |n: &str| hook.headers.get(n).unwrap().to_str().unwrap().to_string();
        let (time, sig) = (
            header("BlockATM-Request-Time"),
            header("BlockATM-Signature-V2"),
        );
        let loose = BlockAtmWebhookCheck::live(None);
        let w = verify_blockatm_webhook_with(&cfg.secret, &hook.body, &time, &sig, &loose)
            .expect("genuinely signed, within the window");
        assert_eq!(w.state.echo.answer, Some(AnswerKind::WebhookBlockAtm));
        match field {
            None => assert_eq!(compare(&r, &w.state, &x), vec![]),
            Some(f) => {
                echo_differs(&w.state, &r, f);
                assert_eq!(fields(&w.state, &r, &x), [f], "{spec:?}");
            }
        }
        // The verifier itself refuses another contract when told the account's.
        let strict = BlockAtmWebhookCheck::live(Some(cfg.contract_id.clone()));
        let verdict = verify_blockatm_webhook_with(&cfg.secret, &hook.body, &time, &sig, &strict);
        if field == Some("contract_id") {
            assert!(
                matches!(verdict, Err(WebhookError::ContractMismatch { .. })),
                "{verdict:?}"
            );
        } else {
            assert!(verdict.is_ok(), "{verdict:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_2328_payout_is_caught() {
    let sb = start(sandbox_config());
    let c = c2328(&sb);
    let x = Expect::g2328();
    sb.set_faults(vec![FaultRule::parse("foreign=times:1").unwrap()]);
    let intent = Utc::now();
    let r = req("f-1", 1);
    let s = c.create(&r).await.unwrap();
    assert_eq!(s.status, Status::Completed, "held long ago, already paid");
    assert_eq!(fields(&s, &r, &x), ["to_address", "amount"]);
    let why = created_before(&s, intent, CREATED_TOLERANCE).expect("an earlier payout");
    assert!(
        why.starts_with("the gateway already had a payout with this order id, created"),
        "{why}"
    );
    assert!(why.contains("30 days before"), "{why}");
    // Nothing new was created; the held payout is what the gateway keeps answering.
    let held: Vec<_> = sb
        .payouts()
        .into_iter()
        .filter(|p| p.order_id == "f-1")
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].remark.as_deref(), Some(FOREIGN_REMARK));
    let again = c.create(&r).await.unwrap();
    assert_eq!(again.gateway_id, s.gateway_id);
    assert!(created_before(&again, intent, CREATED_TOLERANCE).is_some());
    let status = c.lookup(&r.order_id, s.gateway_id.as_ref()).await.unwrap();
    assert_eq!(fields(&status, &r, &x), ["to_address", "amount"]);
    // An honest order created now is fresh.
    let fresh = c.create(&req("f-2", 2)).await.unwrap();
    assert_eq!(created_before(&fresh, intent, CREATED_TOLERANCE), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_blockatm_payout_is_caught() {
    let sb = start(sandbox_config());
    let c = cbatm(&sb);
    let x = expect_blockatm(&sb);
    let intent = Utc::now();
    sb.set_faults(vec![FaultRule::parse("foreign").unwrap()]);
    // A create answer carries nothing but ids and a time: only the time gives it away.
    let r = req("fb-1", 1);
    let s = c.create(&r).await.unwrap();
    assert_eq!(compare(&r, &s, &x), vec![]);
    let why = created_before(&s, intent, CREATED_TOLERANCE).expect("an earlier payout");
    assert!(why.contains("30 days before"), "{why}");
    let batch = [req("fb-2", 2), req("fb-3", 3)];
    for (_, outcome) in c.create_batch(&batch).await.unwrap() {
        let s = outcome.unwrap();
        assert!(created_before(&s, intent, CREATED_TOLERANCE).is_some());
    }
    // The detail shows the rest.
    sb.set_faults(Vec::new());
    for r in std::iter::once(&r).chain(&batch) {
        let d = c.lookup(&r.order_id, None).await.unwrap();
        assert_eq!(fields(&d, r, &x), ["to_address", "amount"]);
        assert!(created_before(&d, intent, CREATED_TOLERANCE).is_some());
    }
    // A detail under the fault for an order never sent is answered with a held payout too.
    sb.set_faults(vec![FaultRule::parse("foreign@/payout/detail").unwrap()]);
    let d = c.lookup(&OrderId("fb-never".into()), None).await.unwrap();
    assert!(created_before(&d, intent, CREATED_TOLERANCE).is_some());
}
