//! The BlockATM client (being built).
