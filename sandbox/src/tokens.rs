//! Token store: grants, authorization codes, access and refresh tokens.
//!
//! Only SHA-256 hashes of codes and tokens are kept as keys. A *grant* is one consent:
//! person + client + scopes; an authorization code or a completed decoupled authorization
//! creates one, and every access/refresh token belongs to exactly one grant.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;

type Hash = [u8; 32];

/// How long a used or expired code is remembered (for replay detection).
const CODE_MEMORY: Duration = Duration::from_secs(3600);

/// A fresh opaque secret: base64url of 32 random bytes (256 bits).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn hash(token: &str) -> Hash {
    Sha256::digest(token.as_bytes()).into()
}

/// The token endpoint's success body, as SEB sends it: `valv-psd2`'s `TokenResponse`
/// (`bearer`, with the refresh token and the granted scopes; `Debug` redacts the tokens).
pub type IssuedTokens = valv_psd2::TokenResponse;

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessError {
    /// Unknown or revoked.
    Invalid,
    /// Known but past its lifetime.
    Expired,
}

/// Why a refresh or code exchange was refused (maps to `invalid_grant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantError(pub String);

/// Who a valid access token belongs to.
#[derive(Debug, Clone)]
pub struct AccessInfo {
    /// Test person's 10-digit identity number.
    pub person: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

#[derive(Debug)]
struct Grant {
    person: String,
    client: String,
    scopes: Vec<String>,
}

#[derive(Debug)]
struct AccessEntry {
    grant: u64,
    scopes: Vec<String>,
    expires: Instant,
}

#[derive(Debug)]
struct RefreshEntry {
    grant: u64,
    scopes: Vec<String>,
    /// Replaced by a newer refresh token (rotation): presenting it again is reuse.
    rotated: bool,
}

/// A pending authorization code.
#[derive(Debug)]
struct CodeEntry {
    person: String,
    client: String,
    redirect_uri: String,
    scopes: Vec<String>,
    challenge: Option<String>,
    expires: Instant,
    /// Set once redeemed: the grant it created (revoked if the code is replayed).
    redeemed: Option<u64>,
}

/// Plain tokens issued to a person, kept ONLY when test controls are on (for
/// `GET /__sandbox/tokens`, which lets browser tests prove no token reached JavaScript).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedRecord {
    /// Person the tokens were issued to.
    #[serde(skip)]
    pub person: String,
    /// Access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
}

/// All grants, codes and tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    next_grant: u64,
    grants: HashMap<u64, Grant>,
    access: HashMap<Hash, AccessEntry>,
    refresh: HashMap<Hash, RefreshEntry>,
    codes: HashMap<Hash, CodeEntry>,
    /// Whether to keep [`IssuedRecord`]s (controls on).
    pub keep_issued: bool,
    issued: Vec<IssuedRecord>,
}

/// Parameters for a new authorization code.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    /// Person who logged in.
    pub person: String,
    /// Client it is for.
    pub client: String,
    /// Redirect URI it was requested with.
    pub redirect_uri: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// PKCE S256 challenge, if sent.
    pub challenge: Option<String>,
}

impl TokenStore {
    /// Forgets everything.
    pub fn clear(&mut self) {
        let keep = self.keep_issued;
        *self = Self { keep_issued: keep, ..Self::default() };
    }

    /// Creates a grant and issues its first token pair.
    pub fn grant(&mut self, person: &str, client: &str, scopes: Vec<String>, settings: &Settings) -> IssuedTokens {
        let id = self.new_grant(person, client, scopes.clone());
        self.issue(id, scopes, None, settings)
    }

    fn new_grant(&mut self, person: &str, client: &str, scopes: Vec<String>) -> u64 {
        self.next_grant += 1;
        let id = self.next_grant;
        self.grants.insert(id, Grant { person: person.to_owned(), client: client.to_owned(), scopes });
        id
    }

    /// Issues an access token (and a refresh token unless `keep_refresh` is given) for a grant.
    fn issue(&mut self, grant: u64, scopes: Vec<String>, keep_refresh: Option<String>, settings: &Settings) -> IssuedTokens {
        let access = random_token();
        let lifetime = settings.access_token_lifetime;
        self.access
            .insert(hash(&access), AccessEntry { grant, scopes: scopes.clone(), expires: Instant::now() + Duration::from_secs(lifetime) });
        let refresh = match keep_refresh {
            Some(r) => r,
            None => {
                let r = random_token();
                let grant_scopes = self.grants.get(&grant).map(|g| g.scopes.clone()).unwrap_or_default();
                self.refresh.insert(hash(&r), RefreshEntry { grant, scopes: grant_scopes, rotated: false });
                r
            }
        };
        if self.keep_issued {
            if let Some(g) = self.grants.get(&grant) {
                self.issued.push(IssuedRecord { person: g.person.clone(), access_token: access.clone(), refresh_token: refresh.clone() });
            }
        }
        IssuedTokens::bearer(access, i64::try_from(lifetime).unwrap_or(i64::MAX), Some(refresh), Some(scopes.join(" ")))
    }

    /// Stores a new one-time authorization code and returns it.
    pub fn new_code(&mut self, req: CodeRequest, settings: &Settings) -> String {
        // forget codes long past their lifetime (replays of those are simply unknown)
        let now = Instant::now();
        self.codes.retain(|_, c| c.expires + CODE_MEMORY > now);
        let code = random_token();
        self.codes.insert(
            hash(&code),
            CodeEntry {
                person: req.person,
                client: req.client,
                redirect_uri: req.redirect_uri,
                scopes: req.scopes,
                challenge: req.challenge,
                expires: Instant::now() + Duration::from_secs(settings.code_lifetime),
                redeemed: None,
            },
        );
        code
    }

    /// Exchanges a code. A replayed code revokes the grant it created (RFC 6749 §4.1.2).
    pub fn redeem_code(
        &mut self,
        code: &str,
        client: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        settings: &Settings,
    ) -> Result<IssuedTokens, GrantError> {
        let h = hash(code);
        let Some(entry) = self.codes.get_mut(&h) else {
            return Err(GrantError("The authorization code is invalid".into()));
        };
        if let Some(grant) = entry.redeemed {
            self.revoke_grant(grant);
            return Err(GrantError("The authorization code was already used; tokens issued from it are revoked".into()));
        }
        if entry.client != client {
            return Err(GrantError("The authorization code was issued to another client".into()));
        }
        if Instant::now() >= entry.expires {
            self.codes.remove(&h);
            return Err(GrantError("The authorization code has expired".into()));
        }
        if redirect_uri != Some(entry.redirect_uri.as_str()) {
            return Err(GrantError("redirect_uri does not match the authorization request".into()));
        }
        if let Some(challenge) = &entry.challenge {
            let Some(verifier) = verifier else {
                return Err(GrantError("code_verifier is required".into()));
            };
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !valid_verifier(verifier) || computed != *challenge {
                return Err(GrantError("code_verifier does not match the code_challenge".into()));
            }
        }
        let (person, client, scopes) = (entry.person.clone(), entry.client.clone(), entry.scopes.clone());
        let grant = self.new_grant(&person, &client, scopes.clone());
        if let Some(e) = self.codes.get_mut(&h) {
            e.redeemed = Some(grant);
        }
        Ok(self.issue(grant, scopes, None, settings))
    }

    /// Refresh-token grant, with optional scope narrowing, rotation and reuse detection.
    pub fn refresh(
        &mut self,
        token: &str,
        client: &str,
        scope: Option<&[String]>,
        settings: &Settings,
    ) -> Result<IssuedTokens, GrantError> {
        let h = hash(token);
        let Some(entry) = self.refresh.get(&h) else {
            return Err(GrantError("The refresh token is invalid".into()));
        };
        let grant_id = entry.grant;
        let Some(grant) = self.grants.get(&grant_id) else {
            return Err(GrantError("The refresh token is invalid".into()));
        };
        if grant.client != client {
            return Err(GrantError("The refresh token was issued to another client".into()));
        }
        if entry.rotated {
            if settings.reuse_detection {
                self.revoke_grant(grant_id);
                return Err(GrantError("The refresh token was already used; the grant is revoked".into()));
            }
            return Err(GrantError("The refresh token was already used".into()));
        }
        let scopes = match scope {
            Some(asked) if !asked.is_empty() => {
                if let Some(bad) = asked.iter().find(|s| !entry.scopes.contains(s)) {
                    return Err(GrantError(format!("The scope {bad} was not granted")));
                }
                asked.to_vec()
            }
            _ => entry.scopes.clone(),
        };
        if settings.refresh_rotation {
            if let Some(e) = self.refresh.get_mut(&h) {
                e.rotated = true;
            }
            Ok(self.issue(grant_id, scopes, None, settings))
        } else {
            Ok(self.issue(grant_id, scopes, Some(token.to_owned()), settings))
        }
    }

    /// Checks an access token.
    pub fn check_access(&self, token: &str) -> Result<AccessInfo, AccessError> {
        let entry = self.access.get(&hash(token)).ok_or(AccessError::Invalid)?;
        let grant = self.grants.get(&entry.grant).ok_or(AccessError::Invalid)?;
        if Instant::now() >= entry.expires {
            return Err(AccessError::Expired);
        }
        Ok(AccessInfo { person: grant.person.clone(), scopes: entry.scopes.clone() })
    }

    /// Revokes a grant with all its tokens.
    pub fn revoke_grant(&mut self, grant: u64) {
        self.grants.remove(&grant);
        self.access.retain(|_, e| e.grant != grant);
        self.refresh.retain(|_, e| e.grant != grant);
    }

    /// Revokes every grant matching the filter; returns how many.
    fn revoke_where(&mut self, f: impl Fn(&Grant) -> bool) -> usize {
        let ids: Vec<u64> = self.grants.iter().filter(|(_, g)| f(g)).map(|(id, _)| *id).collect();
        for id in &ids {
            self.revoke_grant(*id);
        }
        ids.len()
    }

    /// Revokes all grants of a person (10-digit form); returns how many.
    pub fn revoke_person(&mut self, person: &str) -> usize {
        self.revoke_where(|g| g.person == person)
    }

    /// Revokes all grants of a client; returns how many.
    pub fn revoke_client(&mut self, client: &str) -> usize {
        self.revoke_where(|g| g.client == client)
    }

    /// RFC 7009: revokes the grant of a refresh token, or one access token. Returns whether
    /// anything owned by `client` was found (`None` client: any owner).
    pub fn revoke_token(&mut self, token: &str, client: Option<&str>) -> bool {
        let h = hash(token);
        let owner_ok = |grants: &HashMap<u64, Grant>, g: u64| client.is_none_or(|c| grants.get(&g).is_some_and(|gr| gr.client == c));
        if let Some(g) = self.refresh.get(&h).map(|e| e.grant) {
            if owner_ok(&self.grants, g) {
                self.revoke_grant(g);
                return true;
            }
            return false;
        }
        if let Some(g) = self.access.get(&h).map(|e| e.grant) {
            if owner_ok(&self.grants, g) {
                self.access.remove(&h);
                return true;
            }
        }
        false
    }

    /// Makes every access token expired now; returns how many.
    pub fn expire_all(&mut self) -> usize {
        let now = Instant::now();
        for e in self.access.values_mut() {
            e.expires = now;
        }
        self.access.len()
    }

    /// Tokens issued to a person (only recorded while controls are on).
    pub fn issued_to(&self, person: &str) -> Vec<IssuedRecord> {
        self.issued.iter().filter(|r| r.person == person).cloned().collect()
    }

    /// Number of live grants.
    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }
}

/// RFC 7636 §4.1: 43..128 chars of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(t: &IssuedTokens) -> &str {
        t.refresh_token.as_deref().unwrap_or_default()
    }

    fn s() -> Settings {
        Settings::default()
    }

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn rotation_and_reuse_revokes_grant() {
        let mut st = TokenStore::default();
        let mut set = s();
        set.refresh_rotation = true;
        let t = st.grant("9311219639", "c", vec!["psd2_accounts".into()], &set);
        let t2 = st.refresh(rt(&t), "c", None, &set).unwrap();
        assert_ne!(t2.refresh_token, t.refresh_token);
        assert!(st.check_access(&t2.access_token).is_ok());
        assert!(st.refresh(rt(&t), "c", None, &set).is_err());
        assert_eq!(st.check_access(&t2.access_token).unwrap_err(), AccessError::Invalid);
        assert!(st.refresh(rt(&t2), "c", None, &set).is_err());
    }

    #[test]
    fn no_rotation_keeps_refresh_token_and_narrows_scope() {
        let mut st = TokenStore::default();
        let t = st.grant("p", "c", vec!["psd2_accounts".into(), "psd2_payments".into()], &s());
        let t2 = st.refresh(rt(&t), "c", Some(&["psd2_accounts".into()]), &s()).unwrap();
        assert_eq!(t2.refresh_token, t.refresh_token);
        assert_eq!(t2.scope.as_deref(), Some("psd2_accounts"));
        assert!(st.refresh(rt(&t), "other", None, &s()).is_err());
        assert!(st.refresh(rt(&t), "c", Some(&["x".into()]), &s()).is_err());
    }

    #[test]
    fn expire_all_makes_tokens_expired() {
        let mut st = TokenStore::default();
        let t = st.grant("p", "c", vec![], &s());
        st.expire_all();
        assert_eq!(st.check_access(&t.access_token).unwrap_err(), AccessError::Expired);
        assert_eq!(st.check_access("nope").unwrap_err(), AccessError::Invalid);
    }
}
