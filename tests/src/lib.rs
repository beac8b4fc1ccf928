//! Shared helpers for Valv's end-to-end tests.
