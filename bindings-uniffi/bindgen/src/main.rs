//! `uniffi-bindgen`, built from the same `uniffi` version the library links, so the generated
//! bindings and the scaffolding can never drift apart.

fn main() {
    uniffi::uniffi_bindgen_main()
}
