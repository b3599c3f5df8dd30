//! The embedded sandbox gateway (being built).
