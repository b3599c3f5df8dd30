//! The run summary's arithmetic on a hand-built ledger whose totals were worked out by hand:
//! counts per status, failures by reason, amounts paid and outstanding, fees quoted vs charged
//! and the drift, per currency+network and per currency; its markdown, text and JSON forms.

mod ledger_support;

use ledger_support::{dec, run_info};
use payrun::ledger::summary::{self, Summary, NO_REASON};
use payrun::ledger::{Ledger, LedgerError, LedgerRow};
use payrun::model::Status;
use rust_decimal::Decimal;

struct R {
    status: Status,
    currency: Option<&'static str>,
    network: Option<&'static str>,
    amount: Option<&'static str>,
    merchant: Option<&'static str>,
    received: Option<&'static str>,
    fee: Option<&'static str>,
    quoted: Option<&'static str>,
    error: Option<&'static str>,
    gateway_status: Option<&'static str>,
}

const BASE: R = R {
    status: Status::Completed,
    currency: Some("USDT"),
    network: Some("TRX-TRC20"),
    amount: None,
    merchant: None,
    received: None,
    fee: None,
    quoted: None,
    error: None,
    gateway_status: None,
};

fn ledger(rows: Vec<R>) -> Ledger {
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| LedgerRow {
            currency: r.currency.map(String::from),
            network: r.network.map(String::from),
            amount: r.amount.map(dec),
            merchant_amount: r.merchant.map(dec),
            network_amount: r.received.map(dec),
            fee: r.fee.map(dec),
            quoted_fee: r.quoted.map(dec),
            error: r.error.map(String::from),
            gateway_status: r.gateway_status.map(String::from),
            ..LedgerRow::new(i as u64 + 2, vec![], r.status)
        })
        .collect();
    Ledger {
        columns: vec![],
        rows,
        run: run_info(),
    }
}

fn fixture() -> Ledger {
    use Status::*;
    ledger(vec![
        R {
            amount: Some("100"),
            merchant: Some("101.5"),
            received: Some("100"),
            fee: Some("1.5"),
            quoted: Some("1.0"),
            ..BASE
        },
        R {
            amount: Some("50.25"),
            merchant: Some("51.25"),
            received: Some("50.25"),
            fee: Some("1.0"),
            quoted: Some("1.25"),
            ..BASE
        },
        R {
            amount: Some("10"),
            received: Some("0"),
            fee: Some("0.3"),
            ..BASE
        },
        R {
            status: Failed,
            amount: Some("5"),
            quoted: Some("1.0"),
            error: Some("aml_risk"),
            ..BASE
        },
        R {
            status: Failed,
            amount: Some("6"),
            error: Some(" aml_risk "),
            ..BASE
        },
        R {
            status: Failed,
            amount: Some("7"),
            gateway_status: Some("REFUSE"),
            ..BASE
        },
        R {
            status: Failed,
            amount: Some("8"),
            ..BASE
        },
        R {
            status: Pending,
            amount: Some("7"),
            quoted: Some("0.2"),
            ..BASE
        },
        R {
            status: InDoubt,
            amount: Some("3"),
            ..BASE
        },
        R {
            status: Cancelled,
            amount: Some("9"),
            ..BASE
        },
        R {
            currency: Some("usdt"),
            network: Some(" eth-erc20 "),
            amount: Some("20"),
            merchant: Some("22"),
            received: Some("20"),
            fee: Some("2"),
            quoted: Some("2.5"),
            ..BASE
        },
        R {
            status: NotSent,
            currency: Some("BTC"),
            network: Some("BTC"),
            amount: Some("0.1"),
            quoted: Some("0.0001"),
            ..BASE
        },
        R {
            status: Invalid,
            currency: None,
            network: None,
            error: Some("address: bad checksum"),
            ..BASE
        },
    ])
}

fn group<'a>(s: &'a Summary, c: Option<&str>, n: Option<&str>) -> &'a summary::GroupSummary {
    s.groups
        .iter()
        .find(|g| g.currency.as_deref() == c && g.network.as_deref() == n)
        .unwrap_or_else(|| panic!("no group {c:?} {n:?}"))
}

#[test]
fn counts_and_failures_by_reason_per_group_and_overall() {
    let s = Summary::from_ledger(&fixture()).unwrap();
    let order: Vec<(Option<&str>, Option<&str>)> = s
        .groups
        .iter()
        .map(|g| (g.currency.as_deref(), g.network.as_deref()))
        .collect();
    assert_eq!(
        order,
        vec![
            (Some("BTC"), Some("BTC")),
            (Some("USDT"), Some("ETH-ERC20")),
            (Some("USDT"), Some("TRX-TRC20")),
            (None, None)
        ]
    );
    let tron = &group(&s, Some("USDT"), Some("TRX-TRC20")).counts;
    assert_eq!(
        (
            tron.rows,
            tron.completed,
            tron.failed,
            tron.pending,
            tron.in_doubt,
            tron.cancelled
        ),
        (10, 3, 4, 1, 1, 1)
    );
    assert_eq!(tron.failures_by_reason.get("aml_risk"), Some(&2));
    assert_eq!(tron.failures_by_reason.get("REFUSE"), Some(&1));
    assert_eq!(tron.failures_by_reason.get(NO_REASON), Some(&1));
    assert_eq!(tron.failures_by_reason.len(), 3);
    let t = &s.totals;
    assert_eq!(
        (
            t.rows,
            t.completed,
            t.failed,
            t.not_sent,
            t.invalid,
            t.pending,
            t.in_doubt,
            t.cancelled
        ),
        (13, 4, 4, 1, 1, 1, 1, 1)
    );
    assert_eq!(group(&s, None, None).counts.invalid, 1);
}

#[test]
fn amounts_fees_and_drift_add_up_exactly() {
    let s = Summary::from_ledger(&fixture()).unwrap();
    let m = &group(&s, Some("USDT"), Some("TRX-TRC20")).money;
    assert_eq!(m.paid_amount, dec("160.25"));
    assert_eq!(m.merchant_debited, dec("152.75"));
    assert_eq!(m.recipients_received, dec("150.25"));
    assert_eq!(m.outstanding_amount, dec("10"));
    assert_eq!(m.fees_charged, dec("2.8"));
    assert_eq!(m.fees_quoted, dec("2.25"));
    assert_eq!(m.fee_drift, dec("0.25"));
    assert_eq!(m.fees_charged_unquoted, dec("0.3"));
    assert_eq!(m.fees_quoted_unsettled, dec("1.2"));
    assert_eq!(
        m.fees_charged,
        m.fees_quoted + m.fee_drift + m.fees_charged_unquoted
    );

    let eth = &group(&s, Some("USDT"), Some("ETH-ERC20")).money;
    assert_eq!(eth.fee_drift, dec("-0.5"));

    let usdt = s
        .currencies
        .iter()
        .find(|c| c.currency.as_deref() == Some("USDT"))
        .unwrap();
    assert_eq!(usdt.money.paid_amount, dec("180.25"));
    assert_eq!(usdt.money.fees_charged, dec("4.8"));
    assert_eq!(usdt.money.fees_quoted, dec("4.75"));
    assert_eq!(usdt.money.fee_drift, dec("-0.25"));
    let btc = &group(&s, Some("BTC"), Some("BTC")).money;
    assert_eq!(btc.paid_amount, Decimal::ZERO);
    assert_eq!(btc.fees_quoted_unsettled, dec("0.0001"));
    assert_eq!(s.currencies.len(), 3);
}

#[test]
fn markdown_is_a_document_finance_can_file() {
    let s = Summary::from_ledger(&fixture()).unwrap();
    let md = summary::to_markdown(&s);
    assert!(md.starts_with("# Payout run summary: payroll-2024-03\n"));
    assert!(md.contains("| Gateway | 2328 |"));
    assert!(md.contains("| Sheet | payroll.csv |"));
    assert!(md.contains("| Generated | 2024-03-31T12:00:00Z |"));
    assert!(md.contains("## USDT on TRX-TRC20"));
    assert!(md.contains("## USDT on ETH-ERC20"));
    assert!(md.contains("| Drift (charged − quoted) | +0.25 |"));
    assert!(md.contains("| Fees charged | 2.8 |"));
    assert!(md.contains("| aml\\_risk | 2 |"));
    assert!(md.contains("| REFUSE | 1 |"));
    assert!(md.contains("| **Total** | **13** |"));
    assert!(md.contains("| USDT | 180.25 |"));
}

#[test]
fn text_and_json_forms() {
    let s = Summary::from_ledger(&fixture()).unwrap();
    let text = summary::to_text(&s);
    assert!(text.contains("13 rows: 4 paid"), "{text}");
    assert!(
        text.contains("USDT TRX-TRC20: 3/10 rows paid, 160.25 paid out"),
        "{text}"
    );
    assert!(!text.contains("(none) (none)"), "{text}");
    let first = text.lines().next().unwrap();
    assert!(
        !first.contains(" 0 "),
        "no empty groups in the counts: {first}"
    );
    assert!(text.contains("failed: aml_risk x2"), "{text}");
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["run"]["run_id"], "payroll-2024-03");
    assert_eq!(v["totals"]["rows"], 13);
    let tron = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["network"] == "TRX-TRC20")
        .unwrap();
    assert_eq!(tron["fee_drift"], "0.25");
    assert_eq!(tron["paid_amount"], "160.25");
    assert_eq!(tron["failures_by_reason"]["aml_risk"], 2);
    assert_eq!(tron["completed"], 3);
}

#[test]
fn an_overflowing_total_is_an_error_not_a_panic() {
    let l = ledger(vec![
        R {
            amount: Some("79228162514264337593543950335"),
            ..BASE
        },
        R {
            amount: Some("79228162514264337593543950335"),
            ..BASE
        },
    ]);
    let err = Summary::from_ledger(&l).unwrap_err();
    assert!(matches!(err, LedgerError::Overflow { .. }), "{err}");
    assert!(err.to_string().contains("USDT on TRX-TRC20"), "{err}");
}
