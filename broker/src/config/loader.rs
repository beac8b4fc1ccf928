//! Reading a configuration: TOML → raw serde structs → `VALV_…` overrides → `env:`/`file:`
//! secrets → validated [`Config`] (every error names its dotted key).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::*;

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    listen: Option<String>,
    metrics_listen: Option<String>,
    public_origin: Option<String>,
    static_dir: Option<String>,
    store: Option<String>,
    #[serde(default)]
    cors_allowed_origins: Vec<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    rate_limits: RawRateLimits,
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRateLimits {
    logins_per_ip: Option<String>,
    api_per_ip: Option<String>,
    api_per_session: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSession {
    cookie_name: Option<String>,
    idle_timeout: Option<String>,
    absolute_timeout: Option<String>,
    refresh_skew: Option<String>,
    active_key: Option<String>,
    #[serde(default)]
    keys: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_request_body: Option<toml::Value>,
    max_response_body: Option<toml::Value>,
    upstream_timeout: Option<String>,
    connect_timeout: Option<String>,
    header_read_timeout: Option<String>,
    body_read_timeout: Option<String>,
    request_timeout: Option<String>,
    max_connections: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    authorize_url: Option<String>,
    token_url: Option<String>,
    revocation_url: Option<String>,
    api_base_url: Option<String>,
    redirect_uri: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_auth: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    default_scopes: Option<Vec<String>>,
    pkce: Option<bool>,
    psd2_headers: Option<bool>,
    forward_headers: Option<Vec<String>>,
    #[serde(default)]
    allow: Vec<RawRule>,
    allow_preset: Option<String>,
    mtls: Option<RawMtls>,
    decoupled_url: Option<String>,
    start_mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    methods: Vec<String>,
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMtls {
    pkcs12: Option<String>,
    password: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

/// Top-level keys an environment override may address; other `VALV_…` variables (secrets
/// referenced by `env:`, tool settings) are not configuration and are left alone.
const SECTIONS: &[&str] = &[
    "listen",
    "metrics_listen",
    "public_origin",
    "static_dir",
    "store",
    "cors_allowed_origins",
    "trusted_proxies",
    "session",
    "limits",
    "providers",
];
const LIST_KEYS: &[&str] = &["cors_allowed_origins", "trusted_proxies", "scopes", "default_scopes", "methods", "forward_headers"];
const BOOL_KEYS: &[&str] = &["pkce", "psd2_headers"];

/// `VALV_SESSION__IDLE_TIMEOUT=10m` → `session.idle_timeout = "10m"`; names nest with `__`
/// and are lower-cased; values are typed by the key (lists are comma-separated, `allow` is
/// TOML array syntax).
pub(super) fn apply_env(tree: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    let mut vars: Vec<&(String, String)> = env.iter().filter(|(k, _)| k.starts_with("VALV_")).collect();
    vars.sort();
    for (name, value) in vars {
        let path: Vec<String> = name["VALV_".len()..].split("__").map(str::to_ascii_lowercase).collect();
        if !SECTIONS.contains(&path[0].as_str()) || path.iter().any(String::is_empty) {
            continue;
        }
        let leaf = path.last().map(String::as_str).unwrap_or_default();
        let typed = if BOOL_KEYS.contains(&leaf) {
            match value.trim() {
                "true" | "1" | "yes" => toml::Value::Boolean(true),
                "false" | "0" | "no" => toml::Value::Boolean(false),
                _ => return Err(err(name.clone(), "expected true or false")),
            }
        } else if LIST_KEYS.contains(&leaf) {
            toml::Value::Array(
                value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| toml::Value::String(s.to_owned())).collect(),
            )
        } else if leaf == "allow" {
            let parsed: toml::Table = toml::from_str(&format!("v = {value}"))
                .map_err(|e| err(name.clone(), format!("expected a TOML array of {{ methods, path }}: {}", e.message())))?;
            parsed.get("v").cloned().unwrap_or(toml::Value::Array(Vec::new()))
        } else if matches!(leaf, "max_request_body" | "max_response_body") && value.trim().bytes().all(|b| b.is_ascii_digit()) {
            value.trim().parse::<i64>().map(toml::Value::Integer).map_err(|_| err(name.clone(), "number too large"))?
        } else {
            toml::Value::String(value.clone())
        };
        let mut table = &mut *tree;
        for (i, seg) in path[..path.len() - 1].iter().enumerate() {
            let entry = table.entry(seg.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry
                .as_table_mut()
                .ok_or_else(|| err(name.clone(), format!("`{}` is not a table in the configuration", path[..=i].join("."))))?;
        }
        table.insert(leaf.to_owned(), typed);
    }
    Ok(())
}

/// Resolves `env:NAME` / `file:PATH`. Inline values are refused for secrets.
fn secret(key: &str, value: Option<&str>, env: &[(String, String)], required: bool) -> Result<Option<Secret>, ConfigError> {
    let Some(v) = value else {
        return if required { Err(err(key, "is required (as env:NAME or file:PATH)")) } else { Ok(None) };
    };
    match resolve(key, v, env)? {
        Some(s) => Ok(Some(Secret::new(s))),
        None => Err(err(key, "must be env:NAME or file:PATH; inline secrets are refused")),
    }
}

/// `Some(value)` for `env:`/`file:` references, `None` for a plain inline value.
fn resolve(key: &str, v: &str, env: &[(String, String)]) -> Result<Option<String>, ConfigError> {
    if let Some(name) = v.strip_prefix("env:") {
        let found = env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        match found {
            Some(s) if !s.is_empty() => Ok(Some(s)),
            Some(_) => Err(err(key, format!("environment variable {name} is empty"))),
            None => Err(err(key, format!("environment variable {name} is not set"))),
        }
    } else if let Some(path) = v.strip_prefix("file:") {
        let text = std::fs::read_to_string(path).map_err(|e| err(key, format!("cannot read {path}: {}", e.kind())))?;
        let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
        if text.is_empty() {
            return Err(err(key, format!("{path} is empty")));
        }
        Ok(Some(text.to_owned()))
    } else {
        Ok(None)
    }
}

fn duration(key: &str, v: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let d = humantime::parse_duration(v.trim())
        .map_err(|e| err(key, format!("{v:?} is not a duration like \"30s\", \"10m\", \"12h\": {e}")))?;
    if d.is_zero() {
        return Err(err(key, "must be greater than zero"));
    }
    Ok(d)
}

/// `"30/min"`, `"100/s"`, `"1000/h"` or `"off"`.
fn rate(key: &str, v: Option<&str>, default: Rate) -> Result<Rate, ConfigError> {
    let Some(v) = v.map(str::trim) else { return Ok(default) };
    if v.eq_ignore_ascii_case("off") {
        return Ok(Rate::Off);
    }
    let bad = || err(key, format!("{v:?} is not a rate like \"30/min\", \"100/s\", \"1000/h\" or \"off\""));
    let (count, per) = v.split_once('/').ok_or_else(bad)?;
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    if count == 0 {
        return Err(err(key, "must allow at least 1 (or be \"off\")"));
    }
    let period = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    Ok(Rate::Per { count, period })
}

/// A positive whole number (`4096` or `"4096"`).
fn count(key: &str, v: Option<&toml::Value>, default: usize) -> Result<usize, ConfigError> {
    let n = match v {
        None => return Ok(default),
        Some(toml::Value::Integer(i)) => usize::try_from(*i).map_err(|_| err(key, "must be a positive number"))?,
        Some(toml::Value::String(s)) => s.trim().parse::<usize>().map_err(|_| err(key, format!("{s:?} is not a positive number")))?,
        Some(_) => return Err(err(key, "must be a positive number")),
    };
    if n == 0 {
        return Err(err(key, "must be greater than zero"));
    }
    Ok(n)
}

/// `1048576`, `"1MiB"`, `"512KiB"`, `"10MB"`, `"64kB"`.
pub(super) fn size(key: &str, v: Option<&toml::Value>, default: usize) -> Result<usize, ConfigError> {
    let n = match v {
        None => return Ok(default),
        Some(toml::Value::Integer(i)) => u64::try_from(*i).map_err(|_| err(key, "must be positive"))?,
        Some(toml::Value::String(s)) => {
            let s = s.trim();
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (num, unit) = s.split_at(split);
            let num: u64 = num.parse().map_err(|_| err(key, format!("{s:?} is not a size like 1048576 or \"1MiB\"")))?;
            let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
                "" | "b" => 1,
                "kb" => 1_000,
                "kib" => 1 << 10,
                "mb" => 1_000_000,
                "mib" => 1 << 20,
                "gb" => 1_000_000_000,
                "gib" => 1 << 30,
                other => return Err(err(key, format!("unknown size unit {other:?} (use B, KiB, MiB, GiB, kB, MB, GB)"))),
            };
            num.checked_mul(mult).ok_or_else(|| err(key, "too large"))?
        }
        Some(_) => return Err(err(key, "must be a number of bytes or a string like \"1MiB\"")),
    };
    if n == 0 {
        return Err(err(key, "must be greater than zero"));
    }
    usize::try_from(n).map_err(|_| err(key, "too large"))
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => *d == "localhost" || d.ends_with(".localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn http_url(key: &str, v: Option<&str>) -> Result<url::Url, ConfigError> {
    let v = v.ok_or_else(|| err(key, "is required"))?;
    let u = url::Url::parse(v).map_err(|e| err(key, format!("{v:?} is not an absolute URL: {e}")))?;
    match u.scheme() {
        "https" => {}
        "http" if u.host().as_ref().is_some_and(is_loopback) => {}
        "http" => {
            return Err(err(
                key,
                format!("{v:?} uses plain http: tokens, codes and secrets would cross the network in clear; use https (http is allowed only for loopback hosts)"),
            ))
        }
        s => return Err(err(key, format!("{v:?}: scheme {s} is not http(s)"))),
    }
    if u.host().is_none() {
        return Err(err(key, format!("{v:?} has no host")));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(err(key, "must not carry credentials in the URL"));
    }
    Ok(u)
}

fn rule(key: &str, r: RawRule) -> Result<RouteRule, ConfigError> {
    if r.methods.is_empty() {
        return Err(err(format!("{key}.methods"), "must name at least one method"));
    }
    let mut methods = Vec::new();
    for m in &r.methods {
        let up = m.trim().to_ascii_uppercase();
        if !matches!(up.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") {
            return Err(err(format!("{key}.methods"), format!("{m:?} is not an HTTP method Valv forwards")));
        }
        methods.push(
            http::Method::from_bytes(up.as_bytes()).map_err(|_| err(format!("{key}.methods"), format!("{m:?} is not an HTTP method")))?,
        );
    }
    let p = r.path.trim();
    let path_key = format!("{key}.path");
    if !p.starts_with('/') {
        return Err(err(path_key, format!("{p:?} must start with /")));
    }
    if p.contains("//") || p.contains('%') || p.contains('\\') || p.contains('?') || p.contains('#') || p.contains(';') {
        return Err(err(path_key, format!("{p:?} must not contain //, %, \\, ?, # or ;")));
    }
    let segments: Vec<&str> = p[1..].split('/').collect();
    for (i, s) in segments.iter().enumerate() {
        if *s == "." || *s == ".." {
            return Err(err(path_key, format!("{p:?} must not contain . or .. segments")));
        }
        if *s == "**" && i + 1 != segments.len() {
            return Err(err(path_key, format!("{p:?}: ** is only allowed as the last segment")));
        }
        if s.contains('*') && *s != "*" && *s != "**" {
            return Err(err(path_key, format!("{p:?}: a wildcard is a whole segment (* or a final **)")));
        }
    }
    let path = match p.trim_end_matches('/') {
        "" => "/".to_owned(),
        trimmed => trimmed.to_owned(),
    };
    Ok(RouteRule { methods, path })
}

fn provider(
    name: &str,
    p: RawProvider,
    public_origin: &url::Url,
    several: bool,
    env: &[(String, String)],
) -> Result<ProviderConfig, ConfigError> {
    let k = |f: &str| format!("providers.{name}.{f}");
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(err(format!("providers.{name}"), "provider names are [a-z0-9-]+ (they appear in /api/{provider}/…)"));
    }
    let authorize_url = http_url(&k("authorize_url"), p.authorize_url.as_deref())?;
    let token_url = http_url(&k("token_url"), p.token_url.as_deref())?;
    let revocation_url = p.revocation_url.as_deref().map(|v| http_url(&k("revocation_url"), Some(v))).transpose()?;
    let api_base_url = http_url(&k("api_base_url"), p.api_base_url.as_deref())?;
    if api_base_url.query().is_some() || api_base_url.fragment().is_some() {
        return Err(err(k("api_base_url"), "must not have a query or fragment"));
    }
    let redirect_uri = match p.redirect_uri.as_deref() {
        Some(v) => http_url(&k("redirect_uri"), Some(v))?,
        // Each provider its own callback when there are several (RFC 9700 §4.4, mix-up).
        None if several => public_origin.join(&format!("/auth/callback/{name}")).map_err(|e| err(k("redirect_uri"), e.to_string()))?,
        None => public_origin.join("/auth/callback").map_err(|e| err(k("redirect_uri"), e.to_string()))?,
    };
    let own = format!("/auth/callback/{name}");
    if redirect_uri.path() != "/auth/callback" && redirect_uri.path() != own {
        return Err(err(k("redirect_uri"), format!("must end in /auth/callback or {own} (the broker's callback routes)")));
    }
    let issuer = match p.issuer.as_deref().map(str::trim) {
        None => None,
        Some(v) => {
            // RFC 9207: compared as a string, exactly as the bank sends it.
            http_url(&k("issuer"), Some(v))?;
            Some(v.to_owned())
        }
    };
    let client_id_raw = p.client_id.as_deref().ok_or_else(|| err(k("client_id"), "is required"))?;
    let client_id = resolve(&k("client_id"), client_id_raw, env)?.unwrap_or_else(|| client_id_raw.to_owned());
    if client_id.trim().is_empty() {
        return Err(err(k("client_id"), "must not be empty"));
    }
    let client_secret =
        secret(&k("client_secret"), p.client_secret.as_deref(), env, true)?.ok_or_else(|| err(k("client_secret"), "is required"))?;
    let client_auth = match p.client_auth.as_deref().unwrap_or("client_secret_post") {
        "client_secret_post" => ClientAuth::ClientSecretPost,
        "client_secret_basic" => ClientAuth::ClientSecretBasic,
        other => return Err(err(k("client_auth"), format!("{other:?}: expected client_secret_post or client_secret_basic"))),
    };
    if p.scopes.is_empty() {
        return Err(err(k("scopes"), "must list at least one scope"));
    }
    for s in &p.scopes {
        if s.is_empty() || !s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\') {
            return Err(err(k("scopes"), format!("{s:?} is not a valid OAuth scope token")));
        }
    }
    let default_scopes = p.default_scopes.unwrap_or_else(|| p.scopes.clone());
    if let Some(bad) = default_scopes.iter().find(|s| !p.scopes.contains(s)) {
        return Err(err(k("default_scopes"), format!("{bad:?} is not one of scopes")));
    }
    if default_scopes.is_empty() {
        return Err(err(k("default_scopes"), "must not be empty"));
    }
    let mut allow = Vec::new();
    for (i, r) in p.allow.into_iter().enumerate() {
        allow.push(rule(&format!("providers.{name}.allow[{i}]"), r)?);
    }
    match p.allow_preset.as_deref() {
        None => {}
        Some("seb-psd2") => allow.extend(seb_psd2_preset()),
        Some(other) => return Err(err(k("allow_preset"), format!("{other:?}: the only preset is \"seb-psd2\""))),
    }
    if allow.is_empty() {
        return Err(err(k("allow"), "no route is allowed: add [[providers.NAME.allow]] rules or allow_preset = \"seb-psd2\""));
    }
    let forward_headers = forward_headers(&k("forward_headers"), p.forward_headers)?;
    let mtls = match p.mtls {
        None => None,
        Some(m) => Some(match (m.pkcs12, m.password, m.cert, m.key) {
            (Some(path), password, None, None) => TlsIdentityConfig::Pkcs12 {
                path: PathBuf::from(path),
                password: secret(&k("mtls.password"), password.as_deref(), env, true)?
                    .ok_or_else(|| err(k("mtls.password"), "is required"))?,
            },
            (None, None, Some(cert), Some(key)) => TlsIdentityConfig::Pem { cert: PathBuf::from(cert), key: PathBuf::from(key) },
            _ => {
                return Err(err(k("mtls"), "give either pkcs12 + password, or cert + key (PEM files)"));
            }
        }),
    };
    let decoupled = decoupled(&k, p.decoupled_url.as_deref(), p.start_mode.as_deref())?;
    Ok(ProviderConfig {
        name: name.to_owned(),
        authorize_url,
        token_url,
        revocation_url,
        api_base_url,
        redirect_uri,
        issuer,
        client_id,
        client_secret,
        client_auth,
        scopes: p.scopes,
        default_scopes,
        pkce: p.pkce.unwrap_or(true),
        allow,
        psd2_headers: p.psd2_headers.unwrap_or(true),
        forward_headers,
        mtls,
        decoupled,
    })
}

/// `decoupled_url` (SEB's `…/auth/v4` or `…/auth/v3`) and `start_mode`.
fn decoupled(k: &dyn Fn(&str) -> String, url: Option<&str>, start_mode: Option<&str>) -> Result<Option<DecoupledConfig>, ConfigError> {
    let Some(url) = url else {
        if start_mode.is_some() {
            return Err(err(k("start_mode"), "needs decoupled_url (the bank's decoupled authorization API)"));
        }
        return Ok(None);
    };
    let mut base = http_url(&k("decoupled_url"), Some(url))?;
    if base.query().is_some() || base.fragment().is_some() {
        return Err(err(k("decoupled_url"), "must not have a query or fragment"));
    }
    let trimmed = base.path().trim_end_matches('/').to_owned();
    let version = match trimmed.rsplit('/').next() {
        Some("v4") => DecoupledVersion::V4,
        Some("v3") => DecoupledVersion::V3,
        _ => {
            return Err(err(
                k("decoupled_url"),
                format!("{url:?} must end in the API version, /v4 (or /v3), e.g. https://api.sebgroup.com/auth/v4"),
            ))
        }
    };
    base.set_path(&format!("{trimmed}/"));
    let start_mode = match start_mode.unwrap_or("qr") {
        "qr" => StartMode::Qr,
        "ast" => StartMode::Ast,
        other => return Err(err(k("start_mode"), format!("{other:?}: expected qr or ast"))),
    };
    Ok(Some(DecoupledConfig { base, version, start_mode }))
}

/// The request headers a provider receives: the configured list, or the PSD2 default.
fn forward_headers(key: &str, names: Option<Vec<String>>) -> Result<Vec<http::HeaderName>, ConfigError> {
    let Some(names) = names else {
        return Ok(crate::policy::headers::DEFAULT_FORWARD.iter().map(|n| http::HeaderName::from_static(n)).collect());
    };
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let n = n.trim();
        if let Some(why) = crate::policy::headers::unforwardable(n) {
            return Err(err(key, format!("{n:?} cannot be forwarded: {why}")));
        }
        let name = http::HeaderName::from_bytes(n.as_bytes()).map_err(|_| err(key, format!("{n:?} is not a header name")))?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

pub(super) fn build(raw: RawConfig, env: &[(String, String)]) -> Result<Config, ConfigError> {
    let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen: SocketAddr =
        listen_text.parse().map_err(|_| err("listen", format!("{listen_text:?} is not an address like 127.0.0.1:8080")))?;
    let public_origin = match raw.public_origin.as_deref() {
        Some(v) => http_url("public_origin", Some(v))?,
        None => url::Url::parse(&format!("http://{listen}")).map_err(|e| err("public_origin", e.to_string()))?,
    };
    if public_origin.path() != "/" || public_origin.query().is_some() {
        return Err(err("public_origin", "must be an origin (scheme://host[:port]) without a path"));
    }
    let static_dir = match raw.static_dir.as_deref() {
        None => Some(PathBuf::from("www")),
        Some("") => None,
        Some(d) => Some(PathBuf::from(d)),
    };
    let store = match raw.store.as_deref().unwrap_or("sqlite://.valv/sessions.db") {
        "memory" => StoreConfig::Memory,
        s if s.starts_with("sqlite://") => {
            let p = &s["sqlite://".len()..];
            if p.is_empty() {
                return Err(err("store", "sqlite:// needs a file path, e.g. sqlite://.valv/sessions.db"));
            }
            StoreConfig::Sqlite(PathBuf::from(p))
        }
        s if s.starts_with("rediss://") => {
            return Err(err(
                "store",
                "rediss:// (Redis over TLS) is not supported by this build; reach Redis over a private network or a local TLS tunnel with redis://",
            ));
        }
        s if s.starts_with("redis://") => {
            url::Url::parse(s).map_err(|_| err("store", "not a valid redis:// URL"))?;
            StoreConfig::Redis(s.to_owned())
        }
        other => {
            let shown = if other.contains('@') { "(a URL with credentials)".to_owned() } else { format!("{other:?}") };
            return Err(err("store", format!("{shown}: expected \"memory\", \"sqlite://PATH\" or \"redis://HOST:PORT\"")));
        }
    };
    let mut cors_allowed_origins = Vec::new();
    for o in raw.cors_allowed_origins {
        let u = http_url("cors_allowed_origins", Some(&o))?;
        let origin = u.origin().ascii_serialization();
        if origin.trim_end_matches('/') != o.trim_end_matches('/') {
            return Err(err("cors_allowed_origins", format!("{o:?} must be an origin (scheme://host[:port]), without a path")));
        }
        cors_allowed_origins.push(origin);
    }
    let mut trusted_proxies = Vec::new();
    for p in raw.trusted_proxies {
        let net = p
            .parse::<ipnet::IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| err("trusted_proxies", format!("{p:?} is not an IP address or CIDR")))?;
        trusted_proxies.push(net);
    }

    let s = raw.session;
    let cookie_name = s.cookie_name.unwrap_or_else(|| "__Host-valv".into());
    if !cookie_name.starts_with("__Host-") || cookie_name.len() == "__Host-".len() {
        return Err(err("session.cookie_name", "must start with __Host- (the browser then enforces Secure, Path=/ and no Domain)"));
    }
    if !cookie_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(err("session.cookie_name", "may only contain letters, digits, -, _ and ."));
    }
    let idle_timeout = duration("session.idle_timeout", s.idle_timeout.as_deref(), Duration::from_secs(30 * 60))?;
    let absolute_timeout = duration("session.absolute_timeout", s.absolute_timeout.as_deref(), Duration::from_secs(12 * 3600))?;
    if idle_timeout > absolute_timeout {
        return Err(err("session.idle_timeout", "must not be longer than session.absolute_timeout"));
    }
    let refresh_skew = match s.refresh_skew.as_deref() {
        Some("0s") | Some("0") => Duration::ZERO,
        other => duration("session.refresh_skew", other, Duration::from_secs(30))?,
    };
    if s.keys.is_empty() {
        return Err(err(
            "session.keys",
            "at least one key is required, e.g. k1 = \"file:/run/secrets/valv-session-key\" (32 random bytes, base64)",
        ));
    }
    let mut keys = BTreeMap::new();
    for (kid, v) in &s.keys {
        let key = format!("session.keys.{kid}");
        let secret = secret(&key, Some(v), env, true)?.ok_or_else(|| err(&key, "is required"))?;
        crate::vault::decode_key(kid, secret.expose()).map_err(|e| err(&key, e.to_string()))?;
        keys.insert(kid.clone(), secret);
    }
    let active_key = match s.active_key {
        Some(k) => k,
        None if keys.len() == 1 => keys.keys().next().cloned().unwrap_or_default(),
        None => return Err(err("session.active_key", "is required when several keys are configured")),
    };
    if !keys.contains_key(&active_key) {
        return Err(err("session.active_key", format!("{active_key:?} is not one of session.keys")));
    }
    crate::vault::Vault::new(&keys, &active_key).map_err(|e| err("session.keys", e.to_string()))?;

    let l = raw.limits;
    let limits = Limits {
        max_request_body: size("limits.max_request_body", l.max_request_body.as_ref(), 1 << 20)?,
        max_response_body: size("limits.max_response_body", l.max_response_body.as_ref(), 10 << 20)?,
        upstream_timeout: duration("limits.upstream_timeout", l.upstream_timeout.as_deref(), Duration::from_secs(30))?,
        connect_timeout: duration("limits.connect_timeout", l.connect_timeout.as_deref(), Duration::from_secs(5))?,
        header_read_timeout: duration("limits.header_read_timeout", l.header_read_timeout.as_deref(), Duration::from_secs(10))?,
        body_read_timeout: duration("limits.body_read_timeout", l.body_read_timeout.as_deref(), Duration::from_secs(10))?,
        // Replaced below when not configured: it must outlast a slow bank answer.
        request_timeout: duration("limits.request_timeout", l.request_timeout.as_deref(), Duration::ZERO)?,
        max_connections: count("limits.max_connections", l.max_connections.as_ref(), 4096)?,
    };
    let mut limits = limits;
    if l.request_timeout.is_none() {
        limits.request_timeout = Duration::from_secs(60).max(limits.upstream_timeout + limits.body_read_timeout + Duration::from_secs(20));
    }
    if limits.request_timeout <= limits.upstream_timeout {
        return Err(err(
            "limits.request_timeout",
            format!("must be longer than limits.upstream_timeout ({:?}), or every slow bank answer would be cut", limits.upstream_timeout),
        ));
    }
    let r = raw.rate_limits;
    let per = |count, secs| Rate::Per { count, period: Duration::from_secs(secs) };
    let rate_limits = RateLimits {
        logins_per_ip: rate("rate_limits.logins_per_ip", r.logins_per_ip.as_deref(), per(60, 60))?,
        api_per_ip: rate("rate_limits.api_per_ip", r.api_per_ip.as_deref(), per(1000, 1))?,
        api_per_session: rate("rate_limits.api_per_session", r.api_per_session.as_deref(), per(100, 1))?,
    };
    let metrics_listen = match raw.metrics_listen.as_deref() {
        None => None,
        Some(text) => {
            let addr: SocketAddr =
                text.parse().map_err(|_| err("metrics_listen", format!("{text:?} is not an address like 127.0.0.1:9090")))?;
            if addr == listen {
                return Err(err("metrics_listen", "must differ from listen"));
            }
            Some(addr)
        }
    };

    if raw.providers.is_empty() {
        return Err(err("providers", "at least one provider is required, e.g. [providers.seb]"));
    }
    let several = raw.providers.len() > 1;
    let mut providers: BTreeMap<String, ProviderConfig> = BTreeMap::new();
    for (name, p) in raw.providers {
        let provider = provider(&name, p, &public_origin, several, env)?;
        if let Some(other) = providers.values().find(|o| o.redirect_uri.path() == provider.redirect_uri.path()) {
            return Err(err(
                format!("providers.{name}.redirect_uri"),
                format!(
                    "{} is also the callback of providers.{}: each provider needs its own (/auth/callback/{name}), or a code could be taken to the wrong bank (mix-up, RFC 9700 §4.4)",
                    provider.redirect_uri, other.name
                ),
            ));
        }
        providers.insert(name, provider);
    }
    Ok(Config {
        listen,
        metrics_listen,
        public_origin,
        static_dir,
        session: SessionConfig { cookie_name, idle_timeout, absolute_timeout, refresh_skew, keys, active_key },
        store,
        providers,
        cors_allowed_origins,
        trusted_proxies,
        limits,
        rate_limits,
    })
}
