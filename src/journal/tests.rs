//! Journal unit tests: replay, monotonic statuses, torn lines, corruption, the lock.

use super::*;
use crate::model::{FeeOption, GatewayId};
use rust_decimal::Decimal;

fn header() -> Header {
    Header {
        version: FORMAT_VERSION,
        run_id: "r1".into(),
        gateway: GatewayKind::G2328,
        sheet: "s.csv".into(),
        sheet_sha256: "00".into(),
        created_at: now(),
    }
}

fn request(id: &str) -> PayoutRequest {
    PayoutRequest {
        order_id: OrderId(id.into()),
        currency: "USDT".into(),
        network: "TRX-TRC20".into(),
        amount: Decimal::new(150, 2),
        to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
        memo: None,
        fee_option: FeeOption::Deduct,
        from_currency: None,
        remark: None,
        url_callback: None,
    }
}

fn intent(id: &str) -> Event {
    Event::Intent {
        order_id: OrderId(id.into()),
        line: 2,
        digest: "d".into(),
        request: request(id),
        at: now(),
    }
}

fn result(id: &str, status: Status, txid: Option<&str>) -> Event {
    Event::Result {
        order_id: OrderId(id.into()),
        source: Source::Create,
        state: PayoutState {
            order_id: OrderId(id.into()),
            gateway_id: Some(GatewayId("u-1".into())),
            status,
            gateway_status: status.as_str().into(),
            txid: txid.map(String::from),
            merchant_amount: None,
            network_amount: None,
            fee: None,
            error: None,
            updated_at: None,
        },
        at: now(),
    }
}

fn open(dir: &tempfile::TempDir) -> (Journal, Replay) {
    Journal::open(&dir.path().join("j.jsonl"), &header()).unwrap()
}

#[test]
fn intent_without_result_is_in_doubt_and_result_settles_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, r) = open(&dir);
        assert!(r.orders.is_empty());
        j.append(&[intent("a"), intent("b")]).unwrap();
        j.append(&[result("a", Status::Pending, None)]).unwrap();
    }
    let (_j, r) = open(&dir);
    assert_eq!(
        r.orders.status(&OrderId("a".into())).unwrap(),
        Status::Pending
    );
    assert_eq!(
        r.orders.status(&OrderId("b".into())).unwrap(),
        Status::InDoubt
    );
    assert_eq!(r.events, 3);
}

#[test]
fn statuses_never_move_backwards() {
    let mut orders = HashMap::new();
    apply(&mut orders, intent("a"));
    apply(&mut orders, result("a", Status::Completed, Some("tx1")));
    apply(&mut orders, result("a", Status::Pending, None));
    let rec = &orders[&OrderId("a".into())];
    assert_eq!(rec.status, Status::Completed);
    assert_eq!(rec.state.as_ref().unwrap().txid.as_deref(), Some("tx1"));
    // A final status is never replaced by another final one either.
    apply(&mut orders, result("a", Status::Failed, None));
    assert_eq!(orders[&OrderId("a".into())].status, Status::Completed);
    // A second intent (2328 re-POST of an accepted order) does not make it re-sendable.
    apply(&mut orders, intent("a"));
    apply(
        &mut orders,
        Event::NotApplied {
            order_id: OrderId("a".into()),
            reason: "x".into(),
            at: now(),
        },
    );
    assert_eq!(orders[&OrderId("a".into())].status, Status::Completed);
}

#[test]
fn refused_is_final_and_not_applied_is_resendable() {
    let mut orders = HashMap::new();
    apply(&mut orders, intent("a"));
    apply(
        &mut orders,
        Event::Refused {
            order_id: OrderId("a".into()),
            error: "bad".into(),
            at: now(),
        },
    );
    assert_eq!(orders[&OrderId("a".into())].status, Status::Failed);
    apply(&mut orders, intent("b"));
    apply(
        &mut orders,
        Event::NotApplied {
            order_id: OrderId("b".into()),
            reason: "429".into(),
            at: now(),
        },
    );
    assert_eq!(orders[&OrderId("b".into())].status, Status::NotSent);
    apply(
        &mut orders,
        Event::Unresolved {
            order_id: OrderId("b".into()),
            error: "x".into(),
            at: now(),
        },
    );
    assert_eq!(orders[&OrderId("b".into())].status, Status::NotSent);
}

#[test]
fn torn_last_line_is_ignored_and_cut_before_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    {
        let (mut j, _) = open(&dir);
        j.append(&[intent("a")]).unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"event":"result","order_id":"a","sour"#)
        .unwrap();
    drop(f);
    let (mut j, r) = open(&dir);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!(
        r.orders.status(&OrderId("a".into())).unwrap(),
        Status::InDoubt
    );
    j.append(&[result("a", Status::Pending, None)]).unwrap();
    drop(j);
    let r = read(&path).unwrap();
    assert!(r.warnings.is_empty());
    assert_eq!(
        r.orders.status(&OrderId("a".into())).unwrap(),
        Status::Pending
    );
}

#[test]
fn a_bad_line_in_the_middle_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    {
        let (mut j, _) = open(&dir);
        j.append(&[intent("a")]).unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"garbage\n").unwrap();
    f.write_all(&serde_json::to_vec(&intent("b")).unwrap())
        .unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    match Journal::open(&path, &header()) {
        Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn second_open_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let (_j, _) = open(&dir);
    match Journal::open(&dir.path().join("j.jsonl"), &header()) {
        Err(JournalError::Locked { .. }) => {}
        other => panic!("expected locked, got {other:?}"),
    }
}

#[test]
fn header_must_match_run_and_gateway() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    let mut h = header();
    h.run_id = "other".into();
    assert!(matches!(
        Journal::open(&dir.path().join("j.jsonl"), &h),
        Err(JournalError::Mismatch { .. })
    ));
    let mut h = header();
    h.gateway = GatewayKind::BlockAtm;
    assert!(matches!(
        Journal::open(&dir.path().join("j.jsonl"), &h),
        Err(JournalError::Mismatch { .. })
    ));
}

#[test]
fn events_round_trip_through_json() {
    for ev in [
        intent("a"),
        result("a", Status::Completed, Some("t")),
        Event::Refused {
            order_id: OrderId("a".into()),
            error: "e".into(),
            at: now(),
        },
    ] {
        let text = serde_json::to_string(&ev).unwrap();
        assert!(!text.contains('\n'));
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), ev);
    }
    // Amounts keep their scale as decimal strings.
    assert!(serde_json::to_string(&intent("a"))
        .unwrap()
        .contains(r#""amount":"1.50""#));
}

#[test]
fn the_fast_decoder_agrees_with_the_generic_one() {
    let events = [
        intent("a"),
        result("a", Status::Completed, Some("t")),
        Event::Refused {
            order_id: OrderId("a".into()),
            error: "e".into(),
            at: now(),
        },
        Event::NotApplied {
            order_id: OrderId("a".into()),
            reason: "r".into(),
            at: now(),
        },
        Event::Unresolved {
            order_id: OrderId("a".into()),
            error: "u".into(),
            at: now(),
        },
    ];
    for ev in events {
        let line = serde_json::to_vec(&ev).unwrap();
        assert!(line.starts_with(br#"{"event":""#));
        assert_eq!(decode_event(&line).unwrap(), ev);
        assert_eq!(serde_json::from_slice::<Event>(&line).unwrap(), ev);
    }
    // A hand-edited line with the tag elsewhere still decodes (generic path).
    let moved = r#"{"order_id":"a","error":"e","at":"t","event":"refused"}"#;
    assert!(matches!(
        decode_event(moved.as_bytes()).unwrap(),
        Event::Refused { .. }
    ));
    // An unknown tag is an error, not a guess.
    assert!(decode_event(br#"{"event":"paid","order_id":"a"}"#).is_err());
}

#[test]
fn a_stale_answer_changes_neither_status_nor_time() {
    let mut orders = HashMap::new();
    apply(&mut orders, intent("a"));
    apply(&mut orders, result("a", Status::Completed, Some("tx")));
    let before = orders[&OrderId("a".into())].updated_at.clone();
    std::thread::sleep(std::time::Duration::from_millis(5));
    apply(&mut orders, result("a", Status::Pending, None));
    assert_eq!(orders[&OrderId("a".into())].updated_at, before);
}

/// The replay index and the full records follow one status rule: for every order of a journal
/// with every kind of event, in many orders, the index's status equals the record's.
#[test]
fn index_and_records_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let kinds = |i: usize, id: &str| -> Vec<Event> {
        let oid = || OrderId(id.into());
        match i % 6 {
            0 => vec![intent(id)],
            1 => vec![intent(id), result(id, Status::Pending, None)],
            2 => vec![
                intent(id),
                result(id, Status::Completed, Some("t")),
                result(id, Status::Pending, None),
            ],
            3 => vec![
                intent(id),
                Event::Refused {
                    order_id: oid(),
                    error: "e".into(),
                    at: now(),
                },
            ],
            4 => vec![
                intent(id),
                Event::NotApplied {
                    order_id: oid(),
                    reason: "r".into(),
                    at: now(),
                },
                intent(id),
            ],
            _ => vec![
                intent(id),
                Event::Unresolved {
                    order_id: oid(),
                    error: "u".into(),
                    at: now(),
                },
                result(id, Status::Failed, None),
            ],
        }
    };
    {
        let (mut j, _) = Journal::open(&path, &header()).unwrap();
        // A result for an order never intended is ignored by both.
        j.append(&[result("ghost", Status::Completed, None)])
            .unwrap();
        for i in 0..60 {
            j.append(&kinds(i, &format!("o{i}"))).unwrap();
        }
    }
    let r = read(&path).unwrap();
    assert_eq!(r.orders.len(), 60);
    assert_eq!(r.orders.status(&OrderId("ghost".into())), None);
    let records = r.orders.records().unwrap();
    for (id, status) in r.orders.statuses() {
        assert_eq!(records[id].status, status, "{id}");
        assert_eq!(r.orders.record(id).unwrap().unwrap().status, status);
    }
    assert_eq!(
        r.orders.status(&OrderId("o2".into())),
        Some(Status::Completed)
    );
    assert_eq!(
        r.orders.status(&OrderId("o4".into())),
        Some(Status::InDoubt)
    );
    assert_eq!(r.orders.status(&OrderId("o3".into())), Some(Status::Failed));
}

#[test]
fn a_syntactically_valid_but_wrong_line_is_reported_when_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    {
        let (mut j, _) = Journal::open(&path, &header()).unwrap();
        j.append(&[intent("a")]).unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"event":"result","order_id":"a","source":"create","state":{"status":"completed","amount":7},"at":"t"}"#).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let r = read(&path).unwrap();
    match r.orders.record(&OrderId("a".into())) {
        Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 3),
        other => panic!("expected a corrupt-line error, got {other:?}"),
    }
}

#[test]
fn a_malformed_request_in_an_intent_is_reported_when_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    drop(Journal::open(&path, &header()).unwrap());
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"event":"intent","order_id":"a","line":2,"digest":"d","request":{"amount":"x"},"at":"t"}"#).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let r = read(&path).unwrap();
    assert_eq!(r.orders.status(&OrderId("a".into())), Some(Status::InDoubt));
    match r.orders.record(&OrderId("a".into())) {
        Err(JournalError::Corrupt { line, .. }) => assert_eq!(line, 2),
        other => panic!("expected a corrupt-line error, got {other:?}"),
    }
}
