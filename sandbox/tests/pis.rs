//! Payment Initiation v7 and funds confirmation over HTTP: templates, every product's body
//! validation, duplicates, SCA to a final status, cancellation, signing baskets, reset.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use reqwest::StatusCode;
use serde_json::{json, Value};
use valv_psd2::payment::{PaymentInitiationResponse, PaymentStatusResponse, SigningBasket, TemplateSummary};
use valv_psd2::sca::Authorisation;

const PIS: &str = "/pis/v7/identified2";
const PERSON: &str = "9311219639";
const CT: &str = "swedish-domestic-private-credit-transfers";

struct Pis {
    sb: common::TestSandbox,
    token: String,
}

impl Pis {
    async fn new() -> Self {
        let sb = common::spawn_default().await;
        let token = sb.token_for(PERSON, "psd2_accounts psd2_payments").await;
        Self { sb, token }
    }
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>, rid: Option<&str>) -> (StatusCode, Value) {
        let url = if path.starts_with("/cof/") { self.sb.url(path) } else { self.sb.url(&format!("{PIS}{path}")) };
        let rid = rid.map(str::to_owned).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut req =
            self.sb.http.request(method, url).bearer_auth(&self.token).header("x-request-id", rid).header("psu-ip-address", "192.0.2.7");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let s = res.status();
        (s, res.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body), None).await
    }
}

fn transfer(amount: &str) -> Value {
    json!({
        "templateId": CT,
        "instructedAmount": {"currency": "SEK", "amount": amount},
        "debtorAccount": {"iban": "SE3750000000054400047881"},
        "creditorAccount": {"iban": "SE2550000000054400047903"},
        "debtorAccountMessage": "max 12 chars",
        "creditorAccountMessage": "max 12 chars",
        "creditorName": "Test Person"
    })
}

#[tokio::test]
async fn templates_list_and_detail() {
    let p = Pis::new().await;
    let (s, v) = p.get("/templates").await;
    assert_eq!(s, 200);
    let list: Vec<TemplateSummary> = serde_json::from_value(v).unwrap();
    assert!(list.iter().any(|t| t.template_id.as_str() == CT));
    let (s, v) = p.get("/templates/swedish-domestic-private-bankgiros").await;
    assert_eq!(s, 200);
    assert_eq!(v["creditorAccount"]["bgnr"], "8080-1111");
    let (s, v) = p.get("/templates/nope").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("RESOURCE_UNKNOWN")));
}

#[tokio::test]
async fn payment_through_sca_to_acsc() {
    let p = Pis::new().await;
    let (s, v) = p.post(&format!("/payments/{CT}"), transfer("99.50")).await;
    assert_eq!(s, 201, "{v}");
    let created: PaymentInitiationResponse = serde_json::from_value(v.clone()).unwrap();
    let id = created.payment_id.clone();
    let status_href = v["_links"]["status"]["href"].as_str().unwrap().to_owned();
    assert_eq!(status_href, format!("/payments/{CT}/{id}/status"));
    assert_eq!(v["instructedAmount"]["amount"], "99.50", "amounts stay exact strings");

    let (s, v) = p.get(&status_href).await;
    assert_eq!(s, 200);
    let st: PaymentStatusResponse = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(st.transaction_status.as_str(), "RCVD");
    assert_eq!(v["scaMethods"][0]["authenticationMethodId"], "mobiltbankid");
    // Unsigned, it stays RCVD however often it is polled.
    for _ in 0..3 {
        assert_eq!(p.get(&status_href).await.1["transactionStatus"], "RCVD");
    }
    let (s, v) = p.get(&format!("/payments/{CT}/{id}")).await;
    assert_eq!((s, v["paymentId"].as_str()), (StatusCode::OK, Some(id.as_str())));

    let (s, v) = p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({"authenticationMethodId": "mobiltbankid"})).await;
    assert_eq!(s, 201, "{v}");
    let auth: Authorisation = serde_json::from_value(v).unwrap();
    assert_eq!(auth.sca_status.as_str(), "scaMethodSelected");
    let auth_id = auth.authorisation_id.unwrap();
    let (_, v) = p.get(&format!("/payments/{CT}/{id}/authorisations/{auth_id}")).await;
    assert_eq!(v["scaStatus"], "started");
    assert_eq!(v["psuMessage"], "Signera med mobilt BankID");
    let (_, v) = p.get(&format!("/payments/{CT}/{id}/authorisations/{auth_id}")).await;
    assert_eq!(v["scaStatus"], "finalised");
    assert_eq!(p.get(&status_href).await.1["transactionStatus"], "ACSC");
    let (_, v) = p.get(&format!("/payments/{CT}/{id}/authorisations")).await;
    assert_eq!(v["authorisationIds"][0], auth_id.as_str());
    // final: no cancellation, no second signing
    let (s, v) = p.call(reqwest::Method::DELETE, &format!("/payments/{CT}/{id}"), None, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("CANCELLATION_INVALID")));
    let (s, _) = p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({})).await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn every_test_person_may_pay_from_the_collections_example_account_but_not_from_another_persons() {
    // SEB's Payment Initiation collection logs in as 198811215477 and pays from
    // SE3750000000054400047881 (the first test person's account); SEB's sandbox accepts it.
    let sb = common::spawn_default().await;
    let token = sb.token_for("8811215477", "psd2_accounts psd2_payments").await;
    let post = |body: Value| {
        sb.http
            .post(sb.url(&format!("{PIS}/payments/{CT}")))
            .bearer_auth(&token)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header("psu-ip-address", "192.0.2.7")
            .json(&body)
            .send()
    };
    let res = post(transfer("10.00")).await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    // Another person's own account is not theirs to pay from.
    let erik = sb.token_for("9311219589", "psd2_accounts").await;
    let accounts: Value = sb
        .http
        .get(sb.url("/ais/v7/identified2/accounts"))
        .bearer_auth(&erik)
        .header("x-request-id", uuid::Uuid::new_v4().to_string())
        .header("psu-ip-address", "192.0.2.7")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let erik_iban = accounts["accounts"][0]["iban"].as_str().unwrap().to_owned();
    let mut body = transfer("10.00");
    body["debtorAccount"]["iban"] = json!(erik_iban);
    let res = post(body).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "RESOURCE_UNKNOWN");
}

/// Signs a payment by polling its status until it is final; returns the final status body.
async fn sign_to_final(p: &Pis, id: &str) -> Value {
    p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({})).await;
    for _ in 0..5 {
        let (_, v) = p.get(&format!("/payments/{CT}/{id}/status")).await;
        if ["ACSC", "RJCT"].contains(&v["transactionStatus"].as_str().unwrap()) {
            return v;
        }
    }
    panic!("payment {id} never became final");
}

#[tokio::test]
async fn a_payment_the_account_cannot_cover_is_rejected_with_a_reason_and_an_executed_one_is_booked() {
    let p = Pis::new().await;
    let (_, accounts) =
        p.sb.http
            .get(p.sb.url("/ais/v7/identified2/accounts?withBalance=true"))
            .bearer_auth(&p.token)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header("psu-ip-address", "192.0.2.7")
            .send()
            .await
            .map(|r| (r.status(), r))
            .unwrap();
    let accounts: Value = accounts.json().await.unwrap();
    let main = accounts["accounts"].as_array().unwrap().iter().find(|a| a["iban"] == "SE3750000000054400047881").unwrap().clone();
    let available = main["balances"].as_array().unwrap().iter().find(|b| b["balanceType"] == "interimAvailable").unwrap()["balanceAmount"]
        ["amount"]
        .as_str()
        .unwrap()
        .to_owned();
    let whole: i64 = available.split('.').next().unwrap().parse().unwrap();

    // One krona more than is available: signed, then rejected where it would be executed.
    let (s, v) = p.post(&format!("/payments/{CT}"), transfer(&format!("{}.00", whole + 1))).await;
    assert_eq!(s, 201, "{v}");
    let id = v["paymentId"].as_str().unwrap().to_owned();
    let v = sign_to_final(&p, &id).await;
    assert_eq!(v["transactionStatus"], "RJCT", "{v}");
    assert!(v["tppMessages"][0]["text"].as_str().unwrap().contains("not have enough money"), "{v}");

    // A covered one is executed and booked: the newest transaction, the booked balance lower.
    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("12.34")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    assert_eq!(sign_to_final(&p, &id).await["transactionStatus"], "ACSC");
    let rid = main["resourceId"].as_str().unwrap();
    let res =
        p.sb.http
            .get(p.sb.url(&format!("/ais/v7/identified2/accounts/{rid}/transactions?bookingStatus=booked")))
            .bearer_auth(&p.token)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header("psu-ip-address", "192.0.2.7")
            .send()
            .await
            .unwrap();
    let page: Value = res.json().await.unwrap();
    let newest = &page["transactions"]["booked"][0];
    assert_eq!(newest["transactionAmount"]["amount"], "-12.34", "{newest}");
    assert_eq!(newest["descriptiveText"], "Test Person");
}

#[tokio::test]
async fn status_polls_alone_reach_a_final_status_and_cancel_works_before() {
    let p = Pis::new().await;
    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("12.00")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({})).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(p.get(&format!("/payments/{CT}/{id}/status")).await.1["transactionStatus"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["RCVD", "ACTC", "ACSC", "ACSC", "ACSC"]);

    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("13.00")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    let (s, _) = p.call(reqwest::Method::DELETE, &format!("/payments/{CT}/{id}"), None, None).await;
    assert_eq!(s, 204);
    assert_eq!(p.get(&format!("/payments/{CT}/{id}/status")).await.1["transactionStatus"], "CANC");
}

#[tokio::test]
async fn every_product_validates_its_body() {
    let p = Pis::new().await;
    let bg = json!({"templateId": "swedish-domestic-private-bankgiros", "instructedAmount": {"currency": "SEK", "amount": "55.50"},
        "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"bgnr": "8080-1111"},
        "remittanceInformationStructured": {"reference": "1993112196394", "referenceType": "OCR"}});
    let (s, v) = p.post("/payments/swedish-domestic-private-bankgiros", bg.clone()).await;
    assert_eq!(s, 201, "{v}");
    let pg = json!({"templateId": "swedish-domestic-private-plusgiros", "instructedAmount": {"currency": "SEK", "amount": "10.55"},
        "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"pgnr": "12345678"},
        "remittanceInformationUnstructured": "max 100 characters"});
    assert_eq!(p.post("/payments/swedish-domestic-private-plusgiros", pg).await.0, 201);

    let bad: Vec<(&str, Value)> = vec![
        (
            CT,
            json!({"instructedAmount": {"currency": "SEK", "amount": "-1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"iban": "SE2550000000054400047903"}}),
        ),
        (
            CT,
            json!({"instructedAmount": {"currency": "SEK", "amount": "1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"bgnr": "8080-1111"}}),
        ),
        (CT, json!({"instructedAmount": {"currency": "SEK", "amount": "1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}})),
        (
            CT,
            json!({"instructedAmount": {"currency": "SEK", "amount": "1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"iban": "SE2550000000054400047903"}, "creditorAccountMessage": "this message is far too long for the field"}),
        ),
        (
            "swedish-domestic-private-bankgiros",
            json!({"instructedAmount": {"currency": "SEK", "amount": "1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"iban": "SE2550000000054400047903"}}),
        ),
        (
            "swedish-domestic-private-plusgiros",
            json!({"instructedAmount": {"currency": "SEK", "amount": "1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"bgnr": "8080-1111"}}),
        ),
        (
            "sepa-credit-transfers",
            json!({"instructedAmount": {"currency": "SEK", "amount": "1.00"}, "debtorAccount": {"iban": "SE3750000000054400047881"}, "creditorAccount": {"iban": "DE89370400440532013000"}}),
        ),
    ];
    for (product, body) in bad {
        let (s, v) = p.post(&format!("/payments/{product}"), body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("FORMAT_ERROR")), "{product} {body}: {v}");
    }
    let (s, v) = p.call(reqwest::Method::POST, &format!("/payments/{CT}"), None, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("FORMAT_ERROR")));
    let (s, v) = p.post("/payments/gold-bars", transfer("1.00")).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("PRODUCT_UNKNOWN")));
    let mut foreign = transfer("1.00");
    foreign["debtorAccount"] = json!({"iban": "SE2812000000012810105723"});
    let (s, v) = p.post(&format!("/payments/{CT}"), foreign).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("RESOURCE_UNKNOWN")));
}

#[tokio::test]
async fn duplicate_request_ids_are_rejected_and_scope_is_needed() {
    let p = Pis::new().await;
    let rid = uuid::Uuid::new_v4().to_string();
    let (s, _) = p.call(reqwest::Method::POST, &format!("/payments/{CT}"), Some(transfer("1.00")), Some(&rid)).await;
    assert_eq!(s, 201);
    let (s, v) = p.call(reqwest::Method::POST, &format!("/payments/{CT}"), Some(transfer("2.00")), Some(&rid)).await;
    assert_eq!(s, 400);
    assert_eq!(v["transactionStatus"], "RJCT");

    let accounts_only = p.sb.token_for(PERSON, "psd2_accounts").await;
    let res =
        p.sb.http
            .post(p.sb.url(&format!("{PIS}/payments/{CT}")))
            .bearer_auth(accounts_only)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .json(&transfer("3.00"))
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 401);
    // another person cannot see the payment
    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("4.00")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    let other = p.sb.token_for("8811215477", "psd2_payments").await;
    let res =
        p.sb.http
            .get(p.sb.url(&format!("{PIS}/payments/{CT}/{id}")))
            .bearer_auth(other)
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn signing_basket_signs_its_payments() {
    let p = Pis::new().await;
    let mut ids = Vec::new();
    for amount in ["55.50", "44.50"] {
        let (_, v) = p.post(&format!("/payments/{CT}"), transfer(amount)).await;
        ids.push(v["paymentId"].as_str().unwrap().to_owned());
    }
    let (s, v) = p.post("/signing-baskets", json!({"paymentIds": ids})).await;
    assert_eq!(s, 201, "{v}");
    let basket: SigningBasket = serde_json::from_value(v).unwrap();
    let bid = basket.basket_id.unwrap();
    let (_, v) = p.get(&format!("/signing-baskets/{bid}")).await;
    assert_eq!(v["transactionStatus"], "RCVD");
    assert_eq!(v["scaMethods"][0]["authenticationMethodId"], "mobiltbankid");
    let (s, v) = p.post(&format!("/signing-baskets/{bid}/authorisations"), json!({"authenticationMethodId": "mobiltbankid"})).await;
    assert_eq!((s, v["scaStatus"].as_str()), (StatusCode::CREATED, Some("scaMethodSelected")));
    let auth = v["authorisationId"].as_str().unwrap().to_owned();
    assert_eq!(p.get(&format!("/signing-baskets/{bid}/authorisations/{auth}")).await.1["scaStatus"], "started");
    assert_eq!(p.get(&format!("/signing-baskets/{bid}/authorisations/{auth}")).await.1["scaStatus"], "finalised");
    for id in &ids {
        let mut last = String::new();
        for _ in 0..3 {
            last = p.get(&format!("/payments/{CT}/{id}/status")).await.1["transactionStatus"].as_str().unwrap().to_owned();
        }
        assert_eq!(last, "ACSC");
    }
    // unknown payments cannot go in a basket; an empty one is a format error
    let (s, v) = p.post("/signing-baskets", json!({"paymentIds": ["nope"]})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("RESOURCE_UNKNOWN")));
    assert_eq!(p.post("/signing-baskets", json!({"paymentIds": []})).await.0, 400);
}

#[tokio::test]
async fn funds_confirmation_and_reset() {
    let p = Pis::new().await;
    let (s, v) = p
        .post(
            "/cof/v7/identified2/funds-confirmations",
            json!({"account": {"iban": "SE3750000000054400047881"}, "instructedAmount": {"amount": "1.00", "currency": "SEK"}}),
        )
        .await;
    assert_eq!((s, v["fundsAvailable"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, v) = p
        .post(
            "/cof/v7/identified2/funds-confirmations",
            json!({"account": {"iban": "SE3750000000054400047881"}, "instructedAmount": {"amount": "999999999.00", "currency": "SEK"}}),
        )
        .await;
    assert_eq!(v["fundsAvailable"], false);
    let (s, v) = p
        .post(
            "/cof/v7/identified2/funds-confirmations",
            json!({"account": {"iban": "SE0000000000000000000000"}, "instructedAmount": {"amount": "1.00", "currency": "SEK"}}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("RESOURCE_UNKNOWN")));
    // valv-psd2's rules, the ones the client checks before sending: every problem named.
    for (body, needle) in [
        (
            json!({"account": {"iban": "SE3750000000054400047881"}, "instructedAmount": {"amount": "0", "currency": "SEK"}}),
            "greater than zero",
        ),
        (
            json!({"account": {"iban": "SE3750000000054400047881"}, "instructedAmount": {"amount": "-1.00", "currency": "SEK"}}),
            "greater than zero",
        ),
        (
            json!({"account": {"iban": "SE3750000000054400047881"}, "instructedAmount": {"amount": "1.00", "currency": "kronor"}}),
            "ISO 4217",
        ),
        (json!({"account": {}, "instructedAmount": {"amount": "1.00", "currency": "SEK"}}), "iban or bban is required"),
    ] {
        let (s, v) = p.post("/cof/v7/identified2/funds-confirmations", body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("FORMAT_ERROR")), "{body}: {v}");
        assert!(v["detail"].as_str().unwrap_or_default().contains(needle), "{body}: {v}");
    }

    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("5.00")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    let (s, v) = p.call(reqwest::Method::PATCH, "/payments/mock/resetall", None, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(p.get(&format!("/payments/{CT}/{id}")).await.0, 404);
}

/// `/phone` as the sandbox's BankID app: `person` approves what waits for `token`.
async fn phone_signs(p: &Pis, token: &str, person: &str) -> (StatusCode, String) {
    let res =
        p.sb.http.post(p.sb.url("/phone")).form(&[("autostarttoken", token), ("personal_identity_number", person)]).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_bankid_qr_signing_waits_for_its_owner_in_the_bankid_app_with_an_animated_qr_code() {
    let p = Pis::new().await;
    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("12.25")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    let methods = p.get(&format!("/payments/{CT}/{id}/status")).await.1["scaMethods"].clone();
    let offered: Vec<&str> = methods.as_array().unwrap().iter().filter_map(|m| m["authenticationMethodId"].as_str()).collect();
    assert_eq!(offered, ["mobiltbankid", "bankIdQr", "bankIdSameDevice"]);

    let (s, v) = p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({"authenticationMethodId": "bankIdQr"})).await;
    assert_eq!(s, 201, "{v}");
    let auth: Authorisation = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(auth.sca_status.as_str(), "started");
    let first_qr = auth.qr_data.clone().unwrap();
    assert!(first_qr.starts_with("bankid.") && first_qr.split('.').count() == 4, "{first_qr}");
    let token = auth.auto_start_token.clone().unwrap();
    let auth_id = auth.authorisation_id.unwrap();
    let auth_path = format!("/payments/{CT}/{id}/authorisations/{auth_id}");
    // Nobody signs: it stays started (and the payment RCVD) however often it is polled, and
    // the QR code is another one a second later.
    for _ in 0..3 {
        assert_eq!(p.get(&auth_path).await.1["scaStatus"], "started");
        assert_eq!(p.get(&format!("/payments/{CT}/{id}/status")).await.1["transactionStatus"], "RCVD");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let v = p.get(&auth_path).await.1;
    assert_ne!(v["qrData"].as_str().unwrap(), first_qr, "the QR code is animated");
    assert_eq!(v["autoStartToken"], token.as_str());

    // Another test person's BankID cannot sign it; an unknown token finds nothing.
    let (s, body) = phone_signs(&p, &token, "8811215477").await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(phone_signs(&p, "no-such-token", PERSON).await.0, 404);
    assert_eq!(p.get(&auth_path).await.1["scaStatus"], "started");
    // Its owner signs.
    let (s, body) = phone_signs(&p, &token, PERSON).await;
    assert_eq!(s, 200);
    assert!(body.contains("Signed"), "{body}");
    let v = p.get(&auth_path).await.1;
    assert_eq!(v["scaStatus"], "finalised");
    assert!(v.get("qrData").is_none() && v.get("autoStartToken").is_none(), "{v}");
    assert_eq!(p.get(&format!("/payments/{CT}/{id}/status")).await.1["transactionStatus"], "ACSC");
    // Signed once: the token signs nothing else.
    assert_eq!(phone_signs(&p, &token, PERSON).await.0, 404);
}

#[tokio::test]
async fn a_failed_bankid_signing_leaves_the_payment_to_be_signed_again_and_baskets_sign_the_same_way() {
    let p = Pis::new().await;
    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("13.75")).await;
    let id = v["paymentId"].as_str().unwrap().to_owned();
    let (_, v) = p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({"authenticationMethodId": "bankIdSameDevice"})).await;
    assert!(v.get("qrData").is_none(), "no QR code on this device: {v}");
    let token = v["autoStartToken"].as_str().unwrap().to_owned();
    let auth_id = v["authorisationId"].as_str().unwrap().to_owned();
    // While it is in progress, no second one.
    assert!(p.get(&format!("/payments/{CT}/{id}/status")).await.1.get("scaMethods").is_none());
    let fail = json!({"hintCode": "userCancel", "autostartToken": token});
    assert_eq!(p.sb.control("/__sandbox/decoupled/fail", fail.clone()).await, 204);
    let v = p.get(&format!("/payments/{CT}/{id}/authorisations/{auth_id}")).await.1;
    assert_eq!(v["scaStatus"], "failed");
    assert_eq!(v["tppMessages"][0]["code"], "SCA_FAILED");
    assert_eq!(p.sb.control("/__sandbox/decoupled/fail", fail).await, 400, "a failed order cannot fail again");
    let v = p.get(&format!("/payments/{CT}/{id}/status")).await.1;
    assert_eq!(v["transactionStatus"], "RCVD");
    assert!(v["_links"]["startAuthorisationWithAuthenticationMethodSelection"].is_object(), "{v}");
    // Signed on the second try, through the control the browser tests use.
    let (s, v) = p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({"authenticationMethodId": "bankIdQr"})).await;
    assert_eq!(s, 201, "{v}");
    let sign = json!({"personalIdentityNumber": PERSON, "autostartToken": v["autoStartToken"]});
    assert_eq!(p.sb.control("/__sandbox/decoupled/sign", sign).await, 204);
    let auth_id = v["authorisationId"].as_str().unwrap();
    assert_eq!(p.get(&format!("/payments/{CT}/{id}/authorisations/{auth_id}")).await.1["scaStatus"], "finalised");
    let (_, v) = p.get(&format!("/payments/{CT}/{id}/authorisations")).await;
    assert_eq!(v["authorisationIds"].as_array().unwrap().len(), 2);

    // A basket of two payments, signed with one BankID.
    let mut ids = Vec::new();
    for amount in ["1.50", "2.50"] {
        let (_, v) = p.post(&format!("/payments/{CT}"), transfer(amount)).await;
        ids.push(v["paymentId"].as_str().unwrap().to_owned());
    }
    let bid = p.post("/signing-baskets", json!({"paymentIds": ids})).await.1["basketId"].as_str().unwrap().to_owned();
    let (_, v) = p.post(&format!("/signing-baskets/{bid}/authorisations"), json!({"authenticationMethodId": "bankIdQr"})).await;
    assert_eq!(v["scaStatus"], "started");
    let (s, _) = phone_signs(&p, v["autoStartToken"].as_str().unwrap(), PERSON).await;
    assert_eq!(s, 200);
    let auth = v["authorisationId"].as_str().unwrap();
    assert_eq!(p.get(&format!("/signing-baskets/{bid}/authorisations/{auth}")).await.1["scaStatus"], "finalised");
    for id in &ids {
        assert_eq!(p.get(&format!("/payments/{CT}/{id}/status")).await.1["transactionStatus"], "ACSC");
    }
    // A method the sandbox does not offer.
    let (_, v) = p.post(&format!("/payments/{CT}"), transfer("3.50")).await;
    let id = v["paymentId"].as_str().unwrap();
    let (s, v) = p.post(&format!("/payments/{CT}/{id}/authorisations"), json!({"authenticationMethodId": "digipass"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("FORMAT_ERROR")), "{v}");
}
