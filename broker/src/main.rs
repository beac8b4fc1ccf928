//! `valv-broker` binary.
fn main() {}
