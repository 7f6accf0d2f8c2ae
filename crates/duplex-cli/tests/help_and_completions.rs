//! Every subcommand's help ends with examples, and completion scripts exist for each shell.

mod common;

use common::{run, QUICK};

#[test]
fn every_subcommand_has_examples() {
    for command in [
        &["connect"][..],
        &["echo"],
        &["bench"],
        &["bench", "echo"],
        &["bench", "connect"],
        &["bench", "idle"],
        &["completions"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = run(&args, "", QUICK);
        assert_eq!(out.code(), 0, "{out:?}");
        assert!(
            out.stdout.contains("Examples:"),
            "{command:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell], "", QUICK);
        assert_eq!(out.code(), 0, "{out:?}");
        assert!(out.stdout.contains("ping-interval"), "{shell}");
        assert!(out.stdout.contains("source-ips"), "{shell}");
    }
    assert_eq!(run(&["completions", "tcsh"], "", QUICK).code(), 2);
}
