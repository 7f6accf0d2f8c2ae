//! Replays every committed corpus file through its target's body, without libFuzzer.
//!
//! This is the cheap half of fuzzing that any machine can run with plain `cargo test`: every
//! seed, and every input the fuzzer found worth keeping, must still pass the target's
//! invariants. A crash that has been fixed moves from `artifacts/` into `corpus/` so that it
//! is replayed here from then on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

#[test]
fn every_corpus_file_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, run) in duplex_fuzz::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("readable entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds for {name}");
        for path in files {
            let data = std::fs::read(&path).expect("readable corpus file");
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{count} corpus inputs passed");
}
