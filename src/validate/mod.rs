//! Validation of sheet rows (being built).

pub mod address;
pub mod networks;
