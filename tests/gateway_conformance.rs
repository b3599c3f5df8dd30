//! Conformance: each real client against the embedded sandbox over loopback HTTP, for every
//! call, and every injected fault mapped to the typed error the caller acts on.

mod common;

use std::str::FromStr;
use std::time::Duration;

use common::*;
use payrun::gateway::{
    BlockAtmClient, Client2328, Gateway, GatewayError, HttpSettings, PayoutRequest, PayoutType,
};
use payrun::model::{FeeOption, OrderId, Status};
use payrun::sandbox::faults::{FaultKind, FaultRule};
use payrun::sandbox::Sandbox;
use rust_decimal::Decimal;

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

fn settings(base: String, timeout_ms: u64) -> HttpSettings {
    let mut s = HttpSettings::new(base);
    s.request_timeout = Duration::from_millis(timeout_ms);
    s
}

fn c2328(sb: &Sandbox, key: &str, timeout_ms: u64) -> Client2328 {
    Client2328::new(
        settings(sb.base_url_2328(), timeout_ms),
        sb.config().project,
        key.into(),
    )
    .unwrap()
}

fn cbatm(sb: &Sandbox, secret: &str, timeout_ms: u64) -> BlockAtmClient {
    let c = sb.config();
    BlockAtmClient::new(
        settings(sb.base_url_blockatm(), timeout_ms),
        c.api_key,
        secret.into(),
        c.contract_id,
        PayoutType::Balance,
        None,
    )
    .unwrap()
}

/// A fault, the error predicate it must produce, and whether the sandbox applied the create.
type Case = (FaultKind, fn(&GatewayError) -> bool, bool);

fn fault(kind: FaultKind) -> Vec<FaultRule> {
    vec![FaultRule {
        kind,
        path_contains: None,
        every: 1,
        remaining: Some(1),
    }]
}

#[tokio::test(flavor = "multi_thread")]
async fn client_2328_every_call() {
    let sb = start(sandbox_config());
    let c = c2328(&sb, KEY_2328, 5000);
    let q = c.calc(&req("calc-1", 1)).await.unwrap();
    assert_eq!(q.merchant_amount, Decimal::from_str("12.50").unwrap());
    assert!(q.total_fee > Decimal::ZERO);
    assert!(sb.payouts().is_empty(), "calc stores nothing");
    let a = c.create(&req("o-1", 1)).await.unwrap();
    assert_eq!(a.status, Status::Pending);
    let b = c.create(&req("o-1", 1)).await.unwrap();
    assert_eq!(a.gateway_id, b.gateway_id, "same order_id, same payout");
    assert_eq!(sb.payouts().len(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let s = c
        .lookup(&OrderId("o-1".into()), a.gateway_id.as_ref())
        .await
        .unwrap();
    assert_eq!(s.status, Status::Completed);
    assert!(s.txid.is_some());
    assert!(matches!(
        c.lookup(&OrderId("o-1".into()), None).await,
        Err(GatewayError::Unsupported(_))
    ));
    assert!(!c.balance().await.unwrap().is_empty());
    assert!(matches!(
        c.create_batch(&[req("x", 2)]).await,
        Err(GatewayError::Unsupported(_))
    ));
    let bad = c2328(&sb, "wrong-key", 5000);
    assert!(matches!(
        bad.create(&req("o-2", 2)).await,
        Err(GatewayError::Auth { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_blockatm_every_call() {
    let sb = start(sandbox_config());
    let c = cbatm(&sb, SECRET, 5000);
    assert!(matches!(
        c.calc(&req("c", 1)).await,
        Err(GatewayError::Unsupported(_))
    ));
    assert!(matches!(
        c.lookup(&OrderId("nope".into()), None).await,
        Err(GatewayError::NotFound { .. })
    ));
    let s = c.create(&req("b-1", 1)).await.unwrap();
    assert!(s.status == Status::Pending || s.status == Status::Completed);
    assert!(matches!(
        c.create(&req("b-1", 1)).await,
        Err(GatewayError::Duplicate { .. })
    ));
    let items = c
        .create_batch(&[req("b-2", 2), req("b-3", 3)])
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(sb.payouts().len(), 3);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let d = c.lookup(&OrderId("b-2".into()), None).await.unwrap();
    assert_eq!(d.status, Status::Completed);
    let bad = cbatm(&sb, "wrong-secret", 5000);
    assert!(matches!(
        bad.create(&req("b-9", 9)).await,
        Err(GatewayError::Auth { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fault_kind_maps_to_its_typed_error() {
    let sb = start(sandbox_config());
    let c = c2328(&sb, KEY_2328, 800);
    let b = cbatm(&sb, SECRET, 800);
    let cases: Vec<Case> = vec![
        (
            FaultKind::Error5xx,
            |e| matches!(e, GatewayError::Unavailable { .. }),
            false,
        ),
        (
            FaultKind::Burst429(1),
            |e| {
                matches!(
                    e,
                    GatewayError::RateLimited {
                        retry_after: Some(_)
                    }
                )
            },
            false,
        ),
        (
            FaultKind::ApplyThenDrop,
            |e| matches!(e, GatewayError::Ambiguous { .. }),
            true,
        ),
        (
            FaultKind::ApplyThenLate(Duration::from_millis(2000)),
            |e| matches!(e, GatewayError::Ambiguous { .. }),
            true,
        ),
        (
            FaultKind::Malformed,
            |e| matches!(e, GatewayError::Ambiguous { .. }),
            true,
        ),
    ];
    for (i, (kind, expected, applied)) in cases.into_iter().enumerate() {
        let before = sb.payouts().len();
        sb.set_faults(fault(kind.clone()));
        let e = c
            .create(&req(&format!("f2328-{i}"), 100 + i as u32))
            .await
            .unwrap_err();
        assert!(expected(&e), "2328 {kind:?} gave {e:?}");
        assert_eq!(
            sb.payouts().len() - before,
            applied as usize,
            "2328 {kind:?}"
        );
        let before = sb.payouts().len();
        sb.set_faults(fault(kind.clone()));
        let e = b
            .create(&req(&format!("fbatm-{i}"), 200 + i as u32))
            .await
            .unwrap_err();
        assert!(expected(&e), "BlockATM {kind:?} gave {e:?}");
        assert_eq!(
            sb.payouts().len() - before,
            applied as usize,
            "BlockATM {kind:?}"
        );
    }
    // The ambiguous ones were applied: the in-doubt path finds them.
    sb.set_faults(vec![]);
    assert!(b.lookup(&OrderId("fbatm-2".into()), None).await.is_ok());
    let again = c.create(&req("f2328-2", 102)).await.unwrap();
    assert_eq!(again.order_id.0, "f2328-2");
}
