//! Signing a payment or a signing basket: its authorisations (SCA) and how each advances.
//!
//! SEB offers several methods (`scaMethods`). With `mobiltbankid` the sandbox signs by itself,
//! one step per poll, as SEB's sandbox does: `scaMethodSelected → started → finalised`.
//! `bankIdQr` and `bankIdSameDevice` start a BankID order that waits for the person:
//! the authorisation is `started` from the first answer, carries `autoStartToken` (both
//! methods) and, with `bankIdQr`, a fresh animated `qrData` on every poll (SEB's member
//! names, from its Payment Initiation collection); it is `finalised` once the test person
//! who owns the payment signs in the sandbox's BankID app (`/phone`, or the test control
//! `/__sandbox/decoupled/sign`), `failed` when a test control fails it or after BankID's
//! three minutes. (That `bankIdQr` also carries the autostart token is the sandbox's
//! assumption: BankID issues both for every order, and the sandbox's phone signs by it.)

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use valv_psd2::payment::TransactionStatus;
use valv_psd2::sca::ScaStatus;

use crate::bank::BankState;
use crate::decoupled_v4::qr_data;

/// How long a BankID signing order waits for the person (BankID's own order lifetime).
pub(crate) const ORDER_LIFETIME: Duration = Duration::from_secs(180);

/// The SCA methods the sandbox offers, as its status answers list them (`mobiltbankid`
/// first: SEB's collection signs with `scaMethods[0]`).
pub(crate) fn sca_methods() -> Value {
    json!([
        {"authenticationMethodId": "mobiltbankid", "authenticationType": "PUSH_OTP", "name": "Mobilt BankID"},
        {"authenticationMethodId": "bankIdQr", "authenticationType": "PUSH_OTP", "name": "Mobilt BankID (QR code)"},
        {"authenticationMethodId": "bankIdSameDevice", "authenticationType": "PUSH_OTP", "name": "BankID on this device"},
    ])
}

/// An SCA method the sandbox knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Signed by the sandbox itself, a step per poll.
    MobiltBankId,
    /// A BankID order with an animated QR code and an autostart token.
    BankIdQr,
    /// A BankID order with an autostart token.
    BankIdSameDevice,
}

impl Method {
    /// The method named in a start-authorisation body (absent: `mobiltbankid`).
    pub(crate) fn parse(id: Option<&str>) -> Result<Method, String> {
        match id {
            None | Some("mobiltbankid") => Ok(Method::MobiltBankId),
            Some("bankIdQr") => Ok(Method::BankIdQr),
            Some("bankIdSameDevice") => Ok(Method::BankIdSameDevice),
            Some(other) => {
                Err(format!("Unknown authenticationMethodId {other:?}; the sandbox offers mobiltbankid, bankIdQr and bankIdSameDevice"))
            }
        }
    }

    fn id(self) -> &'static str {
        match self {
            Method::MobiltBankId => "mobiltbankid",
            Method::BankIdQr => "bankIdQr",
            Method::BankIdSameDevice => "bankIdSameDevice",
        }
    }
}

/// A BankID order waiting for the person to sign.
#[derive(Debug, Clone)]
pub struct BankIdOrder {
    /// What BankID on the phone opens (`bankid:///?autostarttoken=…`).
    pub autostart_token: String,
    /// `bankIdQr`: the order's `qrStartToken` and `qrStartSecret`.
    pub qr: Option<(String, String)>,
    /// When it was started (the QR code's seconds count from here).
    pub created: Instant,
    /// The owner signed it in the sandbox's BankID app.
    pub signed: bool,
    /// A test control failed it.
    pub failed: bool,
}

impl BankIdOrder {
    /// Nobody has signed it, it has not failed and has not timed out.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.signed && !self.failed && self.created.elapsed() < ORDER_LIFETIME
    }
}

/// One authorisation of a payment or basket.
#[derive(Debug, Clone)]
pub struct Authorisation {
    /// Its id.
    pub id: String,
    /// Its SCA status.
    pub sca: ScaStatus,
    method: Method,
    /// `bankIdQr` / `bankIdSameDevice`: the BankID order.
    pub order: Option<BankIdOrder>,
}

impl Authorisation {
    /// A new authorisation with `method`: `scaMethodSelected` for `mobiltbankid`, a BankID
    /// order `started` for the others.
    pub(crate) fn start(id: String, method: Method) -> Self {
        let order = (method != Method::MobiltBankId).then(|| BankIdOrder {
            autostart_token: uuid::Uuid::new_v4().to_string(),
            qr: (method == Method::BankIdQr).then(|| (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string())),
            created: Instant::now(),
            signed: false,
            failed: false,
        });
        let sca = if order.is_some() { ScaStatus::Started } else { ScaStatus::ScaMethodSelected };
        Authorisation { id, sca, method, order }
    }

    /// An authorisation that was signed elsewhere (a payment signed through its basket).
    pub(crate) fn finalised(id: String) -> Self {
        Authorisation { id, sca: ScaStatus::Finalised, method: Method::MobiltBankId, order: None }
    }

    /// Its answer: `kind` is `/payments`, `/periodic-payments` or `/signing-baskets`,
    /// `owner` the path of the payment or basket under it.
    pub(crate) fn body(&self, kind: &str, owner: &str) -> Value {
        let mut v = json!({
            "authorisationId": self.id,
            "scaStatus": self.sca.as_str(),
            "chosenScaMethod": {"authenticationMethodId": self.method.id(), "authenticationType": "PUSH_OTP", "name": "Mobilt BankID"},
            "_links": {"scaStatus": {"href": format!("{kind}/{owner}/authorisations/{}", self.id)}},
        });
        match self.sca {
            ScaStatus::Started | ScaStatus::ScaMethodSelected => v["psuMessage"] = json!("Signera med mobilt BankID"),
            ScaStatus::Failed => {
                v["tppMessages"] = json!([{"category": "ERROR", "code": "SCA_FAILED", "text": "The signing was cancelled or timed out"}]);
            }
            _ => {}
        }
        if let Some(order) = self.order.as_ref().filter(|_| self.sca == ScaStatus::Started) {
            v["autoStartToken"] = json!(order.autostart_token);
            if let Some((token, secret)) = &order.qr {
                v["qrData"] = json!(qr_data(token, secret, order.created.elapsed()));
            }
        }
        v
    }
}

/// Whether a payment or basket in `status` may get a new authorisation: it is `RCVD` and
/// none is in progress (a failed one may be retried).
pub(crate) fn can_start(authorisations: &[Authorisation], status: &TransactionStatus) -> bool {
    *status == TransactionStatus::Rcvd && authorisations.iter().all(|a| a.sca == ScaStatus::Failed)
}

/// One step of signing, shared by payments and signing baskets, taken on every poll: the
/// newest authorisation advances (see the module header); when it finalises the status goes
/// `RCVD → ACTC`, and the poll after that `ACTC → ACSC`. Returns whether it just finalised.
pub(crate) fn step(authorisations: &mut [Authorisation], status: &mut TransactionStatus) -> bool {
    let Some(a) = authorisations.last_mut() else { return false };
    let finalise = match (&a.sca, &a.order) {
        (ScaStatus::ScaMethodSelected, _) => {
            a.sca = ScaStatus::Started;
            false
        }
        (ScaStatus::Started, None) => true,
        (ScaStatus::Started, Some(order)) if order.signed => true,
        (ScaStatus::Started, Some(order)) => {
            if !order.is_waiting() {
                a.sca = ScaStatus::Failed;
            }
            false
        }
        _ => {
            if *status == TransactionStatus::Actc {
                *status = TransactionStatus::Acsc;
            }
            false
        }
    };
    if finalise {
        a.sca = ScaStatus::Finalised;
        if *status == TransactionStatus::Rcvd {
            *status = TransactionStatus::Actc;
        }
    }
    finalise
}

/// What the sandbox's BankID app found for an autostart token.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A waiting order of a payment or basket of this person: now signed (or failed).
    Done,
    /// A waiting order of another person's payment: left as it was.
    NotYours,
    /// No waiting signing order has this token.
    None,
}

/// The waiting BankID signing order with `autostart_token` (of a payment or a basket) and
/// its owner.
fn waiting_order<'a>(bank: &'a mut BankState, autostart_token: &str) -> Option<(&'a mut BankIdOrder, &'a str)> {
    let payments = bank.payments.values_mut().map(|p| (&mut p.authorisations, p.person.as_str()));
    let baskets = bank.baskets.values_mut().map(|b| (&mut b.authorisations, b.person.as_str()));
    payments.chain(baskets).find_map(|(auths, person)| {
        let order = auths.last_mut()?.order.as_mut().filter(|o| o.is_waiting() && o.autostart_token == autostart_token)?;
        Some((order, person))
    })
}

/// `person` signs the waiting order with `autostart_token` in BankID.
pub fn sign(bank: &mut BankState, autostart_token: &str, person: &str) -> Found {
    match waiting_order(bank, autostart_token) {
        Some((_, owner)) if owner != person => Found::NotYours,
        Some((order, _)) => {
            order.signed = true;
            Found::Done
        }
        None => Found::None,
    }
}

/// The waiting order with `autostart_token` fails (the person cancelled, BankID timed out).
pub fn fail(bank: &mut BankState, autostart_token: &str) -> Found {
    match waiting_order(bank, autostart_token) {
        Some((order, _)) => {
            order.failed = true;
            Found::Done
        }
        None => Found::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiltbankid_signs_itself_a_step_per_poll() {
        let mut auths = vec![Authorisation::start("a".into(), Method::MobiltBankId)];
        let mut status = TransactionStatus::Rcvd;
        assert!(!step(&mut auths, &mut status));
        assert_eq!(auths[0].sca, ScaStatus::Started);
        assert!(step(&mut auths, &mut status));
        assert_eq!((auths[0].sca.clone(), status.clone()), (ScaStatus::Finalised, TransactionStatus::Actc));
        assert!(!step(&mut auths, &mut status));
        assert_eq!(status, TransactionStatus::Acsc);
    }

    #[test]
    fn a_bankid_order_waits_for_the_person() {
        let mut auths = vec![Authorisation::start("a".into(), Method::BankIdQr)];
        let mut status = TransactionStatus::Rcvd;
        for _ in 0..5 {
            assert!(!step(&mut auths, &mut status));
            assert_eq!(auths[0].sca, ScaStatus::Started);
        }
        let body = auths[0].body("/payments", "p/1");
        assert!(body["qrData"].as_str().unwrap().starts_with("bankid."), "{body}");
        assert!(body["autoStartToken"].is_string());
        auths[0].order.as_mut().unwrap().signed = true;
        assert!(step(&mut auths, &mut status));
        assert_eq!(status, TransactionStatus::Actc);
        let body = auths[0].body("/payments", "p/1");
        assert!(body.get("qrData").is_none() && body.get("autoStartToken").is_none(), "{body}");
    }

    #[test]
    fn a_failed_or_expired_order_fails_the_authorisation_and_may_be_retried() {
        let mut auths = vec![Authorisation::start("a".into(), Method::BankIdSameDevice)];
        let mut status = TransactionStatus::Rcvd;
        assert!(auths[0].body("/payments", "p/1").get("qrData").is_none());
        assert!(!can_start(&auths, &status));
        auths[0].order.as_mut().unwrap().failed = true;
        step(&mut auths, &mut status);
        assert_eq!((auths[0].sca.clone(), status.clone()), (ScaStatus::Failed, TransactionStatus::Rcvd));
        assert!(can_start(&auths, &status));
        let mut expired = Authorisation::start("b".into(), Method::BankIdQr);
        if let Some(o) = expired.order.as_mut() {
            o.created = Instant::now().checked_sub(ORDER_LIFETIME).unwrap();
        }
        let mut auths = vec![expired];
        step(&mut auths, &mut status);
        assert_eq!(auths[0].sca, ScaStatus::Failed);
    }

    #[test]
    fn methods() {
        assert_eq!(Method::parse(None), Ok(Method::MobiltBankId));
        assert_eq!(Method::parse(Some("bankIdQr")), Ok(Method::BankIdQr));
        assert!(Method::parse(Some("digipass")).unwrap_err().contains("digipass"));
    }
}
