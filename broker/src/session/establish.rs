//! The end of every login, whichever way the bank was asked (the redirect's code exchange,
//! or a decoupled Mobile BankID order): the tokens sealed into a new token record, a new
//! session record under a new id, any earlier session of the browser ended. When the store
//! fails after the bank issued tokens, they are revoked.

use axum::http::HeaderMap;
use time::OffsetDateTime;

use super::id::SessionCookie;
use super::retire::Retire;
use super::{create_session, create_vault, now, resolve, session_auth, AuthData};
use crate::error::ApiError;
use crate::state::AppState;
use crate::vault::TokenSet;

/// Stores `tokens` of a login at `provider` as a new session; `headers` are the browser's
/// (its earlier session, if any, is ended). Returns the new session's cookie.
pub(crate) async fn establish(state: &AppState, headers: &HeaderMap, provider: &str, tokens: TokenSet) -> Result<SessionCookie, ApiError> {
    let login_at = now();
    let absolute = time::Duration::try_from(state.config.session.absolute_timeout).unwrap_or(time::Duration::hours(12));
    let vault_expiry = OffsetDateTime::now_utc() + absolute;
    let stored = match create_vault(state, &tokens, vault_expiry).await {
        Ok(vault_id) => {
            let data = AuthData { provider: provider.to_owned(), scopes: tokens.scopes.clone(), login_at, vault_id: vault_id.clone() };
            create_session(state, &data).await.map_err(|e| (e, Some(vault_id)))
        }
        Err(e) => Err((e, None)),
    };
    let session_id = match stored {
        Ok(id) => id,
        Err((e, vault_id)) => {
            // The bank issued tokens nobody will use: take them back.
            tracing::error!(provider, "the store failed after the bank issued tokens; revoking them");
            Retire { revoke: Some((provider.to_owned(), tokens)), vault_id, ..Retire::default() }.run(state).await;
            return Err(e);
        }
    };
    // A new login replaces any earlier session of this browser.
    if let Some(old) = resolve::session_cookie(headers, &state.config.session.cookie_name) {
        let old = old.store_key();
        if let Ok(auth) = session_auth(state, &old).await {
            Retire { vault_id: auth.map(|a| a.vault_id), session_id: Some(old), ..Retire::default() }.run(state).await;
        }
    }
    Ok(session_id)
}
