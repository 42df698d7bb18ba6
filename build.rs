//! Generates the C header with cbindgen. The header is committed in include/; the build writes
//! a fresh copy to OUT_DIR, and tests/header.rs fails when the two differ. Set
//! CK_BLESS_HEADER=1 to write the committed copy.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=src/error.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CK_BLESS_HEADER");

    // A SONAME lets a host that preloaded the library by path (PowerShell's NativeLibrary.Load)
    // resolve later DllImports by bare name to that same copy.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcustomer_key.so");
    }

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    bindings.write_to_file(out_dir.join("customer_key.h"));
    if std::env::var("CK_BLESS_HEADER").as_deref() == Ok("1") {
        bindings.write_to_file(crate_dir.join("include/customer_key.h"));
    }
}
