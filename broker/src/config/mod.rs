//! Configuration: one TOML file plus `VALV_…` environment overrides, validated at start.
//!
//! The types here are what the rest of the broker reads; `loader` fills them from the raw
//! TOML and the environment, and validates them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// The whole broker configuration.
///
/// Loaded by [`Config::load`] from one TOML file plus `VALV_…` environment overrides.
/// Relative paths are relative to the broker's working directory. Secrets (`client_secret`,
/// session keys, PKCS#12 passwords) are only ever `env:NAME` or `file:PATH` (a trailing newline
/// of the file is dropped); an inline secret is refused. `client_id` may be either.
///
/// ```toml
/// listen = "127.0.0.1:8080"                 # default
/// public_origin = "http://127.0.0.1:8080"   # as the browser sees the broker; default http://{listen}
/// static_dir = "www"                        # default "www"; "" serves no files
/// store = "sqlite://.valv/sessions.db"      # default; or "memory", or "redis://127.0.0.1:6379/0"
/// cors_allowed_origins = []                 # other origins allowed to call with credentials
/// trusted_proxies = ["10.0.0.0/8"]          # whose X-Forwarded-For is believed
///
/// [session]
/// cookie_name = "__Host-valv"               # default; must start with __Host-
/// idle_timeout = "30m"                      # humantime durations: 90s, 10m, 12h, 1day
/// absolute_timeout = "12h"
/// refresh_skew = "30s"
/// active_key = "k2"                         # optional when there is one key
///
/// [session.keys]                            # 32 random bytes, base64 (std or url-safe)
/// k1 = "file:/run/secrets/valv-session-k1"  # old key: still opens old sessions
/// k2 = "env:VALV_SESSION_KEY_K2"
///
/// [limits]
/// max_request_body = "1MiB"                 # or bytes: 1048576 (units B KiB MiB GiB kB MB GB)
/// max_response_body = "10MiB"
/// upstream_timeout = "30s"
/// connect_timeout = "5s"
///
/// [providers.seb]                           # name: [a-z0-9-]+, used in /api/seb/…
/// authorize_url = "https://api-sandbox.sebgroup.com/mga/sps/oauth/oauth20/authorize"
/// token_url = "https://api-sandbox.sebgroup.com/mga/sps/oauth/oauth20/token"
/// revocation_url = "https://bank.example/revoke"   # optional (RFC 7009)
/// api_base_url = "https://api-sandbox.sebgroup.com"
/// redirect_uri = "https://app.example.com/auth/callback"  # default {public_origin}/auth/callback
/// client_id = "env:SEB_CLIENT_ID"
/// client_secret = "env:SEB_CLIENT_SECRET"
/// client_auth = "client_secret_post"       # default; or client_secret_basic
/// scopes = ["psd2_accounts", "psd2_payments"]
/// default_scopes = ["psd2_accounts"]       # default: all scopes
/// pkce = true                              # default
/// psd2_headers = true                      # default: PSU-IP-Address, PSU-User-Agent
/// allow_preset = "seb-psd2"                # SEB AIS/PIS/COF v7 identified2 routes
///
/// [[providers.seb.allow]]                  # more routes: * = one segment, final ** = the rest
/// methods = ["GET"]
/// path = "/ais/v7/identified2/accounts/*/transactions"
///
/// [providers.seb.mtls]                     # or: cert = "qwac.pem", key = "qwac.key"
/// pkcs12 = "open-banking.pfx"
/// password = "env:SEB_PFX_PASSWORD"
/// ```
///
/// Environment overrides: `VALV_` + the key path in upper case with `__` between levels, e.g.
/// `VALV_STORE=redis://cache:6379`, `VALV_SESSION__IDLE_TIMEOUT=10m`,
/// `VALV_PROVIDERS__SEB__CLIENT_ID=…`, `VALV_CORS_ALLOWED_ORIGINS=https://a.example,https://b.example`
/// (lists are comma-separated; `allow` takes TOML array syntax). `VALV_…` variables that do not
/// start with a configuration key (say, a secret referenced by `env:`) are ignored.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the broker listens (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// A separate listener for `/metrics` (then not served on `listen`); `None` serves it on
    /// `listen`.
    pub metrics_listen: Option<SocketAddr>,
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
    /// Rate limits per client address and per session.
    pub rate_limits: RateLimits,
}

/// A rate: `count` per `period` (a burst of `count`, then evenly spread), or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// Not limited.
    Off,
    /// `count` per `period`.
    Per {
        /// How many.
        count: u32,
        /// In how long.
        period: Duration,
    },
}

/// `[rate_limits]`: `"N/s"`, `"N/min"`, `"N/h"` or `"off"` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// `/auth/login` and `/auth/callback` per client address (default `60/min`).
    pub logins_per_ip: Rate,
    /// `/api/…` per client address (default `1000/s`).
    pub api_per_ip: Rate,
    /// `/api/…` per session (default `100/s`).
    pub api_per_session: Rate,
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

/// The session store. `Debug` hides a password in a Redis URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In process memory (tests, single process; lost at restart).
    Memory,
    /// `sqlite://PATH` — the default (`sqlite://.valv/sessions.db`).
    Sqlite(PathBuf),
    /// `redis://…` — shared by several replicas.
    Redis(String),
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Redis(url) => f.debug_tuple("Redis").field(&crate::store::redact_url(url)).finish(),
        }
    }
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
    /// Redirect URI registered at the bank: `…/auth/callback` or `…/auth/callback/{name}`,
    /// its own for each provider (default `{public_origin}/auth/callback` with one provider,
    /// `{public_origin}/auth/callback/{name}` with several).
    pub redirect_uri: url::Url,
    /// The bank's issuer identifier: when set, a login answer must carry it as `iss`
    /// (RFC 9207).
    pub issuer: Option<String>,
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
    /// Request headers forwarded from the browser (lower-case; default
    /// [`crate::policy::headers::DEFAULT_FORWARD`]). Every other header is dropped.
    pub forward_headers: Vec<http::HeaderName>,
    /// Optional mTLS client identity.
    pub mtls: Option<TlsIdentityConfig>,
    /// The bank's decoupled authorization (Mobile BankID) API, when it has one: SEB's
    /// `…/auth/v4` (or `…/auth/v3`). `POST /auth/bankid` is offered for this provider only
    /// when it is set.
    pub decoupled: Option<DecoupledConfig>,
}

/// A decoupled authorization API (SEB's `/auth/v3` or `/auth/v4`).
#[derive(Debug, Clone)]
pub struct DecoupledConfig {
    /// `…/authorizations` (start), `…/authorizations/{id}` (status), `…/tokens`.
    pub base: url::Url,
    /// The API version, from the base's last path segment (`v3` or `v4`).
    pub version: DecoupledVersion,
    /// How BankID is started.
    pub start_mode: StartMode,
}

/// SEB's decoupled authorization versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecoupledVersion {
    /// `/auth/v3`: `UPPER_SNAKE` hint codes, `psu-ip-address` optional.
    V3,
    /// `/auth/v4`: camelCase hint codes, `psu-ip-address` and `start_mode` required.
    V4,
}

/// How BankID is started for a decoupled login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// An animated QR code scanned with BankID on another device (and the autostart link
    /// for BankID on this one).
    Qr,
    /// BankID on the same device only (the autostart link).
    Ast,
}

impl StartMode {
    /// The `start_mode` value the bank takes.
    pub fn as_str(self) -> &'static str {
        match self {
            StartMode::Qr => "qr",
            StartMode::Ast => "ast",
        }
    }
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
    /// A browser connection must send a request's headers within this long of starting
    /// it — also the longest a kept-alive connection may sit idle (default 10 s).
    pub header_read_timeout: Duration,
    /// A request body must arrive within this long (default 10 s; 408 after).
    pub body_read_timeout: Duration,
    /// The longest any request may take from headers to answer (408 after; default 60 s, or
    /// `upstream_timeout` + `body_read_timeout` + 20 s when that is longer).
    pub request_timeout: Duration,
    /// Browser connections open at once; more wait to be accepted (default 4096).
    pub max_connections: usize,
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
    /// `env:NAME` / `file:PATH` secrets, and validates.
    pub fn load(path: Option<&std::path::Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| ConfigError { key: p.display().to_string(), message: format!("cannot read the configuration file: {e}") })?,
            None => String::new(),
        };
        Self::from_toml_str(&text, env)
    }

    /// Same as [`Config::load`] from TOML text (tests).
    pub fn from_toml_str(toml: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut tree: toml::Table =
            toml::from_str(toml).map_err(|e| ConfigError { key: "(file)".into(), message: format!("not valid TOML: {}", e.message()) })?;
        loader::apply_env(&mut tree, env)?;
        let raw: loader::RawConfig = serde_path_to_error::deserialize(toml::Value::Table(tree)).map_err(|e| {
            // The path names the key whose value has the wrong type, or the table holding an
            // unknown key (the message then names the key itself).
            let path = e.path().to_string();
            ConfigError {
                key: if path == "." || path.is_empty() { "(file)".into() } else { path },
                message: e.into_inner().message().to_owned(),
            }
        })?;
        loader::build(raw, env)
    }
}

/// The routes of SEB's PSD2 APIs a browser app needs (AIS v7, PIS v7, funds confirmation v7,
/// `identified2`), for `allow_preset = "seb-psd2"`. `PATCH /payments/mock/resetall` (a sandbox
/// reset) is deliberately absent.
pub fn seb_psd2_preset() -> Vec<RouteRule> {
    use http::Method;
    let r = |methods: &[Method], path: &str| RouteRule { methods: methods.to_vec(), path: path.to_owned() };
    let get = [Method::GET];
    vec![
        r(&get, "/ais/v7/identified2/accounts"),
        r(&get, "/ais/v7/identified2/accounts/*"),
        r(&get, "/ais/v7/identified2/accounts/*/balances"),
        r(&get, "/ais/v7/identified2/accounts/*/transactions"),
        r(&get, "/ais/v7/identified2/accounts/*/transactions/*"),
        r(&get, "/pis/v7/identified2/templates"),
        r(&get, "/pis/v7/identified2/templates/*"),
        r(&[Method::POST], "/pis/v7/identified2/payments/*"),
        r(&[Method::GET, Method::DELETE], "/pis/v7/identified2/payments/*/*"),
        r(&get, "/pis/v7/identified2/payments/*/*/status"),
        r(&[Method::GET, Method::POST], "/pis/v7/identified2/payments/*/*/authorisations"),
        r(&get, "/pis/v7/identified2/payments/*/*/authorisations/*"),
        r(&[Method::POST], "/pis/v7/identified2/periodic-payments/*"),
        r(&[Method::GET, Method::DELETE], "/pis/v7/identified2/periodic-payments/*/*"),
        r(&get, "/pis/v7/identified2/periodic-payments/*/*/status"),
        r(&[Method::GET, Method::POST], "/pis/v7/identified2/periodic-payments/*/*/authorisations"),
        r(&get, "/pis/v7/identified2/periodic-payments/*/*/authorisations/*"),
        r(&[Method::POST], "/pis/v7/identified2/signing-baskets"),
        r(&[Method::GET, Method::DELETE], "/pis/v7/identified2/signing-baskets/*"),
        r(&get, "/pis/v7/identified2/signing-baskets/*/status"),
        r(&[Method::GET, Method::POST], "/pis/v7/identified2/signing-baskets/*/authorisations"),
        r(&get, "/pis/v7/identified2/signing-baskets/*/authorisations/*"),
        r(&[Method::POST], "/cof/v7/identified2/funds-confirmations"),
    ]
}

mod loader;
