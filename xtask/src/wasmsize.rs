//! Where valv-client's wasm bytes go: the release build through wasm-bindgen and `wasm-opt
//! -Oz` with names kept, read by `twiggy top`; the largest items and the bytes per crate.
//! (The names section itself is not shipped and is left out of every figure.)

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::Command;

use anyhow::{Context, Result};

use crate::procs::run;
use crate::{note, step};

/// One line of `twiggy top -f json`.
struct Item {
    name: String,
    shallow_size: u64,
}

/// The crate (or kind) an item of the module belongs to.
fn owner(name: &str) -> String {
    if name.starts_with("data segment") {
        return "data (strings, tables)".into();
    }
    // `Run::step`'s export is every operation of the client (each one's state machine and
    // the request pipeline inlined into it): the client's own code, not a method's shim.
    if name.starts_with("run_step ") && name.ends_with(" shim") {
        return "valv_client".into();
    }
    if name.ends_with(" shim") {
        return "wasm-bindgen export shims (method bodies inlined)".into();
    }
    if name.starts_with("import ") || name.starts_with("export ") {
        return "imports and exports".into();
    }
    let mut path = name.trim_start_matches('<');
    // `<T as Trait>::f`: the type's crate, or the trait's for a primitive type.
    if let Some((ty, rest)) = path.split_once(" as ") {
        path = if ty.contains("::") { ty } else { rest };
    }
    let first = path.split("::").next().unwrap_or(path);
    let krate = first.split('[').next().unwrap_or(first);
    match krate {
        "__rustc" | "__rdl_alloc" | "__rdl_dealloc" | "__rdl_realloc" => "alloc".into(),
        k if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || !path.contains("::") => {
            "other (tables, types, glue)".into()
        }
        k => k.to_owned(),
    }
}

/// An item's name without the symbol hash (`::h…`) and the crates' disambiguators
/// (`core[c5930c85a12de822]`).
fn readable(name: &str) -> String {
    let name = match name.rfind("::h") {
        Some(at) if name[at + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &name[..at],
        _ => name,
    };
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let close = rest[open..].find(']').map(|c| open + c);
        match close {
            Some(close) if close > open + 8 && rest[open + 1..close].bytes().all(|b| b.is_ascii_hexdigit()) => {
                out.push_str(&rest[..open]);
                rest = &rest[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A markdown table of `rows` (what, bytes) with each one's share.
fn table(heading: &str, rows: impl Iterator<Item = (String, u64)>, pct: impl Fn(u64) -> f64) {
    println!("| {heading} | bytes | share |");
    println!("| --- | ---: | ---: |");
    for (what, n) in rows {
        println!("| {what} | {n} | {:.1} % |", pct(n));
    }
}

/// Prints the largest items and the bytes per crate of the release build of valv-client
/// (`wasm-pack build --release` made it), using `twiggy` from `path`.
pub fn contributors(path: &OsString, twiggy: &std::path::Path) -> Result<()> {
    step("Where the wasm bytes go (twiggy top; wasm-bindgen and wasm-opt -Oz with names kept)");
    let target = crate::target_dir();
    let wasm = target.join("wasm32-unknown-unknown/release/valv_client.wasm");
    let dir = target.join("bench/twiggy");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    run(Command::new("wasm-bindgen").env("PATH", path).args(["--target", "web", "--out-dir"]).arg(&dir).arg(&wasm))?;
    let bound = dir.join("valv_client_bg.wasm");
    let named = dir.join("named.wasm");
    run(Command::new("wasm-opt")
        .env("PATH", path)
        .args(["-Oz", "-g", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals"])
        .arg(&bound)
        .arg("-o")
        .arg(&named))?;
    let out = Command::new(twiggy).args(["top", "-n", "1000000", "-f", "json"]).arg(&named).output().context("running twiggy")?;
    anyhow::ensure!(out.status.success(), "twiggy top failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading twiggy's JSON")?;
    let items: Vec<Item> = json
        .as_array()
        .context("twiggy's JSON is not a list")?
        .iter()
        .filter_map(|v| Some(Item { name: v["name"].as_str()?.to_owned(), shallow_size: v["shallow_size"].as_u64()? }))
        .collect();
    let shipped: Vec<&Item> = items.iter().filter(|i| !i.name.contains("\"function names\" subsection")).collect();
    let total: u64 = shipped.iter().map(|i| i.shallow_size).sum();
    let pct = |n: u64| 100.0 * n as f64 / total.max(1) as f64;
    note(&format!("{} bytes in all (names left out), {} items", total, shipped.len()));
    let largest = shipped.iter().take(12).map(|i| (format!("`{}`", readable(&i.name).replace('|', "\\|")), i.shallow_size));
    table("largest items", largest, pct);
    let mut by_owner: BTreeMap<String, u64> = BTreeMap::new();
    for i in &shipped {
        *by_owner.entry(owner(&i.name)).or_default() += i.shallow_size;
    }
    let mut owners: Vec<(String, u64)> = by_owner.into_iter().collect();
    owners.sort_by_key(|o| std::cmp::Reverse(o.1));
    println!();
    table("crate or kind", owners.into_iter().take(14), pct);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{owner, readable};

    #[test]
    fn names_lose_hashes_and_disambiguators() {
        assert_eq!(readable("<char as core[c5930c85a12de822]::fmt::Debug>::fmt"), "<char as core::fmt::Debug>::fmt");
        assert_eq!(readable("valv_client::validate::account::hb3aa6bc2119c3003"), "valv_client::validate::account");
        assert_eq!(readable("elem[0]"), "elem[0]");
        assert_eq!(readable("data segment \".rodata\""), "data segment \".rodata\"");
    }

    #[test]
    fn items_belong_to_their_crates() {
        assert_eq!(owner("js_sys::futures::future_to_promise::{{closure}}::{{closure}}::h09fc"), "js_sys");
        assert_eq!(owner("run_step externref shim multivalue shim"), "valv_client");
        assert_eq!(owner("<dlmalloc[e24a]::dlmalloc::Dlmalloc<dlmalloc[e24a]::sys::System>>::malloc"), "dlmalloc");
        assert_eq!(owner("<char as core[c593]::fmt::Debug>::fmt"), "core");
        assert_eq!(owner("<alloc::collections::btree::map::BTreeMap<K,V,A> as core::ops::drop::Drop>::drop::ha3"), "alloc");
        assert_eq!(owner("__rustc[b797]::__rdl_realloc"), "alloc");
        assert_eq!(owner("data segment \".rodata\""), "data (strings, tables)");
        assert_eq!(owner("valv_initiatePayment externref shim"), "wasm-bindgen export shims (method bodies inlined)");
        assert_eq!(owner("valv_client::web::bankid::bank_id_update::he39"), "valv_client");
        assert_eq!(owner("elem[0]"), "other (tables, types, glue)");
    }
}
