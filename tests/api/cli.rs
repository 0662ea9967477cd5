//! The command line's shape: help for every contract command, and usage for an unknown one.

use crate::helpers::{TestDb, naptrack, stderr, stdout};

#[tokio::test]
async fn help_lists_every_contract_command() {
    let db = TestDb::new().await;

    let output = naptrack(&db, &["--help"]);

    assert!(output.status.success());
    let help = stdout(&output);
    for command in [
        "serve", "import", "export", "flags", "report", "user", "audit",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[tokio::test]
async fn an_unknown_command_is_refused_with_usage() {
    let db = TestDb::new().await;

    let output = naptrack(&db, &["frobnicate"]);

    assert!(!output.status.success());
    assert!(stderr(&output).contains("Usage"), "{}", stderr(&output));
}
