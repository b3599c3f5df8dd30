//! One file per subcommand, each turning a validated configuration into an outcome.
pub mod sandbox;
