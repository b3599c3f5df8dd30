//! Writes a large mixed-network payout sheet of valid rows, for benchmarks and load tests:
//! `cargo run --release --example gen_sheet -- ROWS OUT.csv|OUT.xlsx`. Every address carries a
//! correct checksum (see `support/addrgen.rs`); amounts differ per row so nothing is a duplicate.
//!
//! `gen_sheet ROWS OUT.csv --garbage` writes a sheet of junk instead, for the memory bound of
//! validation (issue 10: `validate` of 22 million such rows within 300 MB): a fixed cycle of
//! 1,000 rows with bad addresses, amounts such as `12,5`, `1e9` and `$100`, unknown networks
//! and currencies, look-alike characters, memos where none is taken, and extra cells, repeated
//! (deterministic: the same file every time). Three problems a row on average; 22,000,000 rows
//! make about 1.5 GB.

#[path = "support/addrgen.rs"]
mod addrgen;
#[path = "support/sheetgen.rs"]
mod sheetgen;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let garbage = args.len() == 4 && args[3] == "--garbage";
    if args.len() != 3 && !garbage {
        eprintln!("usage: gen_sheet ROWS OUT.csv|OUT.xlsx  |  gen_sheet ROWS OUT.csv --garbage");
        std::process::exit(2);
    }
    let rows: u64 = args[1].parse()?;
    let out = std::path::Path::new(&args[2]);
    if garbage {
        write_garbage(out, rows)?;
    } else if out
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

/// The junk cycle of `--garbage` (see the module doc).
fn write_garbage(out: &std::path::Path, rows: u64) -> std::io::Result<()> {
    use std::io::Write;
    const ADDRESSES: &[&str] = &[
        "TSYCEiSKYabMtGqC58mo37szjpYcGAHRj0",
        "0xBBEefD0fFB197821dD9Cd70347902F2e6873a2c",
        "0xbbeefd0ffb197821dd9cd70347902f2e6873a2cG",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdX",
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDtlv",
        "T\u{0421}YCEiSKYabMtGqC58mo37szjpYcGAHRjo",
        " TSYCEiSKYabMtGqC58mo37szjpYcGAHRjo",
        "",
        "not an address",
    ];
    const AMOUNTS: &[&str] = &[
        "12,5",
        "1e9",
        "$100",
        "-3",
        "0",
        "1.2.3",
        "",
        "abc",
        "1 000",
        "0.0000001",
    ];
    const CURRENCIES: &[&str] = &["USDT", "usdx", "", "BTC", "ETH", "DOGE", "USDC", "XYZ"];
    const NETWORKS: &[&str] = &[
        "TRX-TRC20",
        "ETH-ERC20",
        "MOON",
        "",
        "BSC-BEP20",
        "SOL",
        "BTC",
        "TON-X",
        "LTC",
    ];
    const MEMOS: &[&str] = &["", "4.82134E+11", "memo\u{200B}", "123", "\u{FEFF}77"];
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    writeln!(
        w,
        "name,employee_id,email,address,amount,currency,network,memo"
    )?;
    for n in 0..rows {
        let i = (n % 1000) as usize;
        let pick =
            |list: &[&'static str], salt: usize| list[(i * 7 + salt * 13 + i / 10) % list.len()];
        write!(
            w,
            "Junk {i},J{i:05},junk{i}@example.com,{},{},{},{},{}",
            pick(ADDRESSES, 1),
            pick(AMOUNTS, 2),
            pick(CURRENCIES, 3),
            pick(NETWORKS, 4),
            pick(MEMOS, 5),
        )?;
        if i.is_multiple_of(9) {
            write!(w, ",extra")?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    Ok(())
}
