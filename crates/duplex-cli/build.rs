//! Embeds the demo pages (`demo/`, served by `duplex serve --demo`) in the binary, so that the
//! demos need nothing beside it: every file under `demo/` except the vendoring tools becomes an
//! entry of `DEMO_FILES` (`$OUT_DIR/demo_files.rs`), its path relative to `demo/` with `/`
//! separators.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("pub(crate) static DEMO_FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        writeln!(out, "    ({name:?}, include_bytes!({:?})),", path.display()).unwrap();
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("demo_files.rs");
    std::fs::write(target, out).unwrap();
}

/// Every file below `folder`, skipping `tools/` (the vendoring script and its node_modules)
/// and dot files.
fn collect(root: &Path, folder: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (folder == root && name == "tools") {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).unwrap();
            let key = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((key, path));
        }
    }
}
