//! Payment Initiation v7 under `/pis/v7/identified2` (and funds confirmation).

use axum::Router;

use crate::state::SandboxState;

/// The PIS and funds-confirmation routes (placeholder from the auth side until the API side fills it in).
pub fn router() -> Router<SandboxState> {
    Router::new()
}
