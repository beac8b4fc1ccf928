//! The JavaScript surface: the `Valv` class, one file per concern (see each module).

mod ais;
mod args;
mod bankid;
mod events;
mod failure;
mod ffi;
mod funds;
mod op;
mod pages;
mod pis;
mod transport;
mod valv;

use wasm_bindgen::prelude::*;

pub use pages::TransactionPages;
pub use valv::Valv;

#[wasm_bindgen(typescript_custom_section)]
const CLIENT_TYPES: &'static str = include_str!("../client.d.ts");
