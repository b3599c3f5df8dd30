//! Measures the book on a finished run: builds a book of N finished orders in one run (or
//! reuses one with `--reuse`), then times each step `payrun run` takes when the same sheet comes
//! back with nothing to send, with the resident memory of each, and the file's bytes per order.
//!
//! ```text
//! cargo run --release --example book_probe -- /tmp/book1m.sqlite 1000000
//! cargo run --release --example book_probe -- /tmp/book1m.sqlite 1000000 --reuse
//! cargo run --release --example book_probe -- /tmp/book1m.sqlite 1000000 --reuse --breakdown
//! ```
//!
//! `--reuse`: keep the book at PATH when it already holds the run (built with the same N);
//! otherwise any file there is replaced. `--breakdown`: after the timings, the bytes of every
//! table and index (`dbstat`) and the bytes per column. `--only-build`: build (and break it down) and stop.
//! `--skip-csv`: do not time writing the results CSV. `--record-latency=M`: after the steps,
//! add a run of M orders and time each fsync'd commit of its intents and answers, one a commit
//! and 50 a commit (changes the book); `--no-steps` skips the timed steps. `--sheet-dir=DIR`:
//! write the run's sheet as a CSV into DIR and build the run as having read it, to time the
//! real binary. `--already-paid`: time only what
//! `payrun run` does when the run is already paid (a fresh process: run it under
//! `/usr/bin/time -v` for that path's peak RSS), `--repeat=K` times with the minimum and median
//! of each step (`--ledger-parts`: `results::ledger_of` timed in its parts); by default every
//! step of both paths is timed once, in one process.
//!
//! Memory: "peak so far" is the process's high-water mark (VmHWM). With `--step-peaks` it is
//! reset before each step (`/proc/self/clear_refs`), so "step peak" is the high-water mark
//! during that step (including what earlier steps still hold: "rss before"); that reset also
//! resets what `/usr/bin/time -v` reports, so measure the whole run's peak without it.

#[path = "support/addrgen.rs"]
mod addrgen;
#[path = "support/bookgen.rs"]
mod bookgen;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use payrun::book::Book;
use payrun::commands::results;
use payrun::model::GatewayKind;

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of the whole process (every thread), user + system, in seconds (10 ms steps).
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses): utime is the 12th.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// One timed step: its time and memory, printed as it ends.
struct Steps {
    rows: Vec<(String, Duration)>,
    /// Reset the peak before each step (`--step-peaks`); otherwise "peak" is the process's.
    reset: bool,
}

impl Steps {
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let before = status_kb("VmRSS:");
        if self.reset {
            reset_peak();
        }
        let cpu = cpu_secs();
        let t = Instant::now();
        let out = f();
        let took = t.elapsed();
        let cpu = cpu_secs() - cpu;
        let peak = status_kb("VmHWM:");
        let after = status_kb("VmRSS:");
        println!(
            "{name:<34} {:>9.3} s (cpu {cpu:>6.2} s)   rss before {:>7.1} MB, {} {:>7.1} MB, after {:>7.1} MB",
            took.as_secs_f64(),
            mb(before),
            if self.reset {
                "step peak"
            } else {
                "peak so far"
            },
            mb(peak),
            mb(after)
        );
        self.rows.push((name.to_string(), took));
        out
    }

    fn get(&self, name: &str) -> f64 {
        self.rows
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn breakdown(path: &Path, n: u64) -> rusqlite::Result<()> {
    let c =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    println!("\nper table and index (dbstat: pages in use, incl. b-tree overhead and free space in pages):");
    let mut stmt = c.prepare(
        "SELECT name, count(*), sum(pgsize), sum(payload), sum(unused) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut total = 0;
    println!(
        "  {:<22} {:>8} {:>14} {:>10} {:>14} {:>12}",
        "name", "pages", "bytes", "B/order", "payload B", "unused B"
    );
    for r in rows {
        let (name, pages, size, payload, unused) = r?;
        total += size;
        println!(
            "  {name:<22} {pages:>8} {size:>14} {:>10.1} {payload:>14} {unused:>12}",
            size as f64 / n as f64
        );
    }
    let page_count: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let free: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    println!(
        "  total in use {total} ({:.1} B/order); file {} pages of {page_size} B, {free} free",
        total as f64 / n as f64,
        page_count
    );
    println!("\nbytes per column (sum of length(), the data alone), per order:");
    let cols: &[(&str, &str)] = &[
        ("events", "order_id"),
        ("events", "kind"),
        ("events", "body"),
        ("events", "hash"),
        ("orders", "order_id"),
        ("orders", "digest"),
        ("orders", "request"),
        ("orders", "intent_seq"),
        ("orders", "network"),
        ("orders", "address"),
        ("orders", "status"),
        ("orders", "state"),
        ("orders", "updated_at"),
        ("orders", "first_sent_at"),
        ("orders", "seal"),
        ("rows", "order_id"),
        ("rows", "order_row"),
        ("rows", "currency"),
        ("rows", "network"),
        ("rows", "amount"),
        ("rows", "quoted_fee"),
        ("rows", "cells"),
        ("packed_blocks", "bytes"),
    ];
    for (t, col) in cols {
        let s: Option<i64> =
            c.query_row(&format!("SELECT sum(length({col})) FROM {t}"), [], |r| {
                r.get(0)
            })?;
        println!("  {t}.{col:<12} {:>8.1}", s.unwrap_or(0) as f64 / n as f64);
    }
    let mut stmt =
        c.prepare("SELECT kind, count(*), avg(length(body)) FROM events GROUP BY kind")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, f64>(2)?,
        ))
    })?;
    for r in rows {
        let (kind, count, avg) = r?;
        println!("  events of kind {kind:<8} {count:>9}, body {avg:.1} B on average");
    }
    for (what, q) in [
        (
            "intent body",
            "SELECT body FROM events WHERE kind = 'intent' LIMIT 1",
        ),
        (
            "result body (create)",
            "SELECT body FROM events WHERE kind = 'result' ORDER BY seq LIMIT 1",
        ),
        (
            "result body (status)",
            "SELECT body FROM events WHERE kind = 'result' ORDER BY seq DESC LIMIT 1",
        ),
        ("orders.request", "SELECT request FROM orders LIMIT 1"),
        ("orders.state", "SELECT state FROM orders LIMIT 1"),
        ("rows.cells", "SELECT cells FROM rows LIMIT 1"),
    ] {
        // Event bodies and order answers are stored compressed (payrun::book::codec); a
        // packed run has none of them live (its blocks are counted above).
        use rusqlite::OptionalExtension;
        let Some(s) = c
            .query_row(q, [], |r| {
                Ok(payrun::book::codec::decode_str(r.get_ref(0)?)
                    .ok()
                    .flatten())
            })
            .optional()?
        else {
            continue;
        };
        let stored: i64 = c.query_row(
            &q.replacen("SELECT ", "SELECT length(", 1)
                .replacen(" FROM", ") FROM", 1),
            [],
            |r| r.get(0),
        )?;
        println!(
            "  e.g. {what} ({stored} B stored): {}",
            s.unwrap_or_default()
        );
    }
    Ok(())
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `--block-levels`: the first packed block compressed again at several zstd levels, as framed
/// and with the 32-byte hashes and the seals taken out into a section of their own: bytes per
/// order and time per block.
fn block_levels(path: &Path) -> Res<()> {
    use payrun::book::packed;
    let c =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let Some(id) = packed::all_blocks(&c, None)?.first().copied() else {
        println!("no packed block");
        return Ok(());
    };
    let block = packed::load_block(&c, id)?.ok_or("no block")?;
    let n = block.orders.len() as f64;
    let mut split = block.orders.clone();
    let mut side = Vec::new();
    for o in &mut split {
        if let rusqlite::types::Value::Blob(b) = &mut o.order[packed::oc::SEAL] {
            side.extend_from_slice(b);
            b.clear();
        }
        for e in &mut o.events {
            side.append(&mut e.hash);
        }
    }
    for level in [3, 6, 9, 12, 15, 19] {
        for (what, orders) in [("as framed", &block.orders), ("hashes apart", &split)] {
            let t = Instant::now();
            let bytes = packed::encode_block_at(block.account, block.run, orders, level);
            let extra = if std::ptr::eq(orders, &split) {
                side.len()
            } else {
                0
            };
            println!(
                "  level {level:>2} {what:<13} {:>7.1} B/order, {:>6.1} ms a block of {n}",
                (bytes.len() + extra) as f64 / n,
                t.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}

/// Times `f` writing the results CSV into a temp dir (what `payrun run` writes beside the sheet).
fn write_csv(s: &mut Steps, ledger: &payrun::ledger::Ledger) -> Res<()> {
    let dir = std::env::temp_dir().join(format!("book_probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("pay-20261129.results.csv");
    let r = s.time("ledger::write (results CSV)", || {
        payrun::ledger::write(&out, ledger)
    });
    let _ = std::fs::remove_dir_all(&dir);
    r?;
    Ok(())
}

/// Exactly the book steps of `payrun run` when `choose` finds the run already paid, in order:
/// open, account, runs_of_sheet, run_counts (by path, then by content), verify_run_events,
/// the results ledger and its CSV; `repeat` times, then the minimum and median of each step.
fn already_paid(
    path: &Path,
    n: u64,
    csv: bool,
    reset: bool,
    repeat: usize,
    parts: bool,
) -> Res<()> {
    let mut s = Steps {
        rows: Vec::new(),
        reset,
    };
    let mut totals = Vec::new();
    for round in 1..=repeat {
        println!(
            "\nthe already-paid path of `payrun run`, in order, round {round} of {repeat} (load {}):",
            load()
        );
        let first = s.rows.len();
        let book = s.time("Book::open", || Book::open(path))?;
        let account = s.time("Book::account", || book.account(&bookgen::account_key()))?;
        let (by_path, by_sha) = s.time("runs_of_sheet", || {
            bookgen::runs_of_sheet(&book, account, n)
        });
        let run = by_sha
            .or(by_path)
            .ok_or("the book has no run of the sheet")?;
        s.time("run_counts (by path)", || bookgen::run_counts(&book, &run));
        let counts = s.time("run_counts (by content)", || {
            bookgen::run_counts(&book, &run)
        });
        assert!(!counts.unfinished(), "{counts:?}");
        s.time("verify_run_events", || bookgen::verify(&book, &run));
        let ledger = if parts {
            // `results::ledger_of`, step by step.
            let (snap, held) = s.time("  ledger_of: snapshot", || book.snapshot(&run))?;
            let orders = s.time("  ledger_of: run_orders into a map", || {
                bookgen::orders_map(&book, account, &run)
            });
            let ledger = s.time("  ledger_of: results::build", || {
                results::build(&run, GatewayKind::G2328, &snap, &held, &orders)
            });
            s.time("  ledger_of: drop the map", || drop(orders));
            s.time("  ledger_of: drop the snapshot", || drop(snap));
            ledger
        } else {
            s.time("results::ledger_of", || bookgen::ledger(&book, &run))
        };
        assert_eq!(ledger.rows.len() as u64, n);
        if csv {
            write_csv(&mut s, &ledger)?;
        }
        s.time("drop the ledger", || drop(ledger));
        drop(book);
        let total: f64 = s.rows[first..].iter().map(|(_, d)| d.as_secs_f64()).sum();
        println!("  total {total:.3} s (load {})", load());
        totals.push(total);
    }
    if repeat > 1 {
        println!(
            "\nover {repeat} rounds (load {}): min / median / max",
            load()
        );
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in &s.rows {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let stats = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (v[0], v[v.len() / 2], v[v.len() - 1])
        };
        for name in names {
            let v: Vec<f64> = s
                .rows
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, d)| d.as_secs_f64())
                .collect();
            let (lo, mid, hi) = stats(v);
            println!("  {name:<32} {lo:>8.3} {mid:>8.3} {hi:>8.3} s");
        }
        let (lo, mid, hi) = stats(totals);
        println!("  {:<32} {lo:>8.3} {mid:>8.3} {hi:>8.3} s", "total");
    }
    Ok(())
}

/// Every book step either path of `payrun run` takes on a finished run, each once.
fn every_step(
    path: &Path,
    n: u64,
    plan: &mut [payrun::plan::PlannedOrder],
    csv: bool,
    reset: bool,
) -> Res<()> {
    println!(
        "\nsteps of `payrun run` on the finished run (load {}):",
        load()
    );
    let mut s = Steps {
        rows: Vec::new(),
        reset,
    };
    let book = s.time("Book::open", || Book::open(path))?;
    let account = s.time("Book::account", || book.account(&bookgen::account_key()))?;
    let (by_path, by_sha) = s.time("runs_of_sheet", || {
        bookgen::runs_of_sheet(&book, account, n)
    });
    let run = by_sha
        .or(by_path)
        .ok_or("the book has no run of the sheet")?;
    let counts = s.time("run_counts", || bookgen::run_counts(&book, &run));
    assert_eq!(
        counts.get(payrun::model::Status::Completed),
        n,
        "{counts:?}"
    );
    s.time("verify_run_events", || bookgen::verify(&book, &run));
    let orders = s.time("run_orders into a HashMap", || {
        bookgen::orders_map(&book, account, &run)
    });
    let t = s.time("triage (plan of N)", || bookgen::triage_all(plan, &orders));
    assert!(
        t.to_send.is_empty() && t.in_doubt.is_empty() && t.held.is_empty(),
        "a finished run has nothing to do"
    );
    s.time("drop the HashMap", || drop(orders));
    s.time("snapshot (resume path, x2)", || {
        book.snapshot(&run).map(|_| ())
    })?;
    let ledger = s.time("results::ledger_of", || bookgen::ledger(&book, &run));
    assert_eq!(ledger.rows.len() as u64, n);
    if csv {
        write_csv(&mut s, &ledger)?;
    }
    drop(ledger);

    let g = |k: &str| s.get(k);
    let head = g("Book::open") + g("Book::account") + g("runs_of_sheet");
    let already_paid =
        head + 2.0 * g("run_counts") + g("verify_run_events") + g("results::ledger_of");
    let resume = head
        + 3.0 * g("run_counts")
        + g("verify_run_events")
        + g("run_orders into a HashMap")
        + g("triage (plan of N)")
        + 2.0 * g("snapshot (resume path, x2)")
        + g("results::ledger_of");
    let csv = g("ledger::write (results CSV)");
    println!("\nsums of the steps above (load {}):", load());
    println!(
        "  already-paid path (open, account, runs_of_sheet, 2 x run_counts, verify_run_events, ledger_of): {already_paid:.3} s (+ {csv:.3} s writing the CSV)"
    );
    println!(
        "  full resume path (open, account, runs_of_sheet, 3 x run_counts, verify_run_events, run_orders, triage, 2 x snapshot, ledger_of): {resume:.3} s (+ {csv:.3} s writing the CSV)"
    );
    Ok(())
}

/// What one `Book::record` commit costs on this book (fsync'd, as submission commits): a new
/// run of `m` orders, then per order an intent and an answer, one commit each (single mode), and
/// per batch of 50 the intents and the answers, one commit each (BlockATM batches). Adds that
/// run to the book.
fn record_latency(path: &Path, m: u64) -> Res<()> {
    use payrun::book::{now, Event, OrderRecord, Source};
    println!("\ncommit latency on this book (load {}):", load());
    let book = Book::open(path)?;
    let account = book.account(&bookgen::account_key())?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let run_id = format!("latency-{stamp}");
    let mut info = bookgen::sheet_info(m);
    info.sha256 = format!("latency-{stamp}");
    let run = book.create_run(account, Some(&run_id), &run_id, &info, &[])?;
    let payouts: Vec<_> = bookgen::plan(m).into_iter().map(|o| o.payout).collect();
    let plan = payrun::plan::plan(&run_id, &payouts);
    let planned: Vec<(OrderRecord, Option<String>)> = plan
        .iter()
        .map(|o| {
            let rec = OrderRecord::planned(
                o.payout.line,
                o.fields_digest.clone(),
                o.request(None),
                now(),
            );
            (rec, None)
        })
        .collect();
    let snapshot = payrun::book::SheetSnapshot {
        columns: vec![],
        rows: vec![],
        sheet_sha256: info.sha256.clone(),
    };
    book.save_plan(
        account,
        &run,
        &info,
        &snapshot,
        &Default::default(),
        &planned,
    )?;
    let intent = |o: &payrun::plan::PlannedOrder| Event::Intent {
        order_id: o.order_id.clone(),
        line: o.payout.line,
        digest: o.fields_digest.clone(),
        request: o.request(None),
        at: now(),
    };
    let answer = |o: &payrun::plan::PlannedOrder| Event::Result {
        order_id: o.order_id.clone(),
        source: Source::Create,
        state: payrun::gateway::PayoutState {
            order_id: o.order_id.clone(),
            status: payrun::model::Status::Pending,
            gateway_status: "pending".into(),
            ..Default::default()
        },
        at: now(),
    };
    let timed = |events: Vec<Event>| -> Res<f64> {
        let t = Instant::now();
        book.record(account, &events)?;
        Ok(t.elapsed().as_secs_f64() * 1000.0)
    };
    let report = |what: &str, mut ms: Vec<f64>| {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q) as usize];
        println!(
            "  {what:<44} n {:>4}: median {:>6.2} ms, p90 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
            ms.len(),
            at(0.5),
            at(0.9),
            at(0.99),
            ms[ms.len() - 1]
        );
    };
    let half = (m / 2) as usize;
    let (single, batched) = plan.split_at(half);
    let (mut intents, mut answers) = (Vec::new(), Vec::new());
    for o in single {
        intents.push(timed(vec![intent(o)])?);
        answers.push(timed(vec![answer(o)])?);
    }
    report("single: one intent a commit", intents);
    report("single: one answer a commit", answers);
    let (mut intents, mut answers) = (Vec::new(), Vec::new());
    for chunk in batched.chunks(50) {
        intents.push(timed(chunk.iter().map(intent).collect())?);
        answers.push(timed(chunk.iter().map(answer).collect())?);
    }
    report("batch of 50: the 50 intents in a commit", intents);
    report("batch of 50: the 50 answers in a commit", answers);
    println!("  (run {run_id} of {m} orders was added to the book)");
    Ok(())
}

/// Writes the run's sheet as the CSV a user would hand `payrun run` (every snapshot row, the
/// snapshot's columns) into `dir`, and points the book's run at it (path and SHA-256), so the
/// real binary can be timed on the already-paid path.
/// Writes the run's sheet as a CSV into `dir`; returns what the run must have read: the
/// book is built for it (`bookgen::build_for`), so its runs row and its sheet event agree (the
/// runs table is checked against the sheet events before a run is picked).
fn write_sheet(dir: &Path, plan: &[payrun::plan::PlannedOrder]) -> Res<payrun::book::SheetInfo> {
    use sha2::Digest;
    std::fs::create_dir_all(dir)?;
    let sheet = std::fs::canonicalize(dir)?.join("pay-20261129.csv");
    let snapshot = bookgen::snapshot(plan);
    let mut w = csv::Writer::from_path(&sheet)?;
    w.write_record(&snapshot.columns)?;
    for r in &snapshot.rows {
        w.write_record(&r.cells)?;
    }
    w.flush()?;
    drop(w);
    let sha = hex::encode(sha2::Sha256::digest(std::fs::read(&sheet)?));
    Ok(payrun::book::SheetInfo {
        path: sheet.to_string_lossy().into_owned(),
        name: "pay-20261129.csv".into(),
        worksheet: None,
        sha256: sha,
        payouts_sha256: None,
    })
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if pos.len() != 2 {
        eprintln!(
            "usage: book_probe PATH N [--reuse] [--already-paid [--repeat=K] [--ledger-parts]] [--step-peaks] [--breakdown] [--only-build] [--skip-csv] [--record-latency=M] [--no-steps] [--sheet-dir=DIR]"
        );
        std::process::exit(2);
    }
    let path = PathBuf::from(pos[0]);
    let n: u64 = pos[1].parse()?;
    let reuse = flags.contains(&"--reuse");
    println!(
        "book_probe: {} orders, book {}, load {}",
        n,
        path.display(),
        load()
    );

    let make_plan = || {
        let t = Instant::now();
        let plan = bookgen::plan(n);
        println!(
            "plan of {n} rows generated in {:.1} s (rss {:.1} MB, peak {:.1} MB: the sheet's share, not the book's)",
            t.elapsed().as_secs_f64(),
            mb(status_kb("VmRSS:")),
            mb(status_kb("VmHWM:"))
        );
        plan
    };
    let mut plan = Vec::new();
    let have = reuse && path.exists() && {
        // The first open of an older book migrates it: timed apart from the steps.
        let t = Instant::now();
        let book = Book::open(&path);
        println!(
            "first open of the existing book: {:.3} s (includes a schema migration, if any)",
            t.elapsed().as_secs_f64()
        );
        book.ok()
            .and_then(|b| bookgen::find_run(&b).ok().flatten().map(|(_, r)| (b, r)))
            .is_some_and(|(b, r)| b.run_counts(&r).map(|c| c.total() == n).unwrap_or(false))
    };
    if have {
        println!("reusing the book at {}", path.display());
    } else {
        bookgen::remove_book(&path);
        println!("building the book at {} (load {})", path.display(), load());
        plan = make_plan();
        let snapshot = bookgen::snapshot(&plan);
        let built = match flags.iter().find_map(|f| f.strip_prefix("--sheet-dir=")) {
            Some(dir) => {
                let info = write_sheet(Path::new(dir), &plan)?;
                bookgen::build_for(&path, &plan, &snapshot, true, info)?
            }
            None => bookgen::build(&path, &plan, &snapshot, true)?,
        };
        drop(snapshot);
        println!(
            "built: plan saved in {:.1} s, {} events recorded in {:.1} s ({} per record call), run packed in {:.1} s, load {}",
            built.plan.as_secs_f64(),
            3 * n,
            built.events.as_secs_f64(),
            bookgen::BATCH,
            built.pack.as_secs_f64(),
            load()
        );
        let (db, wal) = bookgen::file_sizes(&path);
        println!("right after the build: book.sqlite {db} B, -wal {wal} B");
    }
    let (db, wal) = bookgen::file_sizes(&path);
    println!(
        "size on disk: book.sqlite {db} B + -wal {wal} B = {} B, {:.1} B per finished order",
        db + wal,
        (db + wal) as f64 / n as f64
    );
    if let Some(dir) = flags.iter().find_map(|f| f.strip_prefix("--sheet-dir=")) {
        if plan.is_empty() {
            plan = make_plan();
        }
        // Built for this sheet above (a reused book was built for the same one).
        let sheet = PathBuf::from(write_sheet(Path::new(dir), &plan)?.path);
        println!(
            "the run's sheet: {} — time the real binary on it (the first call writes and records the results ledger, later ones find it current):\n  PAYRUN_BOOK={} PAYRUN_GATEWAY=2328 PAYRUN_PROJECT={} PAYRUN_API_KEY=unused /usr/bin/time -v target/release/payrun run {} --yes",
            sheet.display(),
            path.display(),
            bookgen::PROJECT,
            sheet.display()
        );
    }
    if flags.contains(&"--block-levels") {
        block_levels(&path)?;
    }
    if flags.contains(&"--only-build") {
        if flags.contains(&"--breakdown") {
            breakdown(&path, n)?;
        }
        return Ok(());
    }
    let csv = !flags.contains(&"--skip-csv");
    let reset = flags.contains(&"--step-peaks");
    let repeat = flags
        .iter()
        .find_map(|f| f.strip_prefix("--repeat="))
        .map(str::parse)
        .transpose()?
        .unwrap_or(1usize)
        .max(1);
    if flags.contains(&"--no-steps") {
        drop(plan);
    } else if flags.contains(&"--already-paid") {
        drop(plan);
        already_paid(
            &path,
            n,
            csv,
            reset,
            repeat,
            flags.contains(&"--ledger-parts"),
        )?;
    } else {
        if plan.is_empty() {
            plan = make_plan();
        }
        every_step(&path, n, &mut plan, csv, reset)?;
    }

    if let Some(m) = flags
        .iter()
        .find_map(|f| f.strip_prefix("--record-latency="))
    {
        record_latency(&path, m.parse()?)?;
    }
    if flags.contains(&"--breakdown") {
        breakdown(&path, n)?;
    }
    Ok(())
}
