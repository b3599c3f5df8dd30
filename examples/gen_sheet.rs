//! Writes a large mixed-network payout sheet of valid rows, for benchmarks and load tests:
//! `cargo run --release --example gen_sheet -- ROWS OUT.csv|OUT.xlsx`. Every address carries a
//! correct checksum (see `support/addrgen.rs`); amounts differ per row so nothing is a duplicate.

#[path = "support/addrgen.rs"]
mod addrgen;
#[path = "support/sheetgen.rs"]
mod sheetgen;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: gen_sheet ROWS OUT.csv|OUT.xlsx");
        std::process::exit(2);
    }
    let rows: u64 = args[1].parse()?;
    let out = std::path::Path::new(&args[2]);
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
    {
        sheetgen::write_xlsx(out, rows)?;
    } else {
        sheetgen::write_csv(out, rows)?;
    }
    eprintln!("wrote {rows} rows to {}", out.display());
    Ok(())
}
