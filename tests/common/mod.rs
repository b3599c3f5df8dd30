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

/// A `payrun` command in `dir` with only the given PAYRUN_* environment.
pub fn payrun(dir: &Path, env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PAYRUN_")) {
        cmd.env_remove(k);
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
