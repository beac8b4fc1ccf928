//! Configuration: one TOML file plus `VALV_…` environment overrides, validated at start.
//!
//! FOUNDATION helper implements `Config::load`/`Config::from_toml_str` and validation; the
//! types below are the contract the HTTP side codes against (fields may be added, not renamed).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// The whole broker configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the broker listens (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The public origin of the broker as the browser sees it, e.g. `http://127.0.0.1:8080`
    /// (used to build each provider's default redirect URI `{origin}/auth/callback`).
    pub public_origin: url::Url,
    /// Static files of the SPA (default `www`); `None` serves nothing.
    pub static_dir: Option<PathBuf>,
    /// Session cookie, lifetimes and encryption keys.
    pub session: SessionConfig,
    /// Where sessions live.
    pub store: StoreConfig,
    /// Providers by name (the `{provider}` of `/api/{provider}/…`).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Origins allowed to call the broker with credentials from another origin (empty = CORS off).
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (CIDRs); empty = use the socket address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Size and time limits.
    pub limits: Limits,
}

/// Session settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Cookie name, must start with `__Host-` (default `__Host-valv`).
    pub cookie_name: String,
    /// A session unused this long ends (default 30 min).
    pub idle_timeout: Duration,
    /// A session ends this long after login whatever happens (default 12 h).
    pub absolute_timeout: Duration,
    /// Refresh an access token this long before it expires (default 30 s).
    pub refresh_skew: Duration,
    /// AEAD keys by key id; tokens are sealed with `active_key`, opened with any.
    pub keys: BTreeMap<String, Secret>,
    /// Id of the key new data is sealed with.
    pub active_key: String,
}

/// The session store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In process memory (tests, single process; lost at restart).
    Memory,
    /// `sqlite://PATH` — the default (`sqlite://.valv/sessions.db`).
    Sqlite(PathBuf),
    /// `redis://…` — shared by several replicas.
    Redis(String),
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (SEB's way).
    ClientSecretPost,
    /// HTTP Basic with the client id and secret.
    ClientSecretBasic,
}

/// One allowlist entry: methods and a path pattern relative to the API base URL.
/// Pattern segments: literal, `*` (exactly one segment) or a final `**` (any rest, ≥ 1 segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Upper-case HTTP methods.
    pub methods: Vec<http::Method>,
    /// e.g. `/ais/v7/identified2/accounts/*/transactions`.
    pub path: String,
}

/// One OAuth provider / bank.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Name (map key).
    pub name: String,
    /// Authorization endpoint.
    pub authorize_url: url::Url,
    /// Token endpoint.
    pub token_url: url::Url,
    /// Optional RFC 7009 revocation endpoint.
    pub revocation_url: Option<url::Url>,
    /// Base of `/api/{provider}/…` forwarding.
    pub api_base_url: url::Url,
    /// Redirect URI registered at the bank (default `{public_origin}/auth/callback`).
    pub redirect_uri: url::Url,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret,
    /// Token endpoint client authentication.
    pub client_auth: ClientAuth,
    /// Scopes a login may ask for.
    pub scopes: Vec<String>,
    /// Scopes used when a login names none (default: all of `scopes`).
    pub default_scopes: Vec<String>,
    /// Send PKCE S256 (default true).
    pub pkce: bool,
    /// Method + path allowlist for `/api/{provider}/…`.
    pub allow: Vec<RouteRule>,
    /// Set `PSU-IP-Address` / `PSU-User-Agent` (PSD2 header policy, default true).
    pub psd2_headers: bool,
    /// Optional mTLS client identity.
    pub mtls: Option<TlsIdentityConfig>,
}

/// An mTLS client identity.
#[derive(Debug, Clone)]
pub enum TlsIdentityConfig {
    /// PKCS#12 file (`.pfx`/`.p12`) and its password.
    Pkcs12 {
        /// File path.
        path: PathBuf,
        /// Password (`env:`/`file:`; SEB's sandbox one is `qwerty`).
        password: Secret,
    },
    /// PEM certificate chain and PEM private key.
    Pem {
        /// Certificate chain file.
        cert: PathBuf,
        /// Private key file.
        key: PathBuf,
    },
}

/// Size and time limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted from the browser (default 1 MiB).
    pub max_request_body: usize,
    /// Largest response body accepted from the bank (default 10 MiB).
    pub max_response_body: usize,
    /// Whole upstream request timeout (default 30 s).
    pub upstream_timeout: Duration,
    /// Upstream connect timeout (default 5 s).
    pub connect_timeout: Duration,
}

/// A configuration error; names the key (e.g. `providers.seb.token_url`) and what is wrong.
/// Never contains a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted key, e.g. `session.keys.k1` or `VALV_PROVIDERS__SEB__CLIENT_ID`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Reads the TOML file (if any), applies `VALV_…` overrides from `env`, resolves
    /// `env:NAME` / `file:PATH` secrets, and validates. FOUNDATION implements.
    pub fn load(path: Option<&std::path::Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let _ = (path, env);
        unimplemented!("foundation")
    }

    /// Same as [`Config::load`] from TOML text (tests).
    pub fn from_toml_str(toml: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let _ = (toml, env);
        unimplemented!("foundation")
    }
}
