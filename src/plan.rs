//! plan (being built).
