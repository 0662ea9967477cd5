//! Hostile files: a 100 MB cell, a quote left open, rows of quotes, control characters,
//! invalid UTF-8 and huge numbers. Each gets errors that name the line and the column, the
//! importer's memory stays bounded, and nothing stored changes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::{TestDb, export_everything, import_samples_into, stderr, write_file};

const HEADER: &str = "reference,budget_line_code,date,amount,currency,description\n";
const ROW: &str = "H-1,BL-2015-001,2015-02-01,1.00,EUR";

/// Runs `naptrack import disbursements FILE` on `db` and returns its output with the highest
/// resident memory seen while it ran (VmHWM, the kernel's own high-water mark), in bytes.
fn import_watching_memory(db: &TestDb, file: &Path) -> (Output, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_naptrack"))
        .args(["import", "disbursements"])
        .arg(file)
        .current_dir(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("ROCKET_PROFILE", "release")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the naptrack binary runs");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().expect("the child is watched").is_none() {
        if let Some(kb) = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = peak.max(kb * 1024);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().expect("the output"), peak)
}

/// A test database holding the sample plan, and the export of everything in it.
async fn samples() -> (TestDb, String) {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let before = export_everything(&db).await;
    (test_db, before)
}

async fn assert_unchanged(test_db: &TestDb, before: &str) {
    let db = test_db.connect().await;
    assert!(
        export_everything(&db).await == before,
        "the import changed what was stored"
    );
}

#[tokio::test]
async fn a_cell_of_100_mb_is_refused_at_its_line_within_bounded_memory() {
    let (test_db, before) = samples().await;
    let path = test_db.dir.path().join("huge-cell.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(
        file,
        "{HEADER}{ROW},ok\nH-2,BL-2015-001,2015-02-01,1.00,EUR,\""
    )
    .unwrap();
    let block = vec![b'a'; 1 << 20];
    for _ in 0..100 {
        file.write_all(&block).unwrap();
    }
    file.write_all(b"\"\n").unwrap();
    drop(file);

    let (output, peak) = import_watching_memory(&test_db, &path);

    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("huge-cell.csv:3: -: the row that starts here is longer than 1 MiB"),
        "{err}"
    );
    assert!(
        err.len() < 2_000,
        "the error quotes the cell: {} bytes",
        err.len()
    );
    assert!(peak < 64 << 20, "peak memory {} MiB", peak >> 20);
    assert_unchanged(&test_db, &before).await;
}

#[tokio::test]
async fn a_quote_left_open_does_not_swallow_the_file() {
    let (test_db, before) = samples().await;
    let mut text = format!("{HEADER}{ROW},\"never closed\n");
    for i in 0..40_000 {
        text.push_str(&format!("H-{i},BL-2015-001,2015-02-01,1.00,EUR,row {i}\n"));
    }
    let path = write_file(&test_db, "open-quote.csv", text);

    let (output, peak) = import_watching_memory(&test_db, &path);

    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("open-quote.csv:2: -: the row that starts here is longer"),
        "{err}"
    );
    assert!(err.contains("a quote left open"), "{err}");
    assert!(peak < 64 << 20, "peak memory {} MiB", peak >> 20);
    assert_unchanged(&test_db, &before).await;
}

#[tokio::test]
async fn rows_of_quotes_are_read_as_csv_reads_them() {
    let (test_db, before) = samples().await;
    // 3,000 escaped quotes make a text of 3,000 quotes; 100,000 make one longer than any text
    // column takes.
    let escaped = "\"\"".repeat(3000);
    let deep = "\"\"".repeat(100_000);
    let text =
        format!("{HEADER}{ROW},\"{escaped}\"\nH-2,BL-2015-001,2015-02-01,1.00,EUR,\"{deep}\"\n");
    let path = write_file(&test_db, "quotes.csv", text);

    let (output, _) = import_watching_memory(&test_db, &path);

    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("quotes.csv:3: description: the text is longer than 4000 characters"),
        "{err}"
    );
    assert!(
        err.contains("1 error was found; nothing was imported"),
        "{err}"
    );
    assert_unchanged(&test_db, &before).await;

    let path = write_file(
        &test_db,
        "quotes-ok.csv",
        format!("{HEADER}{ROW},\"{escaped}\"\n"),
    );
    let (output, _) = import_watching_memory(&test_db, &path);
    assert!(output.status.success(), "{}", stderr(&output));
    let db = test_db.connect().await;
    assert!(export_everything(&db).await.contains(&escaped));
}

#[tokio::test]
async fn control_characters_invalid_utf8_and_huge_numbers_are_named_cell_by_cell() {
    let (test_db, before) = samples().await;
    let mut bytes = HEADER.as_bytes().to_vec();
    let rows: [&[u8]; 9] = [
        b"H-\x01,BL-2015-001,2015-02-01,1.00,EUR,x\n",
        b"H-2,BL-2015-001,2015-02-01,1.00,EUR,bell\x07 and \x1b[31m escape\n",
        b"H-3,BL-2015-001,2015-02-01,1.00,EUR,nul\x00\n",
        b"H-4,BL-2015-001,2015-02-01,1.00,EUR,caf\xe9\n",
        b"H-\xff,BL-2015-001,2015-02-01,1.00,EUR,x\n",
        b"H-6,BL-2015-001,2015-02-01,1e308,EUR,x\n",
        b"H-7,BL-2015-001,2015-02-01,92233720368547758.07,EUR,x\n",
        b"H-8,BL-2015-001,2015-02-01,0.000000000000000000000000000001,EUR,x\n",
        b"H-9,BL-2015-001,99999-02-01,1.00,EUR,x\n",
    ];
    for row in rows {
        bytes.extend_from_slice(row);
    }
    let huge = "9".repeat(200_000);
    bytes.extend_from_slice(format!("H-10,BL-2015-001,2015-02-01,{huge},EUR,x\n").as_bytes());
    let path = write_file(&test_db, "hostile.csv", bytes);

    let (output, _) = import_watching_memory(&test_db, &path);

    assert!(!output.status.success());
    let err = stderr(&output);
    for expected in [
        "hostile.csv:2: reference: a code cannot contain control characters",
        "hostile.csv:3: description: the text contains control characters",
        "hostile.csv:4: description: the text contains control characters",
        "hostile.csv:5: description: this cell is not valid UTF-8 text",
        "hostile.csv:6: reference: this cell is not valid UTF-8 text",
        "hostile.csv:7: amount: \"1e308\" is not a plain decimal number",
        "hostile.csv:8: amount: \"92233720368547758.07\" has 17 integer digits; at most 14",
        "hostile.csv:9: amount: \"0.000000000000000000000000000001\" has 30 fraction digits",
        "hostile.csv:10: date: \"99999-02-01\" is not a date",
        "has 200000 integer digits; at most 14 are allowed",
        "10 errors were found; nothing was imported",
    ] {
        assert!(err.contains(expected), "{expected} missing from:\n{err}");
    }
    assert!(
        err.len() < 8_000,
        "the errors quote whole cells: {} bytes",
        err.len()
    );
    assert_unchanged(&test_db, &before).await;
}
