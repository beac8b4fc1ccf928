//! What Valv's test suites, benches and `cargo xtask` share: the one configuration file they
//! run the `valv-broker` binary with — provider `seb` at a sandbox bank (or any bank shaped
//! like SEB's), a session key from a file, the client secret from an environment variable —
//! the sandbox's, the cookie jar of every client that drives it by hand, and the child
//! processes they start ([`process`], [`redis`]).

pub mod process;
pub mod redis;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::path::Path;

/// The cookies a client keeps for one site, by name, as a browser would — over plain HTTP on
/// loopback too, which browsers treat as a secure origin (so the broker's `Secure` cookies
/// are kept). `Set-Cookie` lines are parsed by the `cookie` crate; a cookie with an empty
/// value, a `Max-Age` of zero or less or an `Expires` in the past is removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieJar(pub BTreeMap<String, String>);

impl CookieJar {
    /// Applies one `Set-Cookie` line from a secure origin (`https`, or loopback).
    pub fn take(&mut self, set_cookie: &str) -> Result<(), String> {
        self.take_from(set_cookie, true)
    }

    /// Applies one `Set-Cookie` line from an origin that is secure or not: a `Secure` cookie
    /// from an insecure origin is ignored, as a browser ignores it.
    pub fn take_from(&mut self, set_cookie: &str, secure_origin: bool) -> Result<(), String> {
        let c = cookie::Cookie::parse(set_cookie).map_err(|e| format!("bad Set-Cookie {set_cookie:?}: {e}"))?;
        if c.secure() == Some(true) && !secure_origin {
            return Ok(());
        }
        // `Max-Age` wins over `Expires` (RFC 6265 §5.3).
        let expired = match c.max_age() {
            Some(age) => age.is_zero() || age.is_negative(),
            None => c.expires_datetime().is_some_and(|t| t <= cookie::time::OffsetDateTime::now_utc()),
        };
        if expired || c.value().is_empty() {
            self.0.remove(c.name());
        } else {
            self.0.insert(c.name().to_owned(), c.value().to_owned());
        }
        Ok(())
    }

    /// The `Cookie` header to send; `None` when the jar is empty.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }
}

impl Deref for CookieJar {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for CookieJar {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// The sandbox bank's configuration file: one client, `client_id` with `secret`, registered
/// with `redirect_uri` (the broker's `/auth/callback`); test controls are switched on by the
/// sandbox's `--controls` flag.
pub fn sandbox_toml(client_id: &str, secret: &str, redirect_uri: &str) -> String {
    format!("[[clients]]\nid = \"{client_id}\"\nsecret = \"{secret}\"\nredirect_uri = \"{redirect_uri}\"\n")
}

/// What differs between the brokers the tests, benches and xtask start.
#[derive(Debug, Clone, Copy)]
pub struct BrokerToml<'a> {
    /// `listen`, e.g. `127.0.0.1:8080`.
    pub listen: &'a str,
    /// `public_origin` (the broker's own, or a load balancer's).
    pub origin: &'a str,
    /// `store` (`memory`, `sqlite://…`, `redis://…`).
    pub store: &'a str,
    /// The bank as the browser addresses it (authorize, token, revoke, decoupled).
    pub bank: &'a str,
    /// `api_base_url` (often `bank`; a bench points it at a static upstream).
    pub api: &'a str,
    /// The OAuth client id.
    pub client_id: &'a str,
    /// The environment variable holding the client secret.
    pub secret_env: &'a str,
    /// The session key file (`k1`, the active key).
    pub key: &'a Path,
    /// `static_dir`, if the broker serves the app.
    pub www: Option<&'a Path>,
    /// `cors_allowed_origins`.
    pub cors: &'a [&'a str],
    /// `trusted_proxies`.
    pub trusted_proxies: &'a [&'a str],
    /// The lines of `[rate_limits]` (empty: the broker's defaults).
    pub rate_limits: &'a str,
    /// Mobile BankID sign-in through the bank's decoupled authorization (`{bank}/auth/v4`).
    pub bankid: bool,
    /// More TOML, placed before the provider (e.g. a `[limits]` table).
    pub extra: &'a str,
}

/// `[rate_limits]` lines that turn every limit off (suites that send hundreds of calls at
/// once from one address and one session).
pub const RATE_LIMITS_OFF: &str = "logins_per_ip = \"off\"\napi_per_ip = \"off\"\napi_per_session = \"off\"\n";

/// `[rate_limits]` lines for load generators: every limit enforced, none ever reached.
pub const RATE_LIMITS_UNREACHABLE: &str = "logins_per_ip = \"1000000/s\"\napi_per_ip = \"1000000/s\"\napi_per_session = \"1000000/s\"\n";

impl<'a> BrokerToml<'a> {
    /// A broker on `listen` (its own origin `http://{listen}`) for the bank at `bank`, with
    /// the broker's defaults for everything else.
    pub fn new(
        listen: &'a str,
        origin: &'a str,
        store: &'a str,
        bank: &'a str,
        client_id: &'a str,
        secret_env: &'a str,
        key: &'a Path,
    ) -> Self {
        Self {
            listen,
            origin,
            store,
            bank,
            api: bank,
            client_id,
            secret_env,
            key,
            www: None,
            cors: &[],
            trusted_proxies: &[],
            rate_limits: "",
            bankid: true,
            extra: "",
        }
    }

    /// The configuration file's text.
    pub fn render(&self) -> String {
        let list = |items: &[&str]| items.iter().map(|o| quote(o)).collect::<Vec<_>>().join(", ");
        let mut out = String::from("# Written by valv-testkit for a local sandbox bank.\n");
        let _ = writeln!(out, "listen = {}", quote(self.listen));
        let _ = writeln!(out, "public_origin = {}", quote(self.origin));
        if let Some(www) = self.www {
            let _ = writeln!(out, "static_dir = {}", quote(&www.display().to_string()));
        }
        let _ = writeln!(out, "store = {}", quote(self.store));
        let _ = writeln!(out, "cors_allowed_origins = [{}]", list(self.cors));
        let _ = writeln!(out, "trusted_proxies = [{}]", list(self.trusted_proxies));
        let _ = write!(out, "\n[rate_limits]\n{}", self.rate_limits);
        let _ =
            write!(out, "\n[session]\nactive_key = \"k1\"\n\n[session.keys]\nk1 = {}\n", quote(&format!("file:{}", self.key.display())));
        out.push_str(self.extra);
        let bank = self.bank;
        let _ = write!(
            out,
            "\n[providers.seb]\n\
             authorize_url = \"{bank}/mga/sps/oauth/oauth20/authorize\"\n\
             token_url = \"{bank}/mga/sps/oauth/oauth20/token\"\n\
             revocation_url = \"{bank}/mga/sps/oauth/oauth20/revoke\"\n"
        );
        if self.bankid {
            let _ = writeln!(out, "decoupled_url = \"{bank}/auth/v4\"");
        }
        let _ = writeln!(out, "api_base_url = {}", quote(self.api));
        let _ = writeln!(out, "client_id = {}", quote(self.client_id));
        let _ = writeln!(out, "client_secret = {}", quote(&format!("env:{}", self.secret_env)));
        out.push_str(
            "client_auth = \"client_secret_post\"\n\
             scopes = [\"psd2_accounts\", \"psd2_payments\"]\n\
             pkce = true\n\
             psd2_headers = true\n\
             allow_preset = \"seb-psd2\"\n",
        );
        out
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_sets_replaces_and_removes_like_a_browser() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.take("__Host-valv=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=1800").unwrap();
        jar.take("__Host-valv-login=sealed; Max-Age=600").unwrap();
        assert_eq!(jar.header().as_deref(), Some("__Host-valv=abc; __Host-valv-login=sealed"));
        jar.take("__Host-valv=def; Max-Age=1800").unwrap();
        jar.take("__Host-valv-login=; Max-Age=0").unwrap();
        assert_eq!(jar.header().as_deref(), Some("__Host-valv=def"));
        jar.take("__Host-valv=gone; max-age=0").unwrap();
        assert!(jar.is_empty());
        jar.take("old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap();
        jar.take("negative=1; Max-Age=-5").unwrap();
        assert!(jar.is_empty(), "expired cookies are not kept");
        jar.take("kept=1; Path=/").unwrap();
        jar.take("kept=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap();
        assert!(jar.is_empty(), "an Expires in the past removes a kept cookie");
        jar.take("fresh=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap();
        assert_eq!(jar.header().as_deref(), Some("fresh=1"), "Max-Age wins over Expires");
        jar.clear();
        assert!(jar.take("no pair at all").is_err());
        // A Secure cookie from an insecure origin is ignored; a plain one is kept.
        jar.take_from("__Host-valv=x; Secure; Path=/", false).unwrap();
        jar.take_from("plain=y; Path=/", false).unwrap();
        assert_eq!(jar.header().as_deref(), Some("plain=y"));
    }

    #[test]
    fn the_file_names_everything_that_differs() {
        let key = Path::new("/tmp/k \"x\"");
        let mut c = BrokerToml::new("127.0.0.1:9", "http://127.0.0.1:9", "memory", "http://localhost:8", "valv-demo", "SECRET", key);
        c.www = Some(Path::new("/srv/www"));
        c.cors = &["http://a.test"];
        c.rate_limits = RATE_LIMITS_OFF;
        c.extra = "\n[limits]\nmax_request_body = 1000\n";
        let t = c.render();
        for line in [
            "listen = \"127.0.0.1:9\"",
            "static_dir = \"/srv/www\"",
            "cors_allowed_origins = [\"http://a.test\"]",
            "api_per_session = \"off\"",
            "k1 = \"file:/tmp/k \\\"x\\\"\"",
            "max_request_body = 1000",
            "decoupled_url = \"http://localhost:8/auth/v4\"",
            "client_secret = \"env:SECRET\"",
        ] {
            assert!(t.lines().any(|l| l == line), "{line} missing in:\n{t}");
        }
        c.bankid = false;
        c.www = None;
        let t = c.render();
        assert!(!t.contains("decoupled_url") && !t.contains("static_dir"), "{t}");
    }
}
