//! Replays the "Decoupled Authorization" folders of SEB's own Postman collections (vendored
//! in psd2/tests/fixtures/seb) against the sandbox: same requests, bodies, and the status
//! codes their test scripts assert, with the variables their scripts set.
#![allow(clippy::unwrap_used)]
mod common;

use std::collections::HashMap;

use serde_json::Value;

fn folder<'a>(items: &'a [Value], name: &str) -> Option<&'a Value> {
    for it in items {
        if it["name"] == name {
            return Some(it);
        }
        if let Some(sub) = it["item"].as_array() {
            if let Some(f) = folder(sub, name) {
                return Some(f);
            }
        }
    }
    None
}

fn subst(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    assert!(!out.contains("{{"), "unresolved variable in {out}");
    out
}

async fn replay(collection: &str) {
    let sb = common::spawn_default().await;
    let path = format!("{}/../psd2/tests/fixtures/seb/{collection}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let steps = folder(doc["item"].as_array().unwrap(), "Decoupled Authorization").expect("folder")["item"].as_array().unwrap().clone();
    assert_eq!(steps.len(), 4);
    let mut vars: HashMap<String, String> = HashMap::from([
        ("clientId".into(), sb.client_id.clone()),
        ("clientSecret".into(), sb.client_secret.clone()),
        ("redirectUri".into(), sb.redirect_uri.clone()),
        ("scope".into(), "psd2_accounts psd2_payments".into()),
    ]);
    for step in steps {
        let req = &step["request"];
        let raw = req["url"]["raw"].as_str().unwrap();
        let url = subst(raw, &vars).replace("https://api-sandbox.sebgroup.com", &sb.base_url);
        let method = reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut builder = sb.http.request(method, &url).header("content-type", "application/json").header("accept", "application/json");
        if let Some(body) = req["body"]["raw"].as_str() {
            builder = builder.body(subst(body, &vars));
        }
        let res = builder.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let script: String = step["event"]
            .as_array()
            .map(|evs| {
                evs.iter()
                    .filter(|e| e["listen"] == "test")
                    .flat_map(|e| e["script"]["exec"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned()))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        if let Some(expected) = script.split("to.have.status(").nth(1).and_then(|s| s.split(')').next()) {
            assert_eq!(status.to_string(), expected, "{} {url}: {text}", step["name"]);
        } else {
            assert!(status < 300, "{} {url}: {status} {text}", step["name"]);
        }
        // the variables the script sets from the JSON body
        for line in script.lines() {
            if let Some(rest) = line.trim().strip_prefix("postman.setEnvironmentVariable(\"") {
                let name = rest.split('"').next().unwrap();
                let field = rest.split("jsonData.").nth(1).unwrap().trim_end_matches([')', ';']);
                if !text.is_empty() {
                    let json: Value = serde_json::from_str(&text).unwrap();
                    if let Some(v) = json[field].as_str() {
                        vars.insert(name.to_owned(), v.to_owned());
                    }
                }
            }
        }
    }
    let access = vars.get("access_token").expect("access_token set by the last step");
    assert!(sb.state.tokens().check_access(access).is_ok());
}

#[tokio::test]
async fn ais_collection_decoupled_folder() {
    replay("account-information.postman_collection.json").await;
}

#[tokio::test]
async fn pis_collection_decoupled_folder() {
    replay("payment-initiation.postman_collection.json").await;
}
