//! payrun: pay out crypto from a spreadsheet through a payout gateway, exactly once per row.
//!
//! The pipeline (docs/design.md): `sheet` reads rows, `validate` checks them, `plan` derives order
//! ids, `quote` previews fees, `submit` sends through a `gateway::Gateway` while the
//! `book` records intents and answers, `reconcile` judges every answer against what was sent,
//! and `ledger` writes the results view. `sandbox` is the embedded gateway used for demos and
//! tests.

pub mod book;
pub mod cli;
pub mod commands;
pub mod exit;
pub mod failpoint;
pub mod gateway;

pub mod ledger;
pub mod model;
pub mod networks;
pub mod output;
pub mod plan;
pub mod quote;
pub mod reconcile;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod sheet;
pub mod submit;
pub mod validate;
pub mod variance;
