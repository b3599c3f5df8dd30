//! Validate throughput. CSV: a generated 1,000,000-row mixed-network sheet (override with
//! `PAYRUN_BENCH_ROWS`), validated end to end (`validate_file`: read + parallel checks +
//! duplicate index) against a plain `csv`-crate read of the same file; XLSX: 100,000 rows
//! validated against calamine's own read of the worksheet. Prints the ratios after criterion.

#[path = "../examples/support/addrgen.rs"]
mod addrgen;
#[path = "../examples/support/sheetgen.rs"]
mod sheetgen;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::{open_workbook, Reader, Xlsx};
use criterion::{criterion_group, Criterion, Throughput};
use payrun::model::GatewayKind;
use payrun::validate::{validate_file, ValidateOptions};

fn fixture(name: &str, rows: u64) -> PathBuf {
    let dir = std::env::temp_dir().join("payrun-bench");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{rows}-{name}"));
    if !path.exists() {
        if name.ends_with(".xlsx") {
            sheetgen::write_xlsx(&path, rows).expect("write xlsx");
        } else {
            sheetgen::write_csv(&path, rows).expect("write csv");
        }
    }
    path
}

fn csv_rows() -> u64 {
    std::env::var("PAYRUN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn plain_csv_read(path: &Path) -> u64 {
    let mut rdr = csv::Reader::from_path(path).expect("open");
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while rdr.read_byte_record(&mut rec).expect("read") {
        n += rec.len() as u64;
    }
    n
}

fn calamine_read(path: &Path) -> usize {
    let mut wb: Xlsx<_> = open_workbook(path).expect("open");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("range");
    range.rows().count()
}

fn validate(path: &Path) -> u64 {
    let r = validate_file(path, &ValidateOptions::new(GatewayKind::G2328), |_, _| {})
        .expect("validate");
    r.rows
}

fn benches(c: &mut Criterion) {
    let rows = csv_rows();
    let csv_path = fixture("mixed.csv", rows);
    let mut g = c.benchmark_group("csv");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(rows));
    g.bench_function("plain_csv_crate_read", |b| {
        b.iter(|| plain_csv_read(&csv_path))
    });
    g.bench_function("payrun_validate", |b| b.iter(|| validate(&csv_path)));
    g.finish();

    let xlsx_path = fixture("mixed.xlsx", 100_000);
    let mut g = c.benchmark_group("xlsx");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("calamine_read", |b| b.iter(|| calamine_read(&xlsx_path)));
    g.bench_function("payrun_validate", |b| b.iter(|| validate(&xlsx_path)));
    g.finish();
}

fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn ratios() {
    let rows = csv_rows();
    let csv_path = fixture("mixed.csv", rows);
    let xlsx_path = fixture("mixed.xlsx", 100_000);
    let plain = best_of(3, || {
        plain_csv_read(&csv_path);
    });
    let ours = best_of(3, || {
        validate(&csv_path);
    });
    println!(
        "csv {rows} rows: plain csv read {:.3}s, payrun validate {:.3}s ({:.0} rows/s), ratio {:.2}x",
        plain.as_secs_f64(),
        ours.as_secs_f64(),
        rows as f64 / ours.as_secs_f64(),
        ours.as_secs_f64() / plain.as_secs_f64()
    );
    let cal = best_of(3, || {
        calamine_read(&xlsx_path);
    });
    let ours = best_of(3, || {
        validate(&xlsx_path);
    });
    println!(
        "xlsx 100000 rows: calamine read {:.3}s, payrun validate {:.3}s, ratio {:.2}x",
        cal.as_secs_f64(),
        ours.as_secs_f64(),
        ours.as_secs_f64() / cal.as_secs_f64()
    );
}

criterion_group!(group, benches);

fn main() {
    group();
    criterion::Criterion::default().final_summary();
    ratios();
}
