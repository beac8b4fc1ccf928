//! TypeScript declarations (feature `ts`) of the types whose JSON form is written by hand in
//! this crate rather than derived; the models that derive `tsify::Tsify` refer to them by
//! name, and the WebAssembly client's `.d.ts` carries both.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const HAND_WRITTEN: &'static str = r#"
/**
 * The members of a JSON object that its model does not name. valv-psd2 keeps them (what the
 * bank adds round-trips), but they are not typed: read one through a cast, and a misspelt
 * member in an object you build is an error rather than an unknown member.
 */
export type OtherMembers = {};

/** An exact decimal amount as text, such as `"40055.940"` or `"-63.0"`; never a float. */
export type DecimalString = string;
"#;
