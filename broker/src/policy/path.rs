//! API paths as the broker forwards them: normalised, and refused when ambiguous.

use std::borrow::Cow;

/// A normalised API path: the raw (still percent-encoded) path to send upstream and its
/// decoded segments for the allowlist. Borrows from the request's path: a segment without
/// escapes is not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPath<'a> {
    /// Raw path starting with `/`, exactly as it goes to the bank.
    pub raw: &'a str,
    /// Decoded segments.
    pub segments: Vec<Cow<'a, str>>,
}

/// Normalises the raw path after `/api/{provider}`. Refuses (rather than resolves) anything
/// ambiguous: empty segments (`//`), segments made only of dots (`.`, `..`, `...`, also
/// `%2e`-encoded), `;` anywhere (servlet-style gateways read `..;` as `..` and `a;x=1` as
/// `a`; PSD2 paths never need it), encoded `/`, `\`, `?` or `#` (`%2F`, `%5C`, `%3F`, `%23`), a literal `\`, double
/// encoding (`%25`), malformed escapes, control characters, non-ASCII bytes and the
/// characters RFC 3986 does not allow raw in a path (`"`, `<`, `>`, `` ` ``, `{`, `}`, `|`, `^`,
/// `[`, `]`).
pub fn normalize_api_path(raw: &str) -> Result<ApiPath<'_>, &'static str> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err("the API path must start with /");
    };
    if rest.is_empty() {
        return Err("the API path is empty");
    }
    if raw.len() > 2048 {
        return Err("the API path is too long");
    }
    // One pass over the bytes, a table lookup each; a segment is finished at each `/`.
    let bytes = rest.as_bytes();
    let mut segments = Vec::with_capacity(8);
    let (mut start, mut escaped, mut dots) = (0, false, true);
    for (i, &b) in bytes.iter().enumerate() {
        match CLASS[usize::from(b)] {
            OK => dots = false,
            DOT => {}
            PERCENT => (escaped, dots) = (true, false),
            SLASH => {
                segments.push(segment(&rest[start..i], escaped, dots)?);
                (start, escaped, dots) = (i + 1, false, true);
            }
            refused => return Err(REFUSED[usize::from(refused - FIRST_REFUSED)]),
        }
    }
    segments.push(segment(&rest[start..], escaped, dots)?);
    Ok(ApiPath { raw, segments })
}

const OK: u8 = 0;
const DOT: u8 = 1;
const PERCENT: u8 = 2;
const SLASH: u8 = 3;
const FIRST_REFUSED: u8 = 4;

/// Why a raw byte is refused, by its class minus [`FIRST_REFUSED`].
const REFUSED: [&str; 5] = [
    "backslashes are not allowed in the path",
    "semicolons (path parameters) are not allowed in the path",
    "? and # cannot be part of a path",
    "control characters, spaces and raw non-ASCII bytes are not allowed in the path",
    // RFC 3986 path characters only (unreserved, sub-delims, `:`, `@`): a raw `"`, `<`, `>`,
    // `` ` ``, `{`, `}`, `|`, `^` or `[`/`]` is sent encoded by a URL parser and as it is by
    // others, so the bank and a gateway could read two paths.
    "characters that must be percent-encoded (\" < > ` { } | ^ [ ]) are not allowed raw in the path",
];

/// The class of every byte of a raw path.
const CLASS: [u8; 256] = {
    let mut t = [OK; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'.' => DOT,
            b'%' => PERCENT,
            b'/' => SLASH,
            b'\\' => FIRST_REFUSED,
            b';' => FIRST_REFUSED + 1,
            b'?' | b'#' => FIRST_REFUSED + 2,
            0..=0x20 | 0x7f..=0xff => FIRST_REFUSED + 3,
            b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'^' | b'[' | b']' => FIRST_REFUSED + 4,
            _ => OK,
        };
        b += 1;
    }
    t
};

/// One raw segment whose bytes passed [`CLASS`]: refused when empty or only dots, decoded
/// when it has escapes.
fn segment(seg: &str, escaped: bool, dots: bool) -> Result<Cow<'_, str>, &'static str> {
    if seg.is_empty() {
        return Err("empty path segments (//) are not allowed");
    }
    if dots {
        return Err("dot segments (., .. and the like) are not allowed in the path");
    }
    if !escaped {
        return Ok(Cow::Borrowed(seg));
    }
    let bytes = seg.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            decoded.push(b);
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
            return Err("malformed percent-encoding in the path");
        };
        match v {
            b'.' => return Err("encoded dots (%2e) are not allowed in the path"),
            b'/' | b'\\' => return Err("encoded slashes (%2F, %5C) are not allowed in the path"),
            b'%' => return Err("double encoding (%25) is not allowed in the path"),
            b';' => return Err("semicolons (path parameters) are not allowed in the path"),
            // A gateway that decodes before it parses would read these as a query or fragment.
            b'?' | b'#' => return Err("encoded ? and # (%3F, %23) are not allowed in the path"),
            0..=0x1f | 0x7f => return Err("control characters are not allowed in the path"),
            _ => decoded.push(v),
        }
        i += 3;
    }
    let decoded = String::from_utf8(decoded).map_err(|_| "the path is not valid UTF-8")?;
    // Encoded C1 controls (`%C2%80`–`%C2%9F`) too: no control character in any form.
    if decoded.chars().any(char::is_control) {
        return Err("control characters are not allowed in the path");
    }
    Ok(Cow::Owned(decoded))
}

/// Checks a raw query string: printable ASCII only (hyper already refuses most else).
pub fn validate_query(query: &str) -> Result<(), &'static str> {
    if query.len() > 4096 {
        return Err("the query string is too long");
    }
    if query.bytes().any(|b| !(0x21..0x7f).contains(&b) || b == b'#') {
        return Err("control characters are not allowed in the query string");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_refused_when_ambiguous() {
        let p = normalize_api_path("/ais/v7/identified2/accounts/abc%20d").unwrap();
        assert_eq!(p.segments, ["ais", "v7", "identified2", "accounts", "abc d"]);
        for bad in [
            "/../x",
            "/ais/..",
            "/ais/./x",
            "/%2e%2e/x",
            "/%2E/x",
            "/.%2e/x",
            "/ais%2Fv7",
            "/ais%2fv7",
            "/ais%5Cv7",
            "/ais\\v7",
            "//ais",
            "/ais//v7",
            "/ais/",
            "/ais/%252e%252e",
            "/ais/%zz",
            "/ais/%4",
            "/ais/%00",
            "/ais/a\u{1}",
            "/a/..;/..;/x",
            "/ais/a\"b",
            "/ais/a%C2%99b",
            "/ais/%C2%85",
            "/ais/<x>",
            "/ais/a`b",
            "/ais/{id}",
            "/ais/a|b",
            "/ais/a^b",
            "/ais/[::1]",
            "/ais/.;/x",
            "/a;x=1/..;/b",
            "/ais/v7;jsessionid=1",
            "/ais/%3b/x",
            "/ais/%3F/x",
            "/ais/a%3fb",
            "/ais/%23frag",
            "/ais/.../x",
            "/ais/.",
            "",
            "/",
            "ais",
        ] {
            assert!(normalize_api_path(bad).is_err(), "{bad:?}");
        }
    }
}
