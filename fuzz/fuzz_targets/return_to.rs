//! `returnTo`: an accepted value, resolved against any origin, stays on that origin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use valv_broker::policy::return_to::{add_query_param, validate_return_to};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(local) = validate_return_to(text) else { return };
    for origin in ["https://app.example/", "http://127.0.0.1:8080/some/page?q=1", "https://a.b.c:444/x/"] {
        let base = url::Url::parse(origin).expect("base");
        let joined = base.join(local).expect("an accepted returnTo resolves");
        assert_eq!(joined.origin(), base.origin(), "{text:?} leaves {origin}");
        let with_error = add_query_param(local, "valvError", "bank_error");
        let joined = base.join(&with_error).expect("with the error parameter it still resolves");
        assert_eq!(joined.origin(), base.origin(), "{with_error:?} leaves {origin}");
        assert!(joined.query_pairs().any(|(k, v)| k == "valvError" && v == "bank_error"), "{with_error:?}");
    }
});
