//! `payrun webhook serve` under misuse and load, on loopback against the real binary: hundreds
//! of idle or half-sent connections do not delay a genuine delivery, connections beyond the cap
//! wait in the listen backlog without costing the server a file descriptor, idle and slow
//! clients are dropped after the header timeout, a stalled body after the body timeout,
//! oversized bodies get 413, and SIGTERM ends the process within 5 seconds with idle clients
//! still connected, after rewriting the results ledger. Every count is bounded and kept below
//! the open-file limit; every socket is on 127.0.0.1 and closed at the end of its test.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use payrun::commands::webhook_server::{
    BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT, MAX_BODY, MAX_CONNECTIONS,
};
use payrun::gateway::webhook::signed_2328_webhook_body;
use payrun::sandbox::api2328::result_object;
use payrun::sandbox::{Sandbox, SandboxPayout};

/// Every test here runs one at a time: the load tests measure latencies and count the
/// server's open files, and the other two, run beside them, made the cap test fail about one
/// run in five (the server held none of the 512 idle connections within 15 s; reproduced on
/// the commit before this lock, never alone: a bare server accepts all 512 in under a second).
/// Serialised, 10 runs of this file passed.
static LOAD: Mutex<()> = Mutex::new(());

/// The most a genuine delivery may take while idle connections hold the server.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(1);
/// The most the process may take to end after SIGTERM.
const EXIT_DEADLINE: Duration = Duration::from_secs(5);

/// A sandbox where nothing settles, a paid one-row sheet, and `serve` on the same book.
struct Setup {
    sb: Sandbox,
    dir: tempfile::TempDir,
    book: PathBuf,
    serve: Option<Serve>,
}

fn setup() -> Setup {
    let mut cfg = sandbox_config();
    cfg.settle_after = Duration::from_secs(600);
    let sb = start(cfg);
    let dir = tempfile::tempdir().unwrap();
    let sheet = write_sheet(dir.path(), "pay.csv", 1);
    let env: HashMap<String, String> = env_for(&sb, Gw::G2328);
    let o = run_ok(
        dir.path(),
        &env,
        &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let book = book_path(dir.path(), &env);
    let serve = Serve::start(dir.path(), &env);
    Setup {
        sb,
        dir,
        book,
        serve: Some(serve),
    }
}

impl Setup {
    fn port(&self) -> u16 {
        self.serve.as_ref().unwrap().port
    }

    fn pid(&self) -> u32 {
        self.serve.as_ref().unwrap().child.as_ref().unwrap().id()
    }

    /// The sandbox's payout, settled with `txid`, as a genuine signed 2328 webhook body.
    fn genuine_delivery(&self, txid: &str) -> (SandboxPayout, Vec<u8>) {
        let mut p = self.sb.payouts()[0].clone();
        p.status = payrun::model::Status::Completed;
        p.gateway_status = "completed".into();
        p.txid = Some(txid.into());
        p.block_number = Some(77);
        p.updated_at = p.created_at + chrono::Duration::seconds(30);
        let serde_json::Value::Object(payload) = result_object(&p) else {
            panic!("a 2328 result is an object");
        };
        let body = signed_2328_webhook_body(&self.sb.config().payout_key, &payload);
        (p, body)
    }

    /// Sends SIGTERM and waits up to `EXIT_DEADLINE` + 5 s for the process to end; returns its
    /// output and how long it took.
    fn terminate(&mut self) -> (Output, Duration) {
        let child = self.serve.take().unwrap().child.take().unwrap();
        terminate(child)
    }

    /// The results ledger's rows.
    fn ledger(&self) -> Vec<HashMap<String, String>> {
        read_csv_rows(&self.dir.path().join("pay.results.csv"))
    }
}

fn terminate(child: Child) -> (Output, Duration) {
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(Instant::now());
        out
    });
    let sent = Instant::now();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(st.success(), "kill -TERM {pid} failed");
    let ended = rx
        .recv_timeout(EXIT_DEADLINE + Duration::from_secs(5))
        .unwrap_or_else(|_| {
            // Not ended: kill it so the test leaves nothing behind, then fail.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
            panic!("serve did not end within {EXIT_DEADLINE:?} + 5 s of SIGTERM");
        });
    let out = waiter.join().unwrap().expect("serve ends");
    (out, ended - sent)
}

/// The soft limit on open files here (`ulimit -n`), which the server inherits.
fn open_file_limit() -> usize {
    let out = std::process::Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .expect("sh runs");
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if s == "unlimited" {
        usize::MAX
    } else {
        s.parse().unwrap_or_else(|_| panic!("ulimit -n said {s:?}"))
    }
}

/// `want` idle connections, or fewer when the open-file limit is low: each process (this test
/// and the server) keeps 100 descriptors spare.
fn bounded(want: usize) -> usize {
    let limit = open_file_limit();
    let n = want.min(limit.saturating_sub(100));
    eprintln!("ulimit -n is {limit}: opening {n} idle connections");
    n
}

/// How many files the process `pid` has open (Linux); `None` elsewhere.
fn open_files(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// `n` connections to the server that send no complete request: even ones send nothing, odd
/// ones half a request head, then stall.
fn idle_connections(port: u16, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            if i % 2 == 1 {
                s.write_all(b"POST /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
                    .unwrap();
            }
            s
        })
        .collect()
}

/// POSTs `body` on a bare socket, waiting up to `wait` for the answer; returns the status code
/// (`None`: no answer) and how long the answer took.
fn post(port: u16, body: &[u8], wait: Duration) -> (Option<u16>, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(wait)).unwrap();
    let head = format!(
        "POST /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    (status_of(&answer), started.elapsed())
}

fn status_of(answer: &[u8]) -> Option<u16> {
    String::from_utf8_lossy(answer)
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Reads from `s` until the server closes the connection (or `wait` passes); returns what was
/// read and when the connection was closed, measured from `since` (`None`: still open).
fn until_closed(s: &mut TcpStream, since: Instant, wait: Duration) -> (Vec<u8>, Option<Duration>) {
    let deadline = since + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (got, None);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (got, Some(since.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (got, None)
            }
            // Reset by the server: closed too.
            Err(_) => return (got, Some(since.elapsed())),
        }
    }
}

#[test]
fn a_delivery_is_answered_at_once_beside_hundreds_of_idle_connections_and_sigterm_ends_promptly() {
    let _one = LOAD.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = setup();
    let n = bounded(400);
    assert!(n < MAX_CONNECTIONS, "this test stays below the cap");
    let before = open_files(s.pid());
    let idle = idle_connections(s.port(), n);
    // Every idle connection is accepted and held by the server (not waiting in the backlog).
    if let Some(before) = before {
        assert!(
            wait_until(10.0, || open_files(s.pid()).unwrap_or(0) >= before + n),
            "the server never held {n} connections: {:?} open files, {before} before",
            open_files(s.pid())
        );
    }

    let (p, body) = s.genuine_delivery(&"cd".repeat(32));
    let (code, took) = post(s.port(), &body, Duration::from_secs(10));
    eprintln!(
        "measured: a genuine delivery beside {n} idle connections answered {code:?} in {took:?} \
         (server holds {:?} open files)",
        open_files(s.pid())
    );
    assert_eq!(code, Some(200));
    assert!(took < DELIVERY_DEADLINE, "the delivery took {took:?}");
    let hooks = results_from(&s.book, "webhook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["order_id"], p.order_id.as_str());
    assert_eq!(hooks[0]["state"]["status"], "completed");

    // SIGTERM with every idle connection still open.
    assert_eq!(s.ledger()[0]["status"], "pending", "the ledger `run` wrote");
    let (out, took) = s.terminate();
    eprintln!("measured: SIGTERM with {n} idle connections open: exited in {took:?}");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(took < EXIT_DEADLINE, "exit took {took:?}: {}", text(&out));
    drop(idle);
    // The results ledger was rewritten on the way out.
    let rows = s.ledger();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "completed", "{rows:?}");
    assert_eq!(rows[0]["txid"], "cd".repeat(32));
}

#[test]
fn connections_beyond_the_cap_wait_in_the_backlog_and_cost_the_server_no_descriptor() {
    let _one = LOAD.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = setup();
    let n = bounded(MAX_CONNECTIONS + 88);
    assert!(
        n > MAX_CONNECTIONS,
        "the open-file limit leaves no room to pass the cap"
    );
    let pid = s.pid();
    let before = open_files(pid);
    // Up to the cap: all accepted (a burst of connects may wait a second or two for room in
    // the listen backlog while the server accepts).
    let mut idle = idle_connections(s.port(), MAX_CONNECTIONS);
    if let Some(before) = before {
        assert!(
            wait_until(15.0, || open_files(pid).unwrap_or(0)
                >= before + MAX_CONNECTIONS),
            "the server never held the cap's {MAX_CONNECTIONS} connections: {:?} open files",
            open_files(pid)
        );
    }
    // Beyond the cap: they wait in the backlog; the server opens no descriptor for them.
    idle.extend(idle_connections(s.port(), n - MAX_CONNECTIONS));
    if let Some(before) = before {
        std::thread::sleep(Duration::from_millis(500));
        let now = open_files(pid).unwrap_or(0);
        eprintln!(
            "measured: {n} idle connections, the server holds {now} open files ({before} before)"
        );
        assert!(
            now <= before + MAX_CONNECTIONS,
            "{now} open files: more than {before} + the cap of {MAX_CONNECTIONS}"
        );
    }

    // A delivery waits behind them and is served once the first idle ones time out.
    let (p, body) = s.genuine_delivery(&"ef".repeat(32));
    let wait = HEADER_READ_TIMEOUT + Duration::from_secs(2);
    let (code, took) = post(s.port(), &body, wait + Duration::from_secs(5));
    eprintln!(
        "measured: a delivery behind {n} idle connections (cap {MAX_CONNECTIONS}) answered \
         {code:?} after {took:?}"
    );
    assert_eq!(code, Some(200));
    assert!(took < wait, "the delivery waited {took:?}");
    let hooks = results_from(&s.book, "webhook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["order_id"], p.order_id.as_str());

    assert_eq!(s.ledger()[0]["status"], "pending", "the ledger `run` wrote");
    let (out, took) = s.terminate();
    eprintln!("measured: SIGTERM with {n} connections open or waiting: exited in {took:?}");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(took < EXIT_DEADLINE, "exit took {took:?}: {}", text(&out));
    drop(idle);
    assert_eq!(s.ledger()[0]["status"], "completed");
}

#[test]
fn idle_slow_and_stalled_clients_are_dropped_after_their_timeouts() {
    let _one = LOAD.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = setup();
    let port = s.port();
    let before = book_record(&s.book);
    let limit = HEADER_READ_TIMEOUT + Duration::from_secs(3);

    // Connected, nothing sent.
    let silent = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        until_closed(&mut c, Instant::now(), limit)
    });
    // Headers one byte a second: never complete within the header timeout.
    let slow = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let started = Instant::now();
        let head = b"POST /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaa";
        for b in head {
            if started.elapsed() >= limit || c.write_all(&[*b]).is_err() {
                break;
            }
            let (got, closed) = until_closed(&mut c, Instant::now(), Duration::from_secs(1));
            if closed.is_some() {
                return (got, Some(started.elapsed()));
            }
        }
        (Vec::new(), None)
    });
    // One request answered on a kept-alive connection, then idle.
    let kept = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"GET /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        let answered = Instant::now();
        let (rest, closed) = until_closed(&mut c, answered, limit);
        answer.extend_from_slice(&rest);
        (answer, closed)
    });
    // A body announced as 100 bytes, 10 sent, then a stall.
    let stalled = std::thread::spawn(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(
            b"POST /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"order_id",
        )
        .unwrap();
        until_closed(
            &mut c,
            Instant::now(),
            BODY_READ_TIMEOUT + Duration::from_secs(3),
        )
    });

    let (got, closed) = silent.join().unwrap();
    eprintln!("measured: a silent connection closed after {closed:?}");
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    let closed = closed.expect("a silent connection is closed");
    assert!(
        closed >= HEADER_READ_TIMEOUT - Duration::from_millis(500),
        "{closed:?}"
    );

    let (got, closed) = slow.join().unwrap();
    eprintln!(
        "measured: slow headers dropped after {closed:?} ({:?})",
        String::from_utf8_lossy(&got)
    );
    let closed = closed.expect("slow headers are dropped");
    assert!(
        closed >= HEADER_READ_TIMEOUT - Duration::from_millis(500),
        "{closed:?}"
    );

    let (answer, closed) = kept.join().unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    eprintln!("measured: an idle kept-alive connection closed {closed:?} after its answer");
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    let closed = closed.expect("an idle kept-alive connection is closed");
    assert!(
        closed >= HEADER_READ_TIMEOUT - Duration::from_millis(500),
        "{closed:?}"
    );

    let (answer, closed) = stalled.join().unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    eprintln!("measured: a stalled body answered {answer:?}, closed after {closed:?}");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let closed = closed.expect("a stalled body's connection is closed");
    assert!(
        closed >= BODY_READ_TIMEOUT - Duration::from_millis(500),
        "{closed:?}"
    );

    assert_eq!(
        book_record(&s.book),
        before,
        "a dropped client changed the book"
    );
    let (out, _) = s.terminate();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
}

#[test]
fn a_body_over_the_limit_is_answered_413_and_recorded_nowhere() {
    let _one = LOAD.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = setup();
    let port = s.port();
    let before = book_record(&s.book);

    // Announced too large: refused before the body is read.
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY + 1
    );
    c.write_all(head.as_bytes()).unwrap();
    let (answer, _) = until_closed(&mut c, Instant::now(), Duration::from_secs(5));
    assert_eq!(
        status_of(&answer),
        Some(413),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // Chunked, no length given: refused once the limit is passed.
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut w = c.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let _ = w.write_all(
            b"POST /hooks/payout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for _ in 0..(MAX_BODY / chunk.len() + 2) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if w.write_all(&framed).is_err() {
                return;
            }
        }
        let _ = w.write_all(b"0\r\n\r\n");
    });
    let (answer, _) = until_closed(&mut c, Instant::now(), Duration::from_secs(10));
    let _ = c.shutdown(std::net::Shutdown::Both);
    writer.join().unwrap();
    assert_eq!(
        status_of(&answer),
        Some(413),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // A webhook of ordinary size is still welcome.
    let (_, body) = s.genuine_delivery(&"12".repeat(32));
    assert!(body.len() < MAX_BODY);
    assert_eq!(post(port, &body, Duration::from_secs(10)).0, Some(200));

    let after = book_record(&s.book);
    assert_eq!(
        after.0.len(),
        before.0.len() + 1,
        "only the genuine delivery is recorded"
    );
    let (out, _) = s.terminate();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
}
