//! Generates the WIT bindings of both contracts into `OUT_DIR`:
//! `bindings_v0_1.rs` from `wit/wasmpush.wit` (world `generator`) and
//! `bindings_v0_2.rs` from `wit/v0.2` (through the SDK-local world
//! `generator-v2`, see `src/v2.rs`). This is what `wit_bindgen::generate!`
//! does, with one difference that keeps each generator's component to the
//! contract it was built for.
//!
//! With a public export macro, wit-bindgen emits two `component-type` custom
//! sections: one in the bindings (the world's imports only) and one in the
//! user's crate when the export macro runs (imports and exports). On wasm
//! every `#[link_section]` static of a linked crate ends up in the binary,
//! and wit-component unions every such section it finds: with both contracts
//! in this crate, a 0.1 generator's component would also import 0.2's
//! `types` interface (for its `request` type) and a 0.2 one 0.1's (`report`).
//! The imports-only section says nothing the export macro's section does not
//! (a generator always exports), so it is compiled out here: a 0.1
//! generator's component is byte for byte what it was before 0.2 existed.

use std::path::{Path, PathBuf};
use wit_bindgen_core::WorldGenerator;
use wit_bindgen_core::wit_parser::Resolve;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let v1 = root.join("wit/wasmpush.wit");
    let v2 = root.join("wit/v0.2");
    println!("cargo:rerun-if-changed={}", v1.display());
    println!("cargo:rerun-if-changed={}", v2.display());
    println!("cargo:rerun-if-changed={}", v2.join("wasmpush.wit").display());

    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_path(&v1).expect("wit/wasmpush.wit");
    let world = resolve.select_world(&[pkg], Some("generator")).unwrap();
    let opts = wit_bindgen_rust::Opts {
        pub_export_macro: true,
        export_macro_name: Some("__export_generator_bindings".into()),
        default_bindings_module: Some("wasmpush_guest::bindings".into()),
        ..Default::default()
    };
    generate(opts, &mut resolve, world, &out.join("bindings_v0_1.rs"));

    let mut resolve = Resolve::default();
    resolve.push_path(&v2).expect("wit/v0.2");
    let wrapper = "package wasmpush:guest-sdk;\nworld generator-v2 { include wasmpush:plugin/generator@0.2.0; }\n";
    let pkg = resolve.push_str("guest-sdk-v2.wit", wrapper).unwrap();
    let world = resolve.select_world(&[pkg], Some("generator-v2")).unwrap();
    let opts = wit_bindgen_rust::Opts {
        pub_export_macro: true,
        export_macro_name: Some("__export_generator_v2_bindings".into()),
        default_bindings_module: Some("wasmpush_guest::v2::bindings".into()),
        generate_all: true,
        ..Default::default()
    };
    generate(opts, &mut resolve, world, &out.join("bindings_v0_2.rs"));
}

fn generate(
    opts: wit_bindgen_rust::Opts,
    resolve: &mut Resolve,
    world: wit_bindgen_core::wit_parser::WorldId,
    to: &Path,
) {
    let mut files = Default::default();
    opts.build().generate(resolve, world, &mut files).unwrap();
    let (_, src) = files.iter().next().unwrap();
    let src = std::str::from_utf8(src).unwrap();
    std::fs::write(to, without_imports_only_section(src)).unwrap();
}

/// `src` with the imports-only custom section's static compiled out (its
/// `#[cfg(target_arch = "wasm32")]` made `#[cfg(any())]`); the export
/// macro's section (`...:imports and exports`) is left alone.
fn without_imports_only_section(src: &str) -> String {
    const CFG: &str = "#[cfg(target_arch = \"wasm32\")]";
    let marker = src.find(":encoded world\")]").expect("wit-bindgen no longer emits the imports-only section");
    let cfg = src[..marker].rfind(CFG).expect("the section's cfg attribute");
    assert!(!src[cfg..marker].contains(';'), "unexpected wit-bindgen output before the imports-only section");
    assert_eq!(src.matches(":encoded world\")]").count(), 1, "more than one imports-only section");
    format!("{}#[cfg(any())]{}", &src[..cfg], &src[cfg + CFG.len()..])
}
