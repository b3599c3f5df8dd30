//! Submission (being built).
