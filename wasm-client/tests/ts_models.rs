//! The TypeScript models shipped in the npm package (`src/models.d.ts`) mirror the serde
//! types of `valv-psd2`: every member of the Rust type exists in the TypeScript interface
//! under its wire name, optional exactly when the Rust field is an `Option`. The check reads
//! both sources, so a field added to `valv-psd2` without its TypeScript twin fails here.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.trim_end_matches('_').chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Wire name → optional?, for `pub struct name` in the psd2 sources.
fn rust_fields(sources: &str, name: &str) -> BTreeMap<String, bool> {
    let start = sources.find(&format!("pub struct {name} {{")).unwrap_or_else(|| panic!("psd2 has no struct {name}"));
    let body = &sources[start..];
    let body = &body[..body.find("\n}").expect("struct end")];
    let mut fields = BTreeMap::new();
    let mut attrs = String::new();
    for line in body.lines().skip(1) {
        let line = line.trim();
        if line.starts_with("#[") {
            attrs.push_str(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("pub ") {
            let (field, ty) = rest.split_once(':').expect("field: type");
            if !attrs.contains("flatten") {
                let wire = match attrs.split("rename = \"").nth(1) {
                    Some(r) => r.split('"').next().unwrap_or_default().to_owned(),
                    None => camel(field.trim()),
                };
                fields.insert(wire, ty.trim().starts_with("Option<"));
            }
            attrs.clear();
        } else if !line.starts_with("///") {
            attrs.clear();
        }
    }
    fields
}

/// Member → optional?, for `export interface name` in the TypeScript models (top level only).
fn ts_members(models: &str, name: &str) -> BTreeMap<String, bool> {
    let start = models.find(&format!("export interface {name} {{")).unwrap_or_else(|| panic!("models.d.ts has no interface {name}"));
    let body = &models[start + models[start..].find('{').expect("{") + 1..];
    let mut members = BTreeMap::new();
    let mut depth = 0;
    let mut token = String::new();
    for c in body.chars() {
        match c {
            '{' | '(' | '[' | '<' => depth += 1,
            '}' if depth == 0 => break,
            '}' | ')' | ']' | '>' => depth -= 1,
            ':' if depth == 0 => {
                let key = token.trim().rsplit([';', '\n', '/', '*']).next().unwrap_or("").trim().to_owned();
                let (key, optional) = match key.strip_suffix('?') {
                    Some(k) => (k.to_owned(), true),
                    None => (key, false),
                };
                if !key.is_empty() && !key.ends_with(']') {
                    members.insert(key, optional);
                }
                token.clear();
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            token.push(c);
            if c == ';' || c == '\n' {
                token.clear();
            }
        }
    }
    members
}

#[test]
fn typescript_models_mirror_valv_psd2() {
    let sources = ["account.rs", "transaction.rs", "payment.rs", "sca.rs", "error.rs"]
        .iter()
        .map(|f| read(&format!("../psd2/src/{f}")))
        .collect::<Vec<_>>()
        .join("\n");
    let models = read("src/models.d.ts");
    let pairs = [
        ("AccountReference", "AccountReference"),
        ("Balance", "Balance"),
        ("AccountDetails", "Account"),
        ("Transaction", "Transaction"),
        ("TransactionsResponse", "TransactionsPage"),
        ("PaymentInitiation", "PaymentInitiation"),
        ("PaymentInitiationResponse", "PaymentInitiationResponse"),
        ("PaymentStatusResponse", "PaymentStatusResponse"),
        ("PaymentCancellationResponse", "PaymentCancellationResponse"),
        ("Authorisation", "Authorisation"),
        ("AuthenticationObject", "AuthenticationObject"),
        ("TemplateSummary", "TemplateSummary"),
        ("FundsConfirmationRequest", "FundsConfirmationRequest"),
        ("FundsConfirmationResponse", "FundsConfirmationResponse"),
        ("Problem", "ProblemDetails"),
    ];
    let mut problems = Vec::new();
    for (rust, ts) in pairs {
        let r = rust_fields(&sources, rust);
        let t = ts_members(&models, ts);
        assert!(!r.is_empty() && !t.is_empty(), "{rust}/{ts} parsed empty");
        for (field, optional) in &r {
            match t.get(field) {
                None => problems.push(format!("{ts}.{field} is missing (psd2 {rust})")),
                Some(o) if o != optional => problems.push(format!("{ts}.{field}: optional in TypeScript = {o}, in psd2 = {optional}")),
                Some(_) => {}
            }
        }
        for field in t.keys() {
            if !r.contains_key(field) {
                problems.push(format!("{ts}.{field} is not a member of psd2 {rust}"));
            }
        }
    }
    assert!(problems.is_empty(), "models.d.ts drifted from valv-psd2:\n{}", problems.join("\n"));
}

/// The string literals of the TypeScript union `name` in `models`.
fn union_members(models: &str, name: &str) -> Vec<String> {
    let start = models.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no type {name}"));
    let body = &models[start..];
    let body = &body[..body.find(';').expect("the union ends with ;")];
    body.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn typescript_error_codes_are_the_wire_contracts() {
    let models = read("src/models.d.ts");
    let ts = union_members(&models, "ValvErrorCode");
    let wire: Vec<String> = valv_wire::Code::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(ts, wire, "ValvErrorCode in models.d.ts and valv_wire::Code::ALL differ (same codes, same order)");
    // `Session` is the contract's `SessionInfo`, member for member.
    let wire = rust_fields(&read("../wire/src/lib.rs"), "SessionInfo");
    assert_eq!(ts_members(&models, "Session"), wire, "Session in models.d.ts and valv_wire::SessionInfo differ");
    // The BankID update's `status` is the contract's login states.
    let update = &models[models.find("export interface BankIdUpdate").expect("BankIdUpdate")..];
    let line = update.lines().find(|l| l.trim_start().starts_with("status:")).expect("BankIdUpdate.status");
    let states: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
    let wire = [valv_wire::BankIdStatus::Pending, valv_wire::BankIdStatus::Complete, valv_wire::BankIdStatus::Failed].map(|s| s.as_str());
    assert_eq!(states, wire);
}
