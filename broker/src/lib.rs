//! Valv's backend-for-frontend.
