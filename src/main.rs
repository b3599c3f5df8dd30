//! The `payrun` binary: parse arguments, run, map errors to exit codes.

fn main() {}
