//! The documented process exit codes (docs/design.md, "Command-line contract"), and the one
//! place that maps a library error to one, [`code_of`], at the edge: commands pass library
//! errors up with `?` and build an [`Exit`] only where they choose a code themselves.
//!
//! | error | exit |
//! |---|---|
//! | [`Exit`] | the code it carries |
//! | `gateway::GatewayError` (auth, ban, unreachable, refused) | 3 |
//! | `book::BookError` (cannot open, altered, busy, a decision to make) | 2 |
//! | anything else (I/O, a bad flag, an unreadable file) | 2 |

use crate::book::BookError;
use crate::gateway::GatewayError;

/// How a payrun command ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: success.
    Success,
    /// 1: the sheet has invalid rows, or the run ended with rows not completed.
    Incomplete,
    /// 2: usage or configuration error (also: unreadable sheet, a run being sent by another process, a book problem, a decision to make).
    Usage,
    /// 3: the gateway refused the run (auth, budget cap exceeded, rate-limit ban).
    Refused,
    /// 130: interrupted (Ctrl-C).
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Incomplete => 1,
            ExitCode::Usage => 2,
            ExitCode::Refused => 3,
            ExitCode::Interrupted => 130,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

/// An error that already knows its exit code (anything else at the edge is a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: ExitCode,
    pub message: String,
}

impl Exit {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Exit {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Exit::new(ExitCode::Usage, message)
    }
    pub fn refused(message: impl Into<String>) -> Self {
        Exit::new(ExitCode::Refused, message)
    }
}

/// The exit code an error ends the process with: the first [`Exit`] in its chain, else the
/// code its library error maps to (the table above), else 2.
pub fn code_of(err: &anyhow::Error) -> ExitCode {
    for e in err.chain() {
        if let Some(exit) = e.downcast_ref::<Exit>() {
            return exit.code;
        }
        if e.downcast_ref::<GatewayError>().is_some() {
            return ExitCode::Refused;
        }
        if e.downcast_ref::<BookError>().is_some() {
            return ExitCode::Usage;
        }
    }
    ExitCode::Usage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_map_to_their_codes_through_any_context() {
        use anyhow::Context;
        let gateway: anyhow::Result<()> = Err(GatewayError::Auth {
            message: "bad signature".into(),
        })
        .context("http://127.0.0.1:1");
        assert_eq!(code_of(&gateway.unwrap_err()), ExitCode::Refused);
        let exit: anyhow::Error = Exit::new(ExitCode::Incomplete, "x").into();
        assert_eq!(code_of(&exit.context("y")), ExitCode::Incomplete);
        let io: anyhow::Error = std::io::Error::other("disk").into();
        assert_eq!(code_of(&io), ExitCode::Usage);
    }

    #[test]
    fn codes_match_the_contract() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Incomplete.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
        assert_eq!(ExitCode::Refused.code(), 3);
        assert_eq!(ExitCode::Interrupted.code(), 130);
    }
}
