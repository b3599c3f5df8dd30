//! Webhook verification (being built).
