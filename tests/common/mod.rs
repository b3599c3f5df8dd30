//! Shared helpers for the end-to-end tests: sheets with real valid addresses, the in-process
//! sandbox, and the real `payrun` binary pointed at it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use payrun::sandbox::{Sandbox, SandboxConfig};

pub const BIN: &str = env!("CARGO_BIN_EXE_payrun");

/// A valid TRON address (base58check, version 0x41) derived from `n`.
pub fn tron_address(n: u32) -> String {
    let mut payload = vec![0x41u8];
    let mut body = [0u8; 20];
    body[..4].copy_from_slice(&n.to_be_bytes());
    body[4..8].copy_from_slice(&n.wrapping_mul(2654435761).to_le_bytes());
    body[19] = 7;
    payload.extend_from_slice(&body);
    bs58::encode(payload).with_check().into_string()
}

/// Writes a TRX-TRC20 USDT sheet of `rows` rows (amounts 10.01, 10.02, …; above the
/// sandbox's fees) and returns its path.
pub fn write_sheet(dir: &Path, name: &str, rows: u32) -> PathBuf {
    let mut s = String::from("to_address,amount,currency,network,name\n");
    for i in 0..rows {
        s.push_str(&format!(
            "{},{}.{:02},USDT,TRX-TRC20,Person {}\n",
            tron_address(i + 1),
            10 + i / 100,
            i % 100 + 1,
            i + 1
        ));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gw {
    G2328,
    BlockAtm,
}

impl Gw {
    pub fn name(self) -> &'static str {
        match self {
            Gw::G2328 => "2328",
            Gw::BlockAtm => "blockatm",
        }
    }
}

/// Test credentials that are distinctive enough to grep for.
pub const KEY_2328: &str = "k2328-SECRET-do-not-print-7f3a";
pub const API_KEY: &str = "bk-APIKEY-do-not-print-91c2";
pub const SECRET: &str = "bs-SECRET-do-not-print-55d0";

pub fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        project: "11111111-2222-4333-8444-555555555555".into(),
        payout_key: KEY_2328.into(),
        api_key: API_KEY.into(),
        secret: SECRET.into(),
        contract_id: "TEST-CONTRACT".into(),
        blockatm_chain: "TRX-TRC20".into(),
        settle_after: std::time::Duration::from_millis(200),
        // The tests pace themselves with --rate; the sandbox's limits are tested on their own.
        rate_2328_per_sec: 0,
        rate_blockatm_per_min: 0,
        ..SandboxConfig::default()
    }
}

pub fn start(cfg: SandboxConfig) -> Sandbox {
    Sandbox::start(cfg, "127.0.0.1:0".parse().unwrap()).expect("sandbox starts")
}

/// The environment that points the binary at the sandbox for one gateway.
pub fn env_for(sb: &Sandbox, gw: Gw) -> HashMap<String, String> {
    let c = sb.config();
    let mut env = HashMap::new();
    env.insert("PAYRUN_GATEWAY".into(), gw.name().into());
    // The tests pace themselves with --rate far above the published limits, against a sandbox
    // whose limits are off (`sandbox_config`): allowed here once. `tests/rate_and_wait.rs`
    // removes it to test the refusal.
    match gw {
        Gw::G2328 => {
            env.insert("PAYRUN_BASE_URL".into(), sb.base_url_2328());
            env.insert("PAYRUN_PROJECT".into(), c.project.clone());
            env.insert("PAYRUN_API_KEY".into(), c.payout_key.clone());
        }
        Gw::BlockAtm => {
            env.insert("PAYRUN_BASE_URL".into(), sb.base_url_blockatm());
            env.insert("PAYRUN_API_KEY".into(), c.api_key.clone());
            env.insert("PAYRUN_API_SECRET".into(), c.secret.clone());
            env.insert("PAYRUN_CONTRACT_ID".into(), c.contract_id.clone());
            env.insert("PAYRUN_NETWORK".into(), c.blockatm_chain.clone());
        }
    }
    env
}

/// The book a `payrun` command in `dir` with `env` uses: `PAYRUN_BOOK` when `env` names one
/// (a test sharing one book across folders), else `<dir>/book.sqlite`.
pub fn book_path(dir: &Path, env: &HashMap<String, String>) -> PathBuf {
    match env.get("PAYRUN_BOOK") {
        Some(b) => dir.join(b),
        None => dir.join("book.sqlite"),
    }
}

/// The `HOME` every `payrun` command in `dir` runs with: a folder inside `dir`, so the platform
/// data directory (the default book) is never the real user's.
pub fn home_of(dir: &Path) -> PathBuf {
    dir.join(".home")
}

/// A `payrun` command in `dir` with only the given PAYRUN_* environment, its own book
/// (`PAYRUN_BOOK=<dir>/book.sqlite` unless `env` names one) and `HOME` inside `dir`.
pub fn payrun(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PAYRUN_")) {
        cmd.env_remove(k);
    }
    let home = home_of(dir);
    std::fs::create_dir_all(&home).expect("a HOME inside the test folder");
    for k in [
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "APPDATA",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("HOME", &home);
    if !env.contains_key("PAYRUN_BOOK") {
        cmd.env("PAYRUN_BOOK", dir.join("book.sqlite"));
    }
    cmd.envs(env);
    cmd.env("NO_COLOR", "1");
    cmd
}

pub fn run_ok(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> Output {
    payrun(dir, env, args).output().expect("payrun runs")
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts that the sandbox created exactly one payout per expected order and nothing else:
/// every address of the sheet paid once, with its amount.
pub fn assert_paid_exactly_once(sb: &Sandbox, rows: u32) {
    let payouts = sb.payouts();
    let mut by_addr: HashMap<String, usize> = HashMap::new();
    for p in &payouts {
        *by_addr.entry(p.address.clone()).or_default() += 1;
    }
    let dupes: Vec<_> = by_addr.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "paid more than once: {dupes:?}");
    assert_eq!(
        payouts.len(),
        rows as usize,
        "payouts created: {}",
        payouts.len()
    );
    for i in 0..rows {
        assert_eq!(
            by_addr.get(&tron_address(i + 1)),
            Some(&1),
            "row {} not paid once",
            i + 2
        );
    }
    let mut ids: Vec<_> = payouts.iter().map(|p| p.order_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), payouts.len(), "an order id was paid twice");
}

/// Writes a payrun.toml with short timeouts into `dir`.
pub fn short_timeouts(dir: &Path, request_secs: f64) {
    std::fs::write(
        dir.join("payrun.toml"),
        format!("connect_timeout_secs = 2\nrequest_timeout_secs = {request_secs}\n"),
    )
    .unwrap();
}

// ---- Reconciliation helpers (webhook serve, status, report) ----

/// A loopback port that was free a moment ago (bound to :0, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind :0");
    l.local_addr().expect("local addr").port()
}

/// POSTs `body` to `http://127.0.0.1:port{path}` over plain HTTP/1.1 and returns the status
/// code. Written on a bare socket so the test shares no HTTP client code with payrun.
pub fn http_post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default();
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

/// A thread reading one of a child's outputs to its end.
type Gathered = std::thread::JoinHandle<Vec<u8>>;

/// A running `payrun webhook serve` child.
pub struct Serve {
    pub child: Option<std::process::Child>,
    /// The port the server itself reported listening on.
    pub port: u16,
    /// The threads gathering its stdout and stderr.
    output: Option<(Gathered, Gathered)>,
}

impl Serve {
    /// Starts `payrun webhook serve --listen 127.0.0.1:0` in `dir` (on the book `payrun` gives
    /// it) and waits until it says which port it listens on. The port is the server's own:
    /// a port picked beforehand could be taken by another test's listener in between, and
    /// the test would then talk to that one.
    pub fn start(dir: &Path, env: &HashMap<String, String>) -> Serve {
        Serve::start_on(dir, env, 0)
    }

    /// [`Serve::start`] on a port chosen beforehand (a callback URL given to the gateway
    /// first): the server must say it listens on that very port.
    pub fn start_on(dir: &Path, env: &HashMap<String, String>, port: u16) -> Serve {
        use std::io::{BufRead as _, Read as _};
        let listen = format!("127.0.0.1:{port}");
        let mut child = payrun(dir, env, &["webhook", "serve", "--listen", &listen])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("serve starts");
        let (lines, said) = std::sync::mpsc::channel::<String>();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut line = Vec::new();
            while err
                .read_until(b'\n', &mut line)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                let _ = lines.send(String::from_utf8_lossy(&line).into_owned());
                all.append(&mut line);
            }
            all
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = out.read_to_end(&mut all);
            all
        });
        let mut serve = Serve {
            child: Some(child),
            port: 0,
            output: Some((stdout, stderr)),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seen = String::new();
        while serve.port == 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match said.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    serve.port = line
                        .split_once("webhooks on http://")
                        .and_then(|(_, rest)| rest.split_whitespace().next())
                        .and_then(|addr| addr.parse::<std::net::SocketAddr>().ok())
                        .map_or(0, |a| a.port());
                }
                Err(_) => {
                    let out = serve.finish();
                    panic!("serve never said where it listens: {seen}{}", text(&out));
                }
            }
        }
        assert!(
            port == 0 || serve.port == port,
            "serve listens on {} instead of {port}",
            serve.port
        );
        serve
    }

    /// Waits for the process to end and gathers everything it printed.
    fn finish(&mut self) -> Output {
        let mut child = self.child.take().expect("running");
        let status = child.wait().expect("serve ends");
        let (stdout, stderr) = self.output.take().expect("output not gathered yet");
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits for the process to end.
    pub fn interrupt(mut self) -> Output {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let st = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(st.success(), "kill -INT {pid} failed");
        self.finish()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every event of a book, oldest first, as `payrun book export` writes them: the event's own
/// JSON (`{"event":"result","order_id":…}`) with `seq`, `account`, `run` and `hash` (hex) added.
/// Read straight from the SQLite file, read-only (beside a running payrun: WAL readers never
/// block it).
pub fn book_events(book: &Path) -> Vec<serde_json::Value> {
    try_book_events(book).unwrap_or_else(|e| panic!("book {}: {e}", book.display()))
}

/// `book_events`, or why the book cannot be read (yet): no file, no schema.
pub fn try_book_events(book: &Path) -> Result<Vec<serde_json::Value>, String> {
    use rusqlite::{Connection, OpenFlags};
    let e = |e: rusqlite::Error| e.to_string();
    let conn = Connection::open_with_flags(
        book,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(e)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(e)?;
    let mut stmt = conn
        .prepare("SELECT seq, account, run, body, hash FROM events ORDER BY seq")
        .map_err(e)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                // Stored compressed from schema 6 on (payrun::book::codec).
                payrun::book::codec::decode_str(r.get_ref(3)?)
                    .expect("event body decodes")
                    .expect("event body present"),
                r.get::<_, Vec<u8>>(4)?,
            ))
        })
        .map_err(e)?;
    /// seq, account, run, body, hash.
    type EventRow = (i64, i64, Option<i64>, String, Vec<u8>);
    let mut all: Vec<EventRow> = rows.collect::<Result<_, _>>().map_err(e)?;
    // A finished run's order events are packed into blocks (payrun::book::packed).
    if has_table(&conn, "packed_ranges") {
        let mut walk = payrun::book::packed::SeqWalk::new(&conn).map_err(|x| x.to_string())?;
        while let Some(ev) = walk.next(&conn).map_err(|x| x.to_string())? {
            all.push((ev.seq, ev.account, ev.run, ev.body, ev.hash));
        }
        all.sort_by_key(|x| x.0);
    }
    let mut out = Vec::new();
    for (seq, account, run, body, hash) in all {
        let mut v: serde_json::Value = serde_json::from_str(&body).expect("event body is JSON");
        let o = v.as_object_mut().expect("event body is an object");
        o.insert("seq".into(), seq.into());
        o.insert("account".into(), account.into());
        o.insert("run".into(), run.into());
        o.insert("hash".into(), hex::encode(hash).into());
        out.push(v);
    }
    Ok(out)
}

/// Every order row of a book (as sealed by payrun), in row order: what the book says each order
/// is now.
pub fn book_orders(book: &Path) -> Vec<serde_json::Value> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(
        book,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("book {} readable: {e}", book.display()));
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT o.order_id, r.run_id, o.line, o.status, o.state, o.error, o.updated_at, \
             o.sent, o.last_seq, (SELECT body FROM events WHERE seq = o.last_seq) \
             , o.id FROM orders o JOIN runs r ON r.id = o.run ORDER BY o.id",
        )
        .expect("the book has an orders table");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(10)?,
                serde_json::json!({
                    "order_id": r.get::<_, String>(0)?,
                    "run_id": r.get::<_, String>(1)?,
                    "line": r.get::<_, i64>(2)?,
                    "status": r.get::<_, String>(3)?,
                    "state": payrun::book::codec::order_state(r.get_ref(4)?, r.get_ref(9)?)
                        .expect("order state decodes"),
                    "error": r.get::<_, Option<String>>(5)?,
                    "updated_at": r.get::<_, String>(6)?,
                    "sent": r.get::<_, bool>(7)?,
                    "last_seq": r.get::<_, i64>(8)?,
                }),
            ))
        })
        .expect("orders readable");
    let mut out: Vec<(i64, serde_json::Value)> = rows.map(|r| r.expect("order row")).collect();
    // Orders of packed runs, from their blocks (payrun::book::packed).
    if has_table(&conn, "packed_blocks") {
        use payrun::book::packed;
        use rusqlite::types::Value;
        for id in packed::all_blocks(&conn, None).expect("blocks listed") {
            let block = packed::load_block(&conn, id)
                .expect("block readable")
                .expect("block present");
            let run_id: String = conn
                .query_row("SELECT run_id FROM runs WHERE id = ?1", [block.run], |r| {
                    r.get(0)
                })
                .expect("the block's run");
            for o in &block.orders {
                let int = |i: usize| match &o.order[i] {
                    Value::Integer(n) => *n,
                    _ => 0,
                };
                let text = |i: usize| match &o.order[i] {
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                };
                out.push((
                    o.id(),
                    serde_json::json!({
                        "order_id": o.order_id(),
                        "run_id": run_id,
                        "line": int(packed::oc::LINE),
                        "status": o.status(),
                        "state": packed::state_json(o).expect("order state decodes"),
                        "error": text(packed::oc::ERROR),
                        "updated_at": text(packed::oc::UPDATED_AT).unwrap_or_default(),
                        "sent": o.sent(),
                        "last_seq": int(packed::oc::LAST_SEQ),
                    }),
                ));
            }
        }
    }
    out.sort_by_key(|(id, _)| *id);
    out.into_iter().map(|(_, v)| v).collect()
}

/// Whether the book has table `name` (packed tables came with schema 13).
fn has_table(conn: &rusqlite::Connection, name: &str) -> bool {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
    .unwrap_or(false)
}

/// Everything a book records about payouts: its events and its order rows. Equal before and
/// after means nothing was recorded in between.
pub fn book_record(book: &Path) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    (book_events(book), book_orders(book))
}

/// The `result` events of a book from one source (`create`, `lookup`, `status`, `webhook`).
pub fn results_from(book: &Path, source: &str) -> Vec<serde_json::Value> {
    book_events(book)
        .into_iter()
        .filter(|e| e["event"] == "result" && e["source"] == source)
        .collect()
}

/// Every event of the book through the real binary: `payrun book export --out FILE.jsonl`
/// in `dir` with `env`, read back one JSON object a line.
pub fn exported_events(dir: &Path, env: &HashMap<String, String>) -> Vec<serde_json::Value> {
    let out = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile_in(dir)
        .unwrap();
    let path = out.path().to_str().unwrap().to_string();
    let o = run_ok(dir, env, &["book", "export", "--out", &path, "--force"]);
    assert_eq!(o.status.code(), Some(0), "book export: {}", text(&o));
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an exported line is JSON"))
        .collect()
}

/// Polls `cond` every 50 ms for up to `secs` seconds.
pub fn wait_until(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A CSV file as header → cell maps, read with the csv crate.
pub fn read_csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("csv readable");
    let headers: Vec<String> = r
        .headers()
        .expect("csv header")
        .iter()
        .map(str::to_string)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.expect("csv record");
            headers
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// The sandbox's payouts by order id.
pub fn payouts_by_order(sb: &Sandbox) -> HashMap<String, payrun::sandbox::SandboxPayout> {
    sb.payouts()
        .into_iter()
        .map(|p| (p.order_id.clone(), p))
        .collect()
}

/// A decimal from a ledger cell (panics with the text when it is not one).
pub fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse()
        .unwrap_or_else(|e| panic!("not a decimal: {s:?}: {e}"))
}

/// Every command path, the top level first (for the help tests).
#[allow(dead_code)]
pub const HELP_COMMANDS: &[&[&str]] = &[
    &[],
    &["validate"],
    &["quote"],
    &["approve"],
    &["run"],
    &["status"],
    &["report"],
    &["runs"],
    &["history"],
    &["book"],
    &["book", "verify"],
    &["book", "export"],
    &["webhook"],
    &["webhook", "serve"],
    &["webhook", "verify"],
    &["sandbox"],
    &["template"],
    &["init"],
    &["completions"],
];

/// The env for `gw` with a book at `book` (shared by every command of a test) and a quick
/// submission rate.
#[allow(dead_code)]
pub fn env_with_book(
    sb: &payrun::sandbox::Sandbox,
    gw: Gw,
    book: &Path,
) -> HashMap<String, String> {
    let mut env = env_for(sb, gw);
    env.insert("PAYRUN_BOOK".into(), book.display().to_string());
    env.insert("PAYRUN_RATE".into(), "200".into());
    env
}
