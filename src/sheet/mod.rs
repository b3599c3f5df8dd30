//! Sheet reading (being built).
