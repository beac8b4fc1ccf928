//! `cargo xtask` — Valv's developer commands.
fn main() {}
