//! Times replaying a journal the way `run` does (under the lock, memory-mapped):
//! `cargo run --release --example replay_probe -- FILE`.
fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("journal path"));
    let header = payrun::journal::read_header(&path).expect("a journal");
    let t = std::time::Instant::now();
    let (_journal, replay) = payrun::journal::Journal::open(&path, &header).expect("replays");
    let t_open = t.elapsed();
    let done = replay
        .orders
        .statuses()
        .filter(|(_, s)| s.is_final())
        .count();
    drop(replay);
    eprintln!(
        "orders {done} final: open+replay {:.2?}, then drop {:.2?}",
        t_open,
        t.elapsed() - t_open
    );
}
