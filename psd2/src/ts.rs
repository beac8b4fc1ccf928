//! TypeScript declarations (feature `ts`) of the types whose JSON form is written by hand in
//! this crate rather than derived; the models that derive `tsify::Tsify` refer to them by
//! name, and the WebAssembly client's `.d.ts` carries both.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const HAND_WRITTEN: &'static str = r#"
/** Members of a JSON object that its model does not name, kept as the bank sent them. */
export type OtherMembers = Record<string, unknown>;

/** An exact decimal amount as text, such as `"40055.940"` or `"-63.0"`; never a float. */
export type DecimalString = string;
"#;
