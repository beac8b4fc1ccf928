//! The package's TypeScript types. The models are declared from the Rust types (`tsify` on
//! valv-psd2 and valv-wire, feature `ts`), so they cannot drift; what is checked here is what
//! the declarations promise a TypeScript user, and that the client's own hand-written types
//! (`src/client.d.ts`) name exactly the wire contract's codes and BankID states. `cargo xtask
//! test`'s package part type-checks the finished `.d.ts` with strict TypeScript.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use tsify::Tsify;
use valv_psd2::{AccountDetails, Amount, Authorisation, Links, PaymentInitiation, Transaction, TransactionsResponse};

fn client_types() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/client.d.ts");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The string literals of the TypeScript union `name` in `source`.
fn union_members(source: &str, name: &str) -> Vec<String> {
    let start = source.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no type {name}"));
    let body = &source[start..];
    let body = &body[..body.find(';').expect("the union ends with ;")];
    body.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn models_declare_the_json_a_caller_receives() {
    let account = AccountDetails::DECL;
    // Unknown members are kept (untyped, `OtherMembers`); optional members are optional, not nullable.
    assert!(account.contains("export interface AccountDetails extends OtherMembers {"), "{account}");
    assert!(account.contains("creditLine?: DecimalString;"), "{account}");
    assert!(account.contains("_links?: Links;"), "{account}");
    assert!(account.contains("status?: AccountStatus;"), "{account}");
    assert!(!account.contains("null"), "{account}");
    // Amounts are decimal text; links are a plain object, not a `Map`.
    assert!(Amount::DECL.contains("amount: DecimalString;"), "{}", Amount::DECL);
    assert!(Links::DECL.ends_with("\nexport type Links = Record<string, Href>;"), "{}", Links::DECL);
    // Members the Rust type requires are required.
    let payment = PaymentInitiation::DECL;
    for required in ["instructedAmount: Amount;", "debtorAccount: AccountReference;", "creditorAccount: AccountReference;"] {
        assert!(payment.contains(required), "{required} in {payment}");
    }
    assert!(Transaction::DECL.contains("balanceAfterTransaction?: BalanceAfterTransaction;"), "{}", Transaction::DECL);
    assert!(Transaction::DECL.contains("currencyExchange?: unknown;"), "{}", Transaction::DECL);
    assert!(TransactionsResponse::DECL.contains("transactions: AccountReport;"), "{}", TransactionsResponse::DECL);
    // SEB's BankID challenge members on an authorisation.
    assert!(Authorisation::DECL.contains("qrData?: string;") && Authorisation::DECL.contains("autoStartToken?: string;"));
    // The session answer is the wire contract's type.
    let session = valv_wire::SessionInfo::DECL;
    assert!(session.contains("\nexport interface SessionInfo {") && session.contains("authenticated: boolean;"), "{session}");
    assert!(client_types().contains("export type Session = SessionInfo;"));
}

#[test]
fn client_types_name_the_wire_contracts_codes_and_states() {
    let types = client_types();
    let ts = union_members(&types, "ValvErrorCode");
    let wire: Vec<String> = valv_wire::Code::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(ts, wire, "ValvErrorCode in client.d.ts and valv_wire::Code::ALL differ (same codes, same order)");
    // The BankID update's `status` is the contract's login states.
    let update = &types[types.find("export interface BankIdUpdate").expect("BankIdUpdate")..];
    let line = update.lines().find(|l| l.trim_start().starts_with("status:")).expect("BankIdUpdate.status");
    let states: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    let wire = [valv_wire::BankIdStatus::Pending, valv_wire::BankIdStatus::Complete, valv_wire::BankIdStatus::Failed].map(|s| s.as_str());
    assert_eq!(states, wire);
}
