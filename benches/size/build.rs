//! Links with the Cortex-M4 images' nRF52840 memory map (../cm4/link.x).

fn main() {
    let cm4 = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cm4");
    println!("cargo:rerun-if-changed=../cm4/link.x");
    println!("cargo:rustc-link-search={}", cm4.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
}
