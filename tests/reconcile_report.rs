//! `payrun report --out` after a run that settled: the results ledger written as .csv, .xlsx
//! and .json and the run summary as .md, each read back (csv crate, calamine, serde_json) and
//! compared with the sandbox's own record of the payouts: amounts, txids, gateway ids, fees and
//! order ids. A formula-looking sheet cell is neutralised in CSV and kept verbatim in XLSX/JSON.

mod common;

use std::collections::HashMap;
use std::path::Path;

use calamine::{open_workbook, Reader, Xlsx};
use common::*;
use rust_decimal::Decimal;
use serde_json::Value;

const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";
const ROWS: u32 = 4;

/// A sheet like `write_sheet`'s, with a formula-looking name in the first row.
fn write_sheet_with_formula(dir: &Path) -> std::path::PathBuf {
    let mut s = String::from("to_address,amount,currency,network,name\n");
    for i in 0..ROWS {
        let name = if i == 0 {
            format!("\"{}\"", FORMULA.replace('"', "\"\""))
        } else {
            format!("Person {}", i + 1)
        };
        s.push_str(&format!(
            "{},10.{:02},USDT,TRX-TRC20,{name}\n",
            tron_address(i + 1),
            i + 1
        ));
    }
    let p = dir.join("pay.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// The fields compared for every row, from the ledger's point of view.
#[derive(Debug, PartialEq)]
struct Seen {
    to_address: String,
    amount: Decimal,
    name: String,
    order_id: String,
    status: String,
    txid: String,
    gateway_id: String,
    fee: Decimal,
    network_amount: Option<Decimal>,
    merchant_amount: Option<Decimal>,
}

fn opt_dec(s: &str) -> Option<Decimal> {
    (!s.is_empty()).then(|| dec(s))
}

fn seen_from_map(m: &HashMap<String, String>) -> Seen {
    Seen {
        to_address: m["to_address"].clone(),
        amount: dec(&m["amount"]),
        name: m["name"].clone(),
        order_id: m["order_id"].clone(),
        status: m["status"].clone(),
        txid: m["txid"].clone(),
        gateway_id: m["gateway_id"].clone(),
        fee: dec(&m["fee"]),
        network_amount: opt_dec(&m["network_amount"]),
        merchant_amount: opt_dec(&m["merchant_amount"]),
    }
}

/// What the sandbox says each row should show, by order id.
fn expected(sb: &payrun::sandbox::Sandbox) -> HashMap<String, Seen> {
    payouts_by_order(sb)
        .into_iter()
        .map(|(id, p)| {
            let n = (1..=ROWS)
                .find(|i| tron_address(*i) == p.address)
                .expect("a sheet address");
            let seen = Seen {
                to_address: p.address.clone(),
                amount: p.amount,
                name: if n == 1 {
                    FORMULA.to_string()
                } else {
                    format!("Person {n}")
                },
                order_id: id.clone(),
                status: "completed".into(),
                txid: p.txid.clone().expect("settled payouts have a txid"),
                gateway_id: p.gateway_id.clone(),
                fee: p.fee,
                network_amount: Some(p.network_amount),
                // Both gateways: what the sandbox debited (BlockATM: amount + fee + gas).
                merchant_amount: Some(p.merchant_amount),
            };
            (id, seen)
        })
        .collect()
}

fn check_rows(what: &str, rows: Vec<Seen>, want: &HashMap<String, Seen>) {
    assert_eq!(rows.len(), want.len(), "{what}");
    for r in rows {
        let w = want
            .get(&r.order_id)
            .unwrap_or_else(|| panic!("{what}: unknown order {}", r.order_id));
        assert_eq!(&r, w, "{what}");
    }
}

#[test]
fn every_report_format_reads_back_as_the_sandbox_recorded_it() {
    for gw in [Gw::G2328, Gw::BlockAtm] {
        let sb = start(sandbox_config());
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sheet = write_sheet_with_formula(d);
        let env = env_for(&sb, gw);
        let o = run_ok(
            d,
            &env,
            &["run", sheet.to_str().unwrap(), "--yes", "--rate", "200"],
        );
        assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
        // The latest run of the account (no sheet, no --run-id).
        let o = run_ok(d, &env, &["status", "--wait", "--interval", "0.2"]);
        assert_eq!(o.status.code(), Some(0), "{gw:?} {}", text(&o));
        assert_paid_exactly_once(&sb, ROWS);
        let want = expected(&sb);

        // The run by its sheet for some formats, by its id for the others.
        let run_id = book_orders(&book_path(d, &env))[0]["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        let report = |out: &str| {
            let o = if out.ends_with(".csv") || out.ends_with(".md") {
                run_ok(d, &env, &["report", "pay.csv", "--out", out])
            } else {
                run_ok(d, &env, &["--run-id", &run_id, "report", "--out", out])
            };
            assert_eq!(o.status.code(), Some(0), "{gw:?} {out}: {}", text(&o));
            d.join(out)
        };

        // CSV: formula cells neutralised with a leading quote, everything else verbatim.
        let csv_path = report("r.csv");
        let csv_rows = read_csv_rows(&csv_path);
        assert_eq!(csv_rows[0]["name"], format!("'{FORMULA}"));
        let seen = csv_rows
            .iter()
            .map(|m| {
                let mut m = m.clone();
                if let Some(n) = m.get_mut("name") {
                    *n = n.strip_prefix('\'').unwrap_or(n).to_string();
                }
                seen_from_map(&m)
            })
            .collect();
        check_rows("csv", seen, &want);
        // Original columns first, then payrun's.
        let head = std::fs::read_to_string(&csv_path).unwrap();
        assert!(head.starts_with(
            "to_address,amount,currency,network,name,order_id,status,gateway_status,gateway_id,\
             txid,merchant_amount,network_amount,fee,error,updated_at"
        ));

        // XLSX: strings stored as strings (no formula to neutralise), amounts as numbers where
        // a double holds them exactly.
        let xlsx_path = report("r.xlsx");
        let mut wb: Xlsx<_> = open_workbook(&xlsx_path).expect("xlsx opens");
        let range = wb
            .worksheet_range_at(0)
            .expect("a sheet")
            .expect("readable");
        let mut rows = range.rows();
        let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
        let xrows: Vec<HashMap<String, String>> = rows
            .map(|r| {
                header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(|c| c.to_string()))
                    .collect()
            })
            .collect();
        // Every cell a string (no formulas), but an amount a double holds exactly: a number.
        let amounts = ["amount", "merchant_amount", "network_amount", "fee"];
        for row in range.rows().skip(1) {
            for (h, c) in header.iter().zip(row) {
                let ok = match c {
                    calamine::Data::String(_) | calamine::Data::Empty => true,
                    calamine::Data::Float(_) => amounts.contains(&h.as_str()),
                    _ => false,
                };
                assert!(ok, "{gw:?} xlsx {h}: {c:?}");
            }
        }
        assert!(
            range
                .rows()
                .skip(1)
                .any(|r| r.iter().any(|c| matches!(c, calamine::Data::Float(_)))),
            "{gw:?}: exact amounts are number cells"
        );
        check_rows("xlsx", xrows.iter().map(seen_from_map).collect(), &want);

        // JSON: the original cells under `columns`, result fields beside them.
        let json_path = report("r.json");
        let v: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
        assert_eq!(v["run"]["gateway"], gw.name());
        let jrows: Vec<HashMap<String, String>> = v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                let mut m: HashMap<String, String> = r["columns"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                for (k, v) in r.as_object().unwrap() {
                    if k != "columns" {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        m.insert(k.clone(), text);
                    }
                }
                m
            })
            .collect();
        check_rows("json", jrows.iter().map(seen_from_map).collect(), &want);

        // Markdown summary: rows paid, total sent and fees charged add up to the sandbox's.
        let md = std::fs::read_to_string(report("summary.md")).unwrap();
        let sent: Decimal = want.values().map(|w| w.amount).sum();
        let fees: Decimal = want.values().map(|w| w.fee).sum();
        for line in [
            format!("| Completed (paid) | {ROWS} |"),
            format!("| Amount paid | {sent} |"),
            format!("| Fees charged | {fees} |"),
        ] {
            assert!(md.contains(&line), "{gw:?}: {line:?} not in\n{md}");
        }
    }
}
