//! `valv-sandbox` binary.
fn main() {}
