//! Configuration merge: profile file, environment, flags → a validated `Config`.
