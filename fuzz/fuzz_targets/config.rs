//! The configuration file: any text loads or is refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use valv_broker::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let env = [("FUZZ_KEY".to_owned(), "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY".to_owned()), ("FUZZ_SECRET".to_owned(), "s".to_owned())];
    if let Err(e) = Config::from_toml_str(text, &env) {
        assert!(!e.to_string().is_empty());
    }
});
