//! The book: one SQLite database holding every run and every order ever sent through payrun,
//! for every gateway account — the single source of truth for what was sent.

pub mod location;
