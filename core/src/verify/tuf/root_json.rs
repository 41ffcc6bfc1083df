//! A TUF `root.json` on its own: parsed and checked to be signed by its own root keys. Used
//! both for a configured bootstrap root (`repository`) and for the copy on disk (`cache`).

use tough::schema::{Root, Signed};

/// Parse a TUF `root.json` and check that a threshold of its own root keys signed it.
pub(super) fn self_signed_root(json: &[u8]) -> Result<Signed<Root>, String> {
    let root: Signed<Root> =
        serde_json::from_slice(json).map_err(|e| format!("not a TUF root.json: {e}"))?;
    root.signed
        .verify_role(&root)
        .map_err(|e| format!("root.json is not signed by its own root keys: {e}"))?;
    Ok(root)
}
