//! Gives the shared library an soname, so that programs linked against `libimagecheck.so`
//! record `libimagecheck.so.MAJOR` (for 0.x versions `libimagecheck.so.0.MINOR`: under semver
//! every 0.x minor release may break the ABI; cargo-c names them the same way) and the loader
//! refuses an incompatible copy. packaging/build installs the file under that name with the
//! usual `libimagecheck.so` symlink.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        let minor = env!("CARGO_PKG_VERSION_MINOR");
        let soname = if major == "0" {
            format!("libimagecheck.so.0.{minor}")
        } else {
            format!("libimagecheck.so.{major}")
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
