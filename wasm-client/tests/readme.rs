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
