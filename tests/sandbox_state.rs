//! The sandbox's state file: a sandbox started again on the same file (a new in-process
//! sandbox, or the real `payrun sandbox` binary killed with SIGKILL) meets a gateway that
//! remembers every payout, as a live gateway would; `payrun sandbox --reset` forgets them.

mod sandbox_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use payrun::gateway::{
    BlockAtmClient, Client2328, Gateway, GatewayError, HttpSettings, PayoutRequest, PayoutType,
};
use payrun::model::{FeeOption, GatewayKind, OrderId, Status};
use payrun::sandbox::{Sandbox, SandboxConfig, ENV_VARS};
use rust_decimal::Decimal;
use sandbox_support::*;

fn with_file(path: &Path, settle: Duration) -> SandboxConfig {
    SandboxConfig {
        settle_after: settle,
        aml_flagged: vec![FLAGGED.to_string()],
        state_file: Some(path.to_path_buf()),
        ..quiet()
    }
}

fn req(id: &str, amount: &str, to: &str) -> PayoutRequest {
    PayoutRequest {
        order_id: OrderId(id.into()),
        currency: "USDT".into(),
        network: "TRX-TRC20".into(),
        amount: Decimal::from_str(amount).unwrap(),
        to_address: to.into(),
        memo: None,
        fee_option: FeeOption::Deduct,
        from_currency: None,
        remark: None,
        url_callback: None,
    }
}

fn c2328(base: String, c: &SandboxConfig) -> Client2328 {
    Client2328::new(
        HttpSettings::new(base),
        c.project.clone(),
        c.payout_key.clone(),
    )
    .unwrap()
}

fn cbatm(base: String, c: &SandboxConfig) -> BlockAtmClient {
    BlockAtmClient::new(
        HttpSettings::new(base),
        c.api_key.clone(),
        c.secret.clone(),
        c.contract_id.clone(),
        PayoutType::Balance,
        None,
    )
    .unwrap()
}

fn order(id: &str) -> OrderId {
    OrderId(id.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_sandbox_remembers_every_payout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sandbox.json");
    let config = with_file(&path, Duration::from_millis(1500));

    let sb = start(config.clone());
    let g = c2328(sb.base_url_2328(), &config);
    let b = cbatm(sb.base_url_blockatm(), &config);
    let first = g.create(&req("g-1", "100.00", TRON_ADDR)).await.unwrap();
    g.create(&req("g-aml", "10", FLAGGED)).await.unwrap();
    b.create(&req("b-1", "25.5", TRON_ADDR)).await.unwrap();
    let items = b
        .create_batch(&[req("b-2", "1", TRON_ADDR), req("b-3", "2", TRON_ADDR_2)])
        .await
        .unwrap();
    assert!(items.iter().all(|(_, r)| r.is_ok()), "{items:?}");
    let balances = g.balance().await.unwrap();
    let before = sb.payouts();
    assert_eq!(before.len(), 5);
    assert!(before.iter().all(|p| p.status == Status::Pending));
    sb.shutdown();

    // A new sandbox on the same file: same payouts, same indexes, same balances.
    let sb = start(config.clone());
    let g = c2328(sb.base_url_2328(), &config);
    let b = cbatm(sb.base_url_blockatm(), &config);
    assert_eq!(sb.payouts(), before);
    assert_eq!(g.balance().await.unwrap(), balances);
    let again = g.create(&req("g-1", "100.00", TRON_ADDR)).await.unwrap();
    assert_eq!(
        again.gateway_id, first.gateway_id,
        "same order_id, same uuid"
    );
    assert!(matches!(
        b.create(&req("b-1", "25.5", TRON_ADDR)).await,
        Err(GatewayError::Duplicate { ref code, .. }) if code == "000106"
    ));
    let found = b.lookup(&order("b-2"), None).await.unwrap();
    assert_eq!(found.status, Status::Pending);
    assert_eq!(sb.payouts().len(), 5, "nothing new created");
    let by_status = g
        .lookup(&order("g-1"), first.gateway_id.as_ref())
        .await
        .unwrap();
    assert_eq!(by_status.gateway_id, first.gateway_id);

    // The deadlines set before the restart still hold: everything settles.
    let settled = eventually(Duration::from_secs(5), || {
        sb.payouts().iter().all(|p| p.status != Status::Pending)
    })
    .await;
    assert!(settled, "{:?}", sb.payouts());
    let done = b.lookup(&order("b-3"), None).await.unwrap();
    assert_eq!(done.status, Status::Completed);
    assert!(done.txid.is_some());
    let aml = sb
        .payouts()
        .into_iter()
        .find(|p| p.order_id == "g-aml")
        .unwrap();
    assert_eq!(
        (aml.status, aml.error_type.as_deref()),
        (Status::Failed, Some("aml_risk"))
    );
    // A new BlockATM order gets a fresh orderId, never one handed out before the restart.
    let fresh = b.create(&req("b-4", "3", TRON_ADDR)).await.unwrap();
    let ids: Vec<String> = before.iter().map(|p| p.gateway_id.clone()).collect();
    assert!(!ids.contains(&fresh.gateway_id.clone().unwrap().0));
    let after = sb.payouts();
    let balances = g.balance().await.unwrap();
    sb.shutdown();

    // And once more: the final states, blocks and balances are what they were.
    let sb = start(config.clone());
    let g = c2328(sb.base_url_2328(), &config);
    assert_eq!(sb.payouts(), after);
    assert_eq!(g.balance().await.unwrap(), balances);
    let blocks: Vec<u64> = after.iter().filter_map(|p| p.block_number).collect();
    let next = g.create(&req("g-2", "5", TRON_ADDR)).await.unwrap();
    sb.shutdown();
    let sb = start(SandboxConfig {
        settle_after: Duration::ZERO,
        ..config.clone()
    });
    let g = c2328(sb.base_url_2328(), &config);
    let next = g
        .lookup(&order("g-2"), next.gateway_id.as_ref())
        .await
        .unwrap();
    assert_eq!(
        next.status,
        Status::Pending,
        "its own deadline, not the new config's"
    );
    let block = eventually(Duration::from_secs(5), || {
        sb.payouts()
            .iter()
            .find(|p| p.order_id == "g-2")
            .and_then(|p| p.block_number)
            .is_some()
    })
    .await;
    assert!(block);
    let new_block = sb
        .payouts()
        .iter()
        .find(|p| p.order_id == "g-2")
        .and_then(|p| p.block_number)
        .unwrap();
    assert!(blocks.iter().all(|b| *b < new_block), "block numbers go on");
}

#[test]
fn a_sandbox_for_other_credentials_is_refused_and_the_file_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.sandbox.json");
    start(with_file(&path, Duration::from_secs(1))).shutdown();
    let err = Sandbox::start_local(SandboxConfig {
        contract_id: "ANOTHER".into(),
        ..with_file(&path, Duration::from_secs(1))
    })
    .err()
    .expect("refused");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(path.exists());
    // While one sandbox holds the file, a second is refused.
    let sb = start(with_file(&path, Duration::from_secs(1)));
    let err = Sandbox::start_local(with_file(&path, Duration::from_secs(1)))
        .err()
        .expect("busy");
    assert!(err.to_string().contains("in use"), "{err}");
    drop(sb);
    start(with_file(&path, Duration::from_secs(1))).shutdown();
}

/// The real binary, with only the flags given (no PAYRUN_* from this environment).
fn spawn_payrun(args: &[&str]) -> (Child, String, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_payrun"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in ENV_VARS.iter().chain(&["PAYRUN_BOOK"]) {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let err_tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(format!("stderr: {line}"));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut banner = String::new();
    while !banner.contains("Ctrl-C to stop.") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                banner.push_str(&line);
                banner.push('\n');
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no banner from payrun sandbox; got:\n{banner}");
            }
        }
    }
    (child, banner, rx)
}

fn addr_of(banner: &str) -> String {
    banner
        .lines()
        .find_map(|l| l.strip_prefix("payrun sandbox listening on http://"))
        .unwrap()
        .trim()
        .to_string()
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payout_answered_just_before_a_sigkill_survives() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.sqlite");
    let book_arg = book.to_str().unwrap();
    let state = dir.path().join("book.sandbox.json");
    let args = [
        "sandbox",
        "--book",
        book_arg,
        "--listen",
        "127.0.0.1:0",
        "--settle-secs",
        "3600",
    ];
    let (child, banner, _) = spawn_payrun(&args);
    assert!(
        banner.contains(&format!("state: {} (0 payouts", state.display())),
        "{banner}"
    );
    let addr = addr_of(&banner);
    let config = SandboxConfig::default();
    let g = c2328(format!("http://{addr}/api"), &config);
    let b = cbatm(format!("http://{addr}"), &config);
    let created = g.create(&req("k-1", "42", TRON_ADDR)).await.unwrap();
    b.create(&req("k-2", "7", TRON_ADDR)).await.unwrap();
    kill(child);

    let (child, banner, _) = spawn_payrun(&args);
    assert!(banner.contains("(2 payouts remembered"), "{banner}");
    let addr = addr_of(&banner);
    let g = c2328(format!("http://{addr}/api"), &config);
    let again = g.create(&req("k-1", "42", TRON_ADDR)).await.unwrap();
    assert_eq!(again.gateway_id, created.gateway_id);
    kill(child);

    let sb = start(with_file(&state, Duration::from_secs(3600)));
    let payouts = sb.payouts();
    assert_eq!(
        payouts
            .iter()
            .map(|p| (p.gateway, p.order_id.as_str()))
            .collect::<Vec<_>>(),
        vec![(GatewayKind::G2328, "k-1"), (GatewayKind::BlockAtm, "k-2")]
    );
}

#[test]
fn payrun_sandbox_reset_forgets_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("book.sqlite");
    let state = dir.path().join("book.sandbox.json");
    let sb = start(with_file(&state, Duration::from_secs(3600)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client();
        let resp = post_2328(&c, &sb, "/v1/payout", &body_2328("r-1", "10")).await;
        assert_eq!(resp.status(), 200);
    });
    sb.shutdown();
    assert!(state.exists());

    let book_arg = book.to_str().unwrap();
    let (child, banner, _) =
        spawn_payrun(&["sandbox", "--book", book_arg, "--listen", "127.0.0.1:0"]);
    assert!(banner.contains("(1 payouts remembered"), "{banner}");
    kill(child);

    let (child, banner, rx) = spawn_payrun(&[
        "sandbox",
        "--reset",
        "--book",
        book_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(banner.contains("(0 payouts remembered"), "{banner}");
    let note = format!(
        "stderr: forgot every payout the sandbox remembered (removed {})",
        state.display()
    );
    let mut seen = banner.clone();
    while !seen.contains(&note) {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => seen.push_str(&line),
            Err(_) => panic!("no reset note; got:\n{seen}"),
        }
    }
    kill(child);
    let sb = start(with_file(&state, Duration::from_secs(3600)));
    assert!(sb.payouts().is_empty());
    sb.shutdown();

    // --reset --memory: forgets, and leaves no file behind.
    let (child, banner, _) = spawn_payrun(&[
        "sandbox",
        "--reset",
        "--memory",
        "--book",
        book_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(banner.contains("state: in memory only"), "{banner}");
    kill(child);
    assert!(!state.exists());
}

/// Latency of a 2328 create as the state file grows; run with
/// `cargo test --test sandbox_state -- --ignored --nocapture create_latency`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement, prints a table"]
async fn create_latency_with_thousands_of_payouts() {
    let total: usize = std::env::var("SANDBOX_STATE_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    for file in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.sandbox.json");
        let config = SandboxConfig {
            state_file: file.then(|| path.clone()),
            ..quiet()
        };
        let sb = start(config);
        let c = client();
        let mut lat: Vec<Duration> = Vec::new();
        println!("state file: {file}");
        for i in 0..total {
            let body = body_2328(&format!("lat-{i}"), "10");
            let t = Instant::now();
            let resp = post_2328(&c, &sb, "/v1/payout", &body).await;
            let took = t.elapsed();
            assert_eq!(resp.status(), 200);
            lat.push(took);
            if (i + 1) % 1000 == 0 {
                lat.sort();
                let pct = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
                println!(
                    "  payouts {:>5}-{:>5}: p50 {:>8.3?} p99 {:>8.3?} max {:>8.3?}",
                    i + 1 - lat.len(),
                    i + 1,
                    pct(0.5),
                    pct(0.99),
                    lat[lat.len() - 1]
                );
                lat.clear();
            }
        }
        sb.shutdown();
        if file {
            let size = std::fs::metadata(&path).unwrap().len();
            let t = Instant::now();
            let sb = start(SandboxConfig {
                state_file: Some(path.clone()),
                ..quiet()
            });
            println!(
                "  restart (load + compact {} payouts, {size} bytes): {:?}",
                sb.payouts().len(),
                t.elapsed()
            );
        }
    }
}
