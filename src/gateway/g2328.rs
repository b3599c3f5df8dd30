//! The 2328 client (being built).
