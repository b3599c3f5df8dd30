//! The documented process exit codes (docs/design.md, "Command-line contract").

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Incomplete.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
        assert_eq!(ExitCode::Refused.code(), 3);
        assert_eq!(ExitCode::Interrupted.code(), 130);
    }
}
