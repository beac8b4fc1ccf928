//! Valv browser library.
