//! The PSD2 model: any JSON decodes into each bank answer and payment request or is refused;
//! what decodes encodes again and decodes to the same JSON; amounts survive minor units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use valv_psd2 as m;

fn round_trip<T: DeserializeOwned + Serialize>(data: &[u8]) -> Option<T> {
    let v: T = serde_json::from_slice(data).ok()?;
    let once = serde_json::to_value(&v).expect("encodes");
    let again: T = serde_json::from_value(once.clone()).expect("what was encoded decodes");
    assert_eq!(serde_json::to_value(&again).expect("encodes"), once, "not stable");
    Some(v)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 10 {
        0 => drop(round_trip::<m::AccountList>(body)),
        1 => drop(round_trip::<m::BalancesResponse>(body)),
        2 => drop(round_trip::<m::TransactionsResponse>(body)),
        3 => drop(round_trip::<m::TransactionDetails>(body)),
        4 => {
            if let Some(p) = round_trip::<m::PaymentInitiation>(body) {
                for product in [m::PaymentProduct::SwedishDomesticPrivateCreditTransfers, m::PaymentProduct::SepaCreditTransfers] {
                    let _ = p.validate(&product);
                }
            }
        }
        5 => drop(round_trip::<m::PaymentStatusResponse>(body)),
        6 => drop(round_trip::<m::Problem>(body)),
        7 => drop(round_trip::<m::TokenResponse>(body)),
        8 => drop(round_trip::<m::Authorisation>(body)),
        _ => {
            let Ok(text) = std::str::from_utf8(body) else { return };
            let Ok(a) = m::DecimalString::parse(text) else { return };
            let scale = a.scale();
            if let Ok(units) = a.to_minor_units(scale) {
                let back = m::DecimalString::from_minor_units(units, scale).expect("minor units convert back");
                assert_eq!(back.to_minor_units(scale).expect("and again"), units, "{text:?}");
            }
        }
    }
});
