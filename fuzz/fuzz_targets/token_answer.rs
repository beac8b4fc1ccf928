//! The bank's token-endpoint answers: any status and body give tokens or a refusal; tokens
//! always carry a non-empty access token and an expiry in the future.
#![no_main]

use libfuzzer_sys::fuzz_target;
use valv_broker::oauth::{decode_token_answer, TokenError};
use valv_broker::vault::TokenSet;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let status = [200u16, 201, 400, 401, 500, 503][first as usize % 6];
    let previous = TokenSet {
        access_token: "old".into(),
        refresh_token: (first & 0x80 != 0).then(|| "rt".to_owned()),
        expires_at: 0,
        scopes: vec!["accounts".into()],
    };
    let now = 1_800_000_000;
    let prev = (first & 0x40 != 0).then_some(&previous);
    match decode_token_answer(status, body, &["psd2".to_owned()], prev, now) {
        Ok(t) => {
            assert!((200..300).contains(&status));
            assert!(!t.access_token.is_empty());
            assert!(t.expires_at > now);
            assert!(t.refresh_token.as_deref() != Some(""));
        }
        Err(why) => {
            if let TokenError::OAuth(code) = why.token_error() {
                assert!(code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code:?}");
            }
        }
    }
});
