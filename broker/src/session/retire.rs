//! Taking a session, or tokens that never became one, out of service for good: revoke the
//! grant at the bank and delete the records. What fails is retried in a tracked background
//! task (awaited at shutdown) with backoff for about a minute, so a logout the bank or the
//! store could not finish at once is still finished, and the browser's answer never waits
//! for it.

use std::time::Duration;

use tower_sessions::session::Id;
use tower_sessions::SessionStore;

use super::{delete_vault, load_tokens, session_auth};
use crate::state::AppState;
use crate::store::Invalidation;
use crate::vault::TokenSet;

/// What is left to do.
#[derive(Debug, Default)]
pub(crate) struct Retire {
    /// Read the session record first, to learn its vault record and tokens (set when the
    /// store could not be read at the time of the logout).
    pub lookup: bool,
    /// Revoke these tokens at this provider.
    pub revoke: Option<(String, TokenSet)>,
    /// Delete this vault record.
    pub vault_id: Option<String>,
    /// Delete this session record.
    pub session_id: Option<Id>,
}

/// Waits between attempts (about a minute in all).
const BACKOFF: [Duration; 8] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
    Duration::from_secs(30),
];

impl Retire {
    /// One attempt at everything still to do; keeps what failed.
    async fn attempt(&mut self, state: &AppState) {
        if let (true, Some(id)) = (self.lookup, self.session_id) {
            match session_auth(state, &id).await {
                Ok(Some(a)) => match load_tokens(state, &a.vault_id).await {
                    Ok(tokens) => {
                        self.revoke = tokens.map(|(t, _)| (a.provider.clone(), t));
                        self.vault_id = Some(a.vault_id);
                        self.lookup = false;
                    }
                    Err(_) => return,
                },
                Ok(None) => self.lookup = false,
                Err(_) => return,
            }
        }
        if let Some((provider, tokens)) = &self.revoke {
            let done = match state.provider(provider) {
                Some(p) => crate::oauth::revoke(state, p, tokens).await,
                None => true,
            };
            if done {
                self.revoke = None;
            }
        }
        if let Some(vault_id) = &self.vault_id {
            if delete_vault(state, vault_id).await.is_ok() {
                self.vault_id = None;
            }
        }
        if let Some(id) = &self.session_id {
            if state.store.delete(id).await.is_ok() {
                state.cache.forget_ended(id);
                self.session_id = None;
            }
        }
    }

    fn is_done(&self) -> bool {
        !self.lookup && self.revoke.is_none() && self.vault_id.is_none() && self.session_id.is_none()
    }

    /// Does it now; what fails is retried in the background. This replica stops serving the
    /// session at once, and goes on refusing it while its record is not deleted. Returns
    /// whether everything was done at once.
    pub(crate) async fn run(mut self, state: &AppState) -> bool {
        if let Some(id) = self.session_id {
            // Until the store has deleted the record, this replica refuses the session.
            state.cache.mark_ended(id);
            state.cache.invalidate(Invalidation::Record(id));
        }
        self.attempt(state).await;
        if self.is_done() {
            return true;
        }
        tracing::warn!(
            revoke = self.revoke.is_some(),
            records = self.vault_id.is_some() || self.session_id.is_some(),
            "ending the session is not finished yet; retrying in the background"
        );
        let state = state.clone();
        state.background.clone().spawn(async move {
            for wait in BACKOFF {
                tokio::time::sleep(wait).await;
                self.attempt(&state).await;
                if self.is_done() {
                    tracing::info!("ending the session finished after retrying");
                    return;
                }
            }
            tracing::error!(
                revoke = self.revoke.is_some(),
                records = self.vault_id.is_some() || self.session_id.is_some(),
                "ending the session failed for good; records expire by their own lifetime"
            );
        });
        false
    }
}
