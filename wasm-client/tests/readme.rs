//! The npm README's example is the demo app's `www/example.js`, byte for byte, so the
//! example users copy is the code the demo runs.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn readme_example_is_the_demo_code() {
    let readme = read("README.md");
    let example = read("../www/example.js");
    let start =
        readme.find("## Example\n\n```js\n").expect("README has an Example section with a js block") + "## Example\n\n```js\n".len();
    let len = readme[start..].find("```").expect("closed code block");
    assert_eq!(&readme[start..start + len], example);
}

/// The README's error table names every code of the wire contract (`valv-wire`), each once.
#[test]
fn readme_error_table_names_every_code_once() {
    let readme = read("README.md");
    let table = &readme[readme.find("| code | when |").expect("README has the error table")..];
    let mut listed: Vec<String> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or_default().to_owned();
            first.split(',').map(|c| c.trim().trim_matches('`').to_owned()).collect::<Vec<_>>()
        })
        .collect();
    listed.sort_unstable();
    let mut wire: Vec<String> = valv_wire::Code::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    wire.sort_unstable();
    assert_eq!(listed, wire);
}
