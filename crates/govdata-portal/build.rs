//! Builds the portal (`portal/` at the workspace root) with npm and Vite into
//! `OUT_DIR`, and writes `assets.rs`: every built file as `include_bytes!`, so
//! the binary serves the portal with no files beside it and no internet.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let portal =
        manifest.join("../../portal").canonicalize().expect("the portal sources are at <workspace>/portal");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("portal");
    for input in ["src", "index.html", "public", "package.json", "package-lock.json", "vite.config.ts"] {
        println!("cargo:rerun-if-changed={}", portal.join(input).display());
    }

    // Two profiles may build at once (a check and a release build): npm must
    // not install into the same node_modules twice concurrently.
    let lock = File::create(portal.join(".build-lock")).expect("portal/ is writable");
    lock.lock().expect("locking portal/.build-lock");
    let installed = portal.join("node_modules/.package-lock.json");
    if is_older(&installed, &portal.join("package-lock.json")) {
        npm(&portal, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    let out_dir = out.to_str().expect("OUT_DIR is UTF-8");
    npm(
        &portal,
        &["exec", "--", "vite", "build", "--logLevel", "warn", "--emptyOutDir", "--outDir", out_dir],
    );
    drop(lock);

    let mut files = Vec::new();
    collect(&out, &out, &mut files);
    files.sort();
    let mut code = String::from("/// Every file of the built portal: URL path and contents.\npub static ASSETS: &[(&str, &[u8])] = &[\n");
    for (path, file) in files {
        code.push_str(&format!("    ({path:?}, include_bytes!({file:?})),\n"));
    }
    code.push_str("];\n");
    fs::write(out.with_file_name("assets.rs"), code).expect("writing assets.rs");
}

fn is_older(target: &Path, source: &Path) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    match (modified(target), modified(source)) {
        (Some(target), Some(source)) => target < source,
        _ => true,
    }
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status().unwrap_or_else(|error| {
        panic!("the portal is built with npm (Node.js 20 or newer), which could not be started: {error}")
    });
    assert!(status.success(), "`npm {}` in {} failed: {status}", args.join(" "), dir.display());
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("reading the built portal") {
        let path = entry.expect("reading the built portal").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let url = format!("/{}", path.strip_prefix(root).expect("under the root").to_string_lossy());
            files.push((url, path.to_string_lossy().into_owned()));
        }
    }
}
