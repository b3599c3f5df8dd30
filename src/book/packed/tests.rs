//! Packed runs read exactly as they did live, are unpacked by any write, and every hand edit
//! of a block, a lookup row or a stretch is counted and refused with the place named.

use rusqlite::types::Value;

use super::*;
use crate::book::store::tests::{answer, intent, open, plan_run, refusal, sql};
use crate::book::{Book, BookError, Run};
use crate::model::{OrderId, Status};

/// Everything a reader can learn about a run and the book, as text.
fn reads(book: &Book, run: &Run, ids: &[OrderId]) -> Vec<String> {
    let account = run.account;
    let mut export = Vec::new();
    book.export(&mut export).unwrap();
    let mut paid = Vec::new();
    book.each_sent_address(account, |a| paid.push(format!("{a:?}")))
        .unwrap();
    let keys: std::collections::HashSet<&str> = ["k-1", "k-2"].into_iter().collect();
    let mut by_key: Vec<String> = book
        .last_address_by_key(account, &keys)
        .unwrap()
        .into_iter()
        .map(|(k, a)| format!("{k} {a:?}"))
        .collect();
    by_key.sort();
    let mut out = vec![
        format!("{:?}", book.run_orders(account, run.pk).unwrap()),
        format!("{:?}", book.snapshot(run).unwrap()),
        format!("{:?}", book.run_counts(run).unwrap()),
        String::from_utf8(export).unwrap(),
        format!("{:?}", book.verify().unwrap()),
        serde_json::to_string(&book.run_lines(None).unwrap()).unwrap(),
        serde_json::to_string(
            &book
                .history(Some("tr7nhqjekqxgtci8q8zy4pl8otszgjlj6t"), None)
                .unwrap(),
        )
        .unwrap(),
        serde_json::to_string(&book.history(None, Some("k-2")).unwrap()).unwrap(),
        format!("{paid:?}"),
        format!("{by_key:?}"),
        format!("{:?}", book.run_state(run).unwrap()),
    ];
    let mut each = Vec::new();
    book.for_each_run_order(account, run.pk, |r| each.push(r.order_id))
        .unwrap();
    each.sort();
    out.push(format!("{each:?}"));
    for id in ids {
        out.push(format!("{:?}", book.order(account, id.as_str()).unwrap()));
        out.push(format!(
            "{:?}",
            book.first_intent_at(account, id.as_str()).unwrap()
        ));
        out.push(format!(
            "{:?}",
            book.order_run(account, id.as_str()).unwrap()
        ));
    }
    out
}

fn count(book: &Book, sql: &str) -> i64 {
    book.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A run of `n` orders, every one answered final (every third failed); with a recipient key
/// on two of them.
fn finished_run(book: &Book, account: i64, tag: &str, n: usize) -> (Run, Vec<OrderId>) {
    let (run, ids) = plan_run(book, account, tag, n);
    sql(
        book,
        &format!(
            "UPDATE orders SET recipient_key = 'k-' || (id % 3) WHERE run = {}",
            run.pk
        ),
    );
    book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
        .unwrap();
    let answers: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            answer(
                id,
                if i % 3 == 0 {
                    Status::Failed
                } else {
                    Status::Completed
                },
            )
        })
        .collect();
    book.record(account, &answers).unwrap();
    (run, ids)
}

#[test]
fn a_packed_run_reads_as_it_did_live_and_a_write_unpacks_it() {
    let (_dir, book, account) = open();
    let (run, ids) = finished_run(&book, account, "p", 10);
    let before = reads(&book, &run, &ids);
    let moved = book.pack_if_finished(&run).unwrap().unwrap();
    assert_eq!((moved.blocks, moved.orders, moved.events), (1, 10, 20));
    // The run's order data left the live tables; its sheet event stayed.
    assert_eq!(count(&book, "SELECT count(*) FROM orders"), 0);
    assert_eq!(count(&book, "SELECT count(*) FROM events"), 1);
    assert_eq!(
        count(
            &book,
            "SELECT count(*) FROM rows WHERE order_row IS NOT NULL"
        ),
        0
    );
    assert_eq!(count(&book, "SELECT count(*) FROM packed_order_ids"), 10);
    assert!(
        !book.edited_outside().unwrap(),
        "packing is payrun's own write"
    );
    let after = reads(&book, &run, &ids);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "read {i}");
    }
    book.verify_run_events(run.pk, &run.run_id).unwrap();
    assert!(book.verify().unwrap().ok());
    // Packed once: a second call finds nothing live to pack.
    assert_eq!(book.pack_if_finished(&run).unwrap(), None);
    // Reopened: the head is the packed last event.
    drop(book);
    let book = Book::open(&_dir.path().join("book.sqlite")).unwrap();
    assert_eq!(reads(&book, &run, &ids), after);
    // A late answer: the run goes back to the live tables, then takes it as before.
    book.record(account, &[answer(&ids[1], Status::Completed)])
        .unwrap();
    assert_eq!(count(&book, "SELECT count(*) FROM orders"), 10);
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 0);
    assert_eq!(count(&book, "SELECT count(*) FROM packed_order_ids"), 0);
    assert!(
        !book.edited_outside().unwrap(),
        "unpacking is payrun's own write"
    );
    let live = reads(&book, &run, &ids);
    assert_eq!(live[1], after[1], "the snapshot");
    assert!(book.verify().unwrap().ok());
    book.verify_run_events(run.pk, &run.run_id).unwrap();
    // Packed again, it reads as it did live.
    book.pack_if_finished(&run).unwrap().unwrap();
    assert_eq!(reads(&book, &run, &ids), live);
}

#[test]
fn an_unfinished_run_or_a_book_edited_by_hand_is_not_packed() {
    let (_dir, book, account) = open();
    let (run, ids) = plan_run(&book, account, "u", 3);
    book.record(account, &ids.iter().map(intent).collect::<Vec<_>>())
        .unwrap();
    book.record(account, &[answer(&ids[0], Status::Completed)])
        .unwrap();
    book.record(account, &[answer(&ids[1], Status::Pending)])
        .unwrap();
    assert_eq!(
        book.pack_if_finished(&run).unwrap(),
        None,
        "in doubt, pending"
    );
    book.record(
        account,
        &[
            answer(&ids[1], Status::Completed),
            answer(&ids[2], Status::Completed),
        ],
    )
    .unwrap();
    sql(&book, "UPDATE events SET kind = kind WHERE seq = 1");
    assert!(book.edited_outside().unwrap());
    assert_eq!(book.pack_if_finished(&run).unwrap(), None, "edited by hand");
    sql(&book, "DELETE FROM meta WHERE key = 'edits_outside'");
    assert!(book.pack_if_finished(&run).unwrap().is_some());
}

#[test]
fn interleaved_runs_check_across_a_packed_one() {
    let (_dir, book, account) = open();
    let (a, a_ids) = plan_run(&book, account, "a", 6);
    let (b, b_ids) = plan_run(&book, account, "b", 6);
    for (x, y) in a_ids.iter().zip(&b_ids) {
        book.record(account, &[intent(x)]).unwrap();
        book.record(account, &[intent(y)]).unwrap();
        book.record(account, &[answer(x, Status::Completed)])
            .unwrap();
    }
    let mut before = Vec::new();
    book.export(&mut before).unwrap();
    book.pack_if_finished(&a).unwrap().unwrap();
    assert_eq!(book.pack_if_finished(&b).unwrap(), None, "b is in doubt");
    // b's events link to a's, now packed, and a's to b's.
    book.verify_run_events(b.pk, &b.run_id).unwrap();
    book.verify_run_events(a.pk, &a.run_id).unwrap();
    let mut after = Vec::new();
    book.export(&mut after).unwrap();
    assert_eq!(before, after);
    let report = book.verify().unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.orders, 12);
    // An event of b between two of a's, edited: a's check names the packed event after it.
    let victim: i64 = book
        .conn()
        .query_row(
            "SELECT seq FROM events WHERE run = ?1 AND kind = 'intent' ORDER BY seq LIMIT 1 OFFSET 2",
            [b.pk],
            |r| r.get(0),
        )
        .unwrap();
    sql(
        &book,
        &format!("UPDATE events SET hash = zeroblob(32) WHERE seq = {victim}"),
    );
    let e = refusal(book.verify_run_events(a.pk, &a.run_id));
    assert!(
        e.contains(&format!("event #{} (result) of run a", victim + 1)),
        "{e}"
    );
}

/// The one block of a packed run: (id, bytes).
fn the_block(book: &Book) -> (i64, Vec<u8>) {
    book.conn()
        .query_row("SELECT id, bytes FROM packed_blocks", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
}

fn tampered<T: std::fmt::Debug>(r: Result<T, BookError>) -> String {
    match r {
        Err(e @ BookError::Tampered { .. }) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_packed_run_edited_by_hand_is_refused_with_the_place_named() {
    // A block's bytes edited: unreadable, the run and the block named.
    let (_dir, book, account) = open();
    let (run, ids) = finished_run(&book, account, "t", 5);
    book.pack_if_finished(&run).unwrap().unwrap();
    let (id, mut bytes) = the_block(&book);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    book.conn()
        .execute(
            "UPDATE packed_blocks SET bytes = ?1 WHERE id = ?2",
            rusqlite::params![bytes, id],
        )
        .unwrap();
    assert!(book.edited_outside().unwrap());
    let e = tampered(book.run_orders(account, run.pk));
    assert!(
        e.contains(&format!("block {id} of run t is unreadable")),
        "{e}"
    );
    let e = tampered(book.verify_run_events(run.pk, &run.run_id));
    assert!(e.contains("is unreadable"), "{e}");
    assert!(!book.verify().unwrap().ok());
    assert!(matches!(
        book.order(account, ids[0].as_str()),
        Err(BookError::Tampered { .. })
    ));

    // A block deleted: its orders and events are missing.
    let (_dir, book, account) = open();
    let (run, _) = finished_run(&book, account, "d", 5);
    book.pack_if_finished(&run).unwrap().unwrap();
    sql(&book, "DELETE FROM packed_blocks");
    assert!(book.edited_outside().unwrap());
    let e = tampered(book.run_counts(&run));
    assert!(e.contains("should have 5 orders but has 0"), "{e}");
    let e = tampered(book.verify_run_events(run.pk, &run.run_id));
    assert!(e.contains("should have 11 events but has 1"), "{e}");
    let report = book.verify().unwrap();
    assert!(report.first_problem.is_some(), "{report:?}");

    // A lookup row deleted: the order it finds is named.
    let (_dir, book, account) = open();
    let (run, ids) = finished_run(&book, account, "l", 5);
    book.pack_if_finished(&run).unwrap().unwrap();
    sql(
        &book,
        &format!(
            "DELETE FROM packed_order_ids WHERE key = {}",
            order_key(ids[3].as_str())
        ),
    );
    assert!(book.edited_outside().unwrap());
    let e = tampered(book.verify_run_events(run.pk, &run.run_id));
    assert!(
        e.contains(&format!("order {} (packed in block", ids[3])),
        "{e}"
    );
    assert!(e.contains("has no lookup row"), "{e}");
    assert!(!book.verify().unwrap().ok());

    // A stretch deleted: the walk by seq misses it.
    let (_dir, book, account) = open();
    let (run, _) = finished_run(&book, account, "r", 5);
    book.pack_if_finished(&run).unwrap().unwrap();
    sql(
        &book,
        "DELETE FROM packed_ranges WHERE first_seq = (SELECT max(first_seq) FROM packed_ranges)",
    );
    assert!(book.edited_outside().unwrap());
    assert!(!book.verify().unwrap().ok());

    // An order edited inside a block (decoded, changed, compressed again): its seal.
    let (_dir, book, account) = open();
    let (run, ids) = finished_run(&book, account, "s", 5);
    book.pack_if_finished(&run).unwrap().unwrap();
    let (id, bytes) = the_block(&book);
    let mut block = decode_block(id, account, run.pk, &bytes).unwrap();
    let o = block
        .orders
        .iter_mut()
        .find(|o| o.order_id() == ids[0].as_str())
        .unwrap();
    assert_eq!(o.status(), "failed");
    o.order[oc::STATUS] = Value::Text("completed".into());
    let forged = encode_block(account, run.pk, &block.orders);
    book.conn()
        .execute(
            "UPDATE packed_blocks SET bytes = ?1, statuses = '{\"completed\":5}' WHERE id = ?2",
            rusqlite::params![forged, id],
        )
        .unwrap();
    assert!(book.edited_outside().unwrap());
    let e = tampered(book.run_orders(account, run.pk));
    assert!(
        e.contains(&format!(
            "order {} (status completed) does not match its seal",
            ids[0]
        )),
        "{e}"
    );
    let e = tampered(book.order(account, ids[0].as_str()));
    assert!(e.contains("does not match its seal"), "{e}");
    assert!(!book.verify().unwrap().ok());

    // An event's body edited inside a block: its hash, named.
    let (_dir, book, account) = open();
    let (run, _) = finished_run(&book, account, "h", 5);
    book.pack_if_finished(&run).unwrap().unwrap();
    let (id, bytes) = the_block(&book);
    let mut block = decode_block(id, account, run.pk, &bytes).unwrap();
    let e = &mut block.orders[2].events[0];
    let seq = e.seq;
    e.body = e.body.replace("10.01", "99.01");
    let forged = encode_block(account, run.pk, &block.orders);
    book.conn()
        .execute(
            "UPDATE packed_blocks SET bytes = ?1 WHERE id = ?2",
            rusqlite::params![forged, id],
        )
        .unwrap();
    let e = tampered(book.verify_run_events(run.pk, &run.run_id));
    assert!(
        e.contains(&format!(
            "event #{seq} (intent) of run h does not match its hash"
        )),
        "{e}"
    );
    assert!(!book.verify().unwrap().ok());
}

#[test]
fn a_schema_12_book_is_migrated_and_packs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sqlite");
    let (run, ids) = {
        let book = Book::open(&path).unwrap();
        let account = book
            .account(&crate::book::AccountKey::g2328(
                crate::book::Mode::Sandbox,
                "p-1",
            ))
            .unwrap();
        let (run, ids) = finished_run(&book, account, "m", 4);
        crate::book::store::tests::back_to_schema_12(&book);
        (run, ids)
    };
    let book = Book::open(&path).unwrap();
    let version: i64 = count(&book, "PRAGMA user_version");
    assert_eq!(version, crate::book::store::SCHEMA_VERSION);
    assert!(
        !book.edited_outside().unwrap(),
        "a migration is payrun's own write"
    );
    let before = reads(&book, &run, &ids);
    book.pack_if_finished(&run).unwrap().unwrap();
    assert_eq!(reads(&book, &run, &ids), before);
    // The new triggers count a hand edit.
    sql(&book, "UPDATE packed_blocks SET orders = orders");
    assert!(book.edited_outside().unwrap());
}

#[test]
fn a_write_unpacks_only_its_block_and_a_run_partly_packed_reads_as_one() {
    let (_dir, book, account) = open();
    let n = BLOCK_ORDERS + 4;
    let (run, ids) = finished_run(&book, account, "w", n);
    let moved = book.pack_if_finished(&run).unwrap().unwrap();
    assert_eq!((moved.blocks, moved.orders), (2, n as u64));
    // A late answer for an order of the second block: that block alone comes back.
    let late = &ids[n - 2];
    book.record(account, &[answer(late, Status::Completed)])
        .unwrap();
    assert_eq!(count(&book, "SELECT count(*) FROM orders"), 4);
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 1);
    assert!(!book.edited_outside().unwrap());
    let few = [ids[0].clone(), ids[n - 3].clone(), late.clone()];
    let partly = reads(&book, &run, &few);
    book.verify_run_events(run.pk, &run.run_id).unwrap();
    let report = book.verify().unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.orders, n as u64);
    // The same run wholly live reads the same.
    book.write(|tx| unpack_run(tx, run.pk).map_err(|e| book.pack_err(e)))
        .unwrap();
    assert_eq!(count(&book, "SELECT count(*) FROM packed_blocks"), 0);
    assert_eq!(reads(&book, &run, &few), partly);
    // Packed again whole.
    let moved = book.pack_if_finished(&run).unwrap().unwrap();
    assert_eq!(moved.orders, n as u64);
    assert_eq!(reads(&book, &run, &few), partly);
}
