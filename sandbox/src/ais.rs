//! Account Information v7 under `/ais/v7/identified2`.

use axum::Router;

use crate::state::SandboxState;

/// The AIS routes (placeholder from the auth side until the API side fills it in).
pub fn router() -> Router<SandboxState> {
    Router::new()
}
