//! Sandbox configuration: registered clients, test controls, token lifetimes.

use serde::{Deserialize, Serialize};

/// A registered OAuth client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// The registered redirect URI (exact match required).
    pub redirect_uri: String,
}

impl Client {
    /// Parses `id:secret:redirect_uri` (the redirect URI may itself contain colons).
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(id), Some(secret), Some(uri)) if !id.is_empty() && !secret.is_empty() && !uri.is_empty() => {
                Ok(Self { id: id.to_owned(), secret: secret.to_owned(), redirect_uri: uri.to_owned() })
            }
            _ => Err("expected id:secret:redirect_uri".to_owned()),
        }
    }

    /// The built-in demo client: `valv-demo` / `valv-demo-secret`,
    /// redirect `http://127.0.0.1:8080/auth/callback`.
    pub fn demo() -> Self {
        Self {
            id: "valv-demo".to_owned(),
            secret: "valv-demo-secret".to_owned(),
            redirect_uri: "http://127.0.0.1:8080/auth/callback".to_owned(),
        }
    }
}

/// Settings a test may change at run time through `/__sandbox/config`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Access-token lifetime in seconds (default 3599, as SEB).
    pub access_token_lifetime: u64,
    /// Authorization-code lifetime in seconds (default 60).
    pub code_lifetime: u64,
    /// Issue a new refresh token on every refresh (default off: SEB keeps the refresh token).
    pub refresh_rotation: bool,
    /// Reusing a rotated refresh token revokes the whole grant (default on).
    pub reuse_detection: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { access_token_lifetime: 3599, code_lifetime: 60, refresh_rotation: false, reuse_detection: true }
    }
}

/// Everything needed to build a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Registered clients (the demo client is included by [`SandboxConfig::default`]).
    pub clients: Vec<Client>,
    /// Serve the test controls under `/__sandbox/` (and honour `login_hint`).
    pub controls: bool,
    /// Initial token lifetimes and refresh policy.
    pub settings: Settings,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self { clients: vec![Client::demo()], controls: false, settings: Settings::default() }
    }
}

/// The TOML config file: `[[clients]]` tables with `id`, `secret`, `redirect_uri`,
/// optional `controls = true` and an optional `[settings]` table (camelCase keys as in
/// `/__sandbox/config`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Clients to register (in addition to the demo client).
    #[serde(default)]
    pub clients: Vec<Client>,
    /// Turn test controls on.
    #[serde(default)]
    pub controls: bool,
    /// Initial settings.
    #[serde(default)]
    pub settings: Option<Settings>,
}

impl SandboxConfig {
    /// The client with this id.
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// Adds a client, replacing one with the same id.
    pub fn add_client(&mut self, client: Client) {
        self.clients.retain(|c| c.id != client.id);
        self.clients.push(client);
    }

    /// Merges a parsed TOML config file into this config.
    pub fn merge_file(&mut self, text: &str) -> Result<(), toml::de::Error> {
        let file: ConfigFile = toml::from_str(text)?;
        for c in file.clients {
            self.add_client(c);
        }
        self.controls |= file.controls;
        if let Some(s) = file.settings {
            self.settings = s;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_client_flag_with_colons_in_uri() {
        let c = Client::parse_flag("a:b:http://x:1/cb").unwrap();
        assert_eq!(c.redirect_uri, "http://x:1/cb");
        assert!(Client::parse_flag("a:b").is_err());
        assert!(Client::parse_flag("::").is_err());
    }

    #[test]
    fn merges_toml() {
        let mut c = SandboxConfig::default();
        c.merge_file("controls = true\n[[clients]]\nid='x'\nsecret='y'\nredirect_uri='http://l/cb'\n").unwrap();
        assert!(c.controls);
        assert_eq!(c.client("x").unwrap().secret, "y");
        assert!(c.client("valv-demo").is_some());
        assert!(c.merge_file("bogus = 1").is_err());
    }
}
