//! Sealed values (token records, login cookies): any text opens to nothing or to exactly
//! what was sealed; a sealed value changed in one place never opens.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use valv_broker::secret::Secret;
use valv_broker::vault::Vault;

fn vault() -> &'static Vault {
    static V: OnceLock<Vault> = OnceLock::new();
    V.get_or_init(|| {
        let mut keys = BTreeMap::new();
        keys.insert("k1".to_owned(), Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY".to_owned()));
        keys.insert("k2".to_owned(), Secret::new("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA".to_owned()));
        Vault::new(&keys, "k1").expect("test keys")
    })
}

fuzz_target!(|data: &[u8]| {
    let v = vault();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = v.open(text, b"login");
        let _ = v.open_tokens(text, b"session-id");
        let _ = v.needs_reseal(text);
    }
    let sealed = v.seal(data, b"ctx");
    assert_eq!(v.open(&sealed, b"ctx").expect("opens"), data);
    assert!(v.open(&sealed, b"other").is_err(), "opened under another context");
    if !data.is_empty() {
        let mut bytes = sealed.clone().into_bytes();
        let i = data[0] as usize % bytes.len();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        if let Ok(tampered) = String::from_utf8(bytes) {
            if tampered != sealed {
                // Base64 of the last character can carry unused bits; a change there that
                // decodes to the same bytes is the same sealed value, not a forgery.
                if let Ok(opened) = v.open(&tampered, b"ctx") {
                    assert_eq!(opened, data, "a changed sealed value opened to something else");
                }
            }
        }
    }
});
