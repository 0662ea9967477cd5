//! Reading a CSV header and the typed cells of one row, collecting every problem.

use std::str::FromStr;

use chrono::NaiveDate;

use crate::domain::records::{RecordKind, unguard_formula};
use crate::domain::{Currency, IsoDate};
use crate::error::FieldError;
use crate::money::{Amount, Quantity, Rate};

/// The longest code or reference accepted.
pub const MAX_CODE_CHARS: usize = 100;
/// The longest text cell accepted (a title, a description, a legal basis).
pub const MAX_TEXT_CHARS: usize = 4000;

/// Where each contract column sits in the file.
pub struct Header {
    /// For each position in the file, the contract column it holds.
    columns: Vec<&'static str>,
}

/// What to say of a header that is one column holding semicolons or tabs: a file saved by a
/// spreadsheet with another separator than the comma the contract fixes.
fn other_separator(record: &csv::ByteRecord) -> Option<&'static str> {
    let only = match record.len() {
        1 => record.get(0)?,
        _ => return None,
    };
    if only.contains(&b';') {
        Some(
            "the columns are separated by semicolons, as a spreadsheet saves CSV where the \
             decimal mark is a comma; save the file as CSV with commas (in Excel: \"CSV UTF-8 \
             (Comma delimited)\") with a point as the decimal mark, and upload it again",
        )
    } else if only.contains(&b'\t') {
        Some(
            "the columns are separated by tabs; save the file as CSV with commas (in Excel: \
             \"CSV UTF-8 (Comma delimited)\") and upload it again",
        )
    } else {
        None
    }
}

impl Header {
    /// Reads and checks the header row: `Ok(None)` for an empty file, every problem at once
    /// otherwise (unknown, repeated and missing columns).
    pub fn read<R: std::io::Read>(
        kind: RecordKind,
        reader: &mut csv::Reader<R>,
    ) -> Result<Option<Header>, Vec<FieldError>> {
        let mut record = csv::ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(vec![FieldError::at_line(1, "-", csv_error_message(&e))]),
        }
        if let Some(message) = other_separator(&record) {
            return Err(vec![FieldError::at_line(1, "-", message)]);
        }
        let names = record.iter().enumerate().map(|(position, raw)| {
            // A leading byte-order mark is accepted: spreadsheet programs write one.
            let raw = if position == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            std::str::from_utf8(raw).map_err(|_| {
                FieldError::at_line(
                    1,
                    format!("column {}", position + 1),
                    "the header is not valid UTF-8 text; save the file as UTF-8",
                )
            })
        });
        Header::check(kind, names).map(Some)
    }

    /// The header of a record given as named fields, checked as a file's header is.
    pub fn of_fields<'n>(
        kind: RecordKind,
        names: impl Iterator<Item = &'n str>,
    ) -> Result<Header, Vec<FieldError>> {
        Header::check(kind, names.map(Ok))
    }

    /// Every problem of a header at once: unknown, repeated and missing columns.
    fn check<'n>(
        kind: RecordKind,
        names: impl Iterator<Item = Result<&'n str, FieldError>>,
    ) -> Result<Header, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut columns = Vec::new();
        let expected: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
        for name in names {
            let name = match name {
                Ok(name) => name,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            match kind.column(name) {
                Some(spec) if columns.contains(&spec.name) => errors.push(FieldError::at_line(
                    1,
                    name,
                    "this column appears twice in the header",
                )),
                Some(spec) => columns.push(spec.name),
                None => errors.push(FieldError::at_line(
                    1,
                    if name.is_empty() { "(empty)" } else { name },
                    format!(
                        "unknown column for {}; the columns are: {}",
                        kind.name(),
                        expected.join(", ")
                    ),
                )),
            }
        }
        for spec in kind.columns().iter().filter(|c| c.required) {
            if !columns.contains(&spec.name) {
                errors.push(FieldError::at_line(
                    1,
                    spec.name,
                    "this required column is missing",
                ));
            }
        }
        if errors.is_empty() {
            Ok(Header { columns })
        } else {
            Err(errors)
        }
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }
}

/// The longest row accepted, in bytes. A row of the contract's files takes a few kilobytes at
/// most (its longest cells are texts of 4,000 characters); a longer one is a file of another
/// kind or a hostile one, and is refused before it is held in memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// Reads a CSV byte stream with every line end (CRLF, or a lone CR as old Mac tools write)
/// turned into LF, and fails with [`RowTooLong`] as soon as one row exceeds [`MAX_ROW_BYTES`].
///
/// The csv crate counts lines by LF and counts a CRLF row's line from the CR, so rows of a
/// Windows or old Mac file would be reported at the wrong lines; with LF alone the line
/// numbers are exact. A line end inside a quoted cell becomes LF too, which is how the cell is
/// then stored, so the stored text is the same after an export and a new import.
///
/// Rows are told apart as the csv crate does (a line end outside double quotes ends a row; a
/// doubled quote inside a quoted cell toggles twice), so the bound applies to whole rows,
/// quoted line breaks included, and the csv reader never buffers more than one bound's worth.
pub struct CrlfToLf<R> {
    inner: R,
    input: Vec<u8>,
    output: Vec<u8>,
    /// How much of `output` has been handed out.
    position: usize,
    /// Whether the last byte read was a CR, whose LF (if it comes next) is dropped.
    pending_cr: bool,
    finished: bool,
    /// Whether the last byte read is inside a quoted cell.
    in_quotes: bool,
    /// The bytes of the current row so far.
    row_bytes: usize,
    /// The line (from 1) where the current row starts, and the line being read.
    row_line: u64,
    line: u64,
    /// Set once a row was refused: the rest is read through unchecked (for the file's digest).
    refused: bool,
}

/// The error of a row longer than [`MAX_ROW_BYTES`], carried through the csv reader's I/O
/// error.
#[derive(Debug)]
pub struct RowTooLong {
    pub line: u64,
}

impl std::fmt::Display for RowTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the row that starts here is longer than {} MiB, far longer than any row of the \
             contract's files; check that this is the right file (a quote left open makes the \
             rest of the file one cell)",
            MAX_ROW_BYTES >> 20
        )
    }
}

impl std::error::Error for RowTooLong {}

impl<R: std::io::Read> CrlfToLf<R> {
    pub fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            input: vec![0; 1 << 16],
            output: Vec::with_capacity(1 << 16),
            position: 0,
            pending_cr: false,
            finished: false,
            in_quotes: false,
            row_bytes: 0,
            row_line: 1,
            line: 1,
            refused: false,
        }
    }

    /// Reads the next chunk of input into `output`, converted.
    fn refill(&mut self) -> std::io::Result<()> {
        self.output.clear();
        self.position = 0;
        let read = self.inner.read(&mut self.input)?;
        if read == 0 {
            self.finished = true;
            self.pending_cr = false;
            return Ok(());
        }
        for &byte in &self.input[..read] {
            // A CR is written as LF at once; an LF right after a CR is then the same line end.
            let after_cr = std::mem::take(&mut self.pending_cr);
            let byte = match byte {
                b'\r' => {
                    self.pending_cr = true;
                    b'\n'
                }
                b'\n' if after_cr => continue,
                _ => byte,
            };
            self.output.push(byte);
            self.row_bytes += 1;
            match byte {
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' => {
                    self.line += 1;
                    if !self.in_quotes {
                        self.row_bytes = 0;
                        self.row_line = self.line;
                    }
                }
                _ => {}
            }
            if self.row_bytes > MAX_ROW_BYTES && !self.refused {
                self.refused = true;
                self.output.clear();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    RowTooLong {
                        line: self.row_line,
                    },
                ));
            }
        }
        Ok(())
    }
}

impl<R: std::io::Read> std::io::Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.output.len() {
            if self.finished {
                return Ok(0);
            }
            self.refill()?;
        }
        let count = out.len().min(self.output.len() - self.position);
        out[..count].copy_from_slice(&self.output[self.position..self.position + count]);
        self.position += count;
        Ok(count)
    }
}

/// A clerk-readable sentence for a CSV reading error.
pub fn csv_error_message(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Io(e) if row_too_long(error).is_some() => e.to_string(),
        csv::ErrorKind::Io(e) => format!("the file could not be read: {e}"),
        _ => format!("the file is not valid CSV: {error}"),
    }
}

/// The row that was too long, when that is what stopped the reader.
pub fn row_too_long(error: &csv::Error) -> Option<&RowTooLong> {
    match error.kind() {
        csv::ErrorKind::Io(e) => e.get_ref()?.downcast_ref::<RowTooLong>(),
        _ => None,
    }
}

/// The value of one named field of a record written alone: text as a user typed it, or a
/// value its caller has already parsed (a reversal's amount and date), which is taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Amount(Amount),
    Date(NaiveDate),
}

impl From<String> for FieldValue {
    /// A CRLF line end becomes LF, as it does in a file (see [`CrlfToLf`]). A lone CR is kept
    /// as it came: a JSON text or a form field has no line ends of its own to be read as, so
    /// [`Cells`] refuses it instead of guessing that it meant a line break.
    fn from(text: String) -> Self {
        if text.contains("\r\n") {
            FieldValue::Text(text.replace("\r\n", "\n"))
        } else {
            FieldValue::Text(text)
        }
    }
}

impl From<Amount> for FieldValue {
    fn from(amount: Amount) -> Self {
        FieldValue::Amount(amount)
    }
}

impl From<NaiveDate> for FieldValue {
    fn from(date: NaiveDate) -> Self {
        FieldValue::Date(date)
    }
}

impl FieldValue {
    /// The value as the text of a cell, for finding the record it names.
    pub fn to_text(&self) -> String {
        match self {
            FieldValue::Text(text) => text.clone(),
            FieldValue::Amount(amount) => amount.to_string(),
            FieldValue::Date(date) => date.format("%Y-%m-%d").to_string(),
        }
    }
}

/// Where the cells of a row come from: a record of a CSV file, or the named fields of a record
/// written alone (in the order of its [`Header`]).
#[derive(Clone, Copy)]
pub enum RowValues<'a> {
    Csv(&'a csv::ByteRecord),
    Fields(&'a [FieldValue]),
}

/// The cells of one row, read by contract column name. Each accessor records a problem in
/// `errors` and returns `None` when a cell is missing or malformed, so one pass finds every
/// problem of the row.
pub struct Cells<'a> {
    header: &'a Header,
    values: RowValues<'a>,
    pub line: u64,
    pub errors: Vec<FieldError>,
}

impl<'a> Cells<'a> {
    pub fn new(header: &'a Header, values: RowValues<'a>, line: u64) -> Self {
        Cells {
            header,
            values,
            line,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, column: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::at_line(self.line, column, message));
    }

    /// The raw text of `column`; `None` when the column is absent or the cell empty.
    fn raw(&mut self, column: &str) -> Option<&'a str> {
        let position = self.header.columns.iter().position(|c| *c == column)?;
        let bytes = match self.values {
            RowValues::Csv(record) => record.get(position)?,
            RowValues::Fields(fields) => match fields.get(position)? {
                FieldValue::Text(text) if text.contains('\r') => {
                    self.error(
                        column,
                        "this field contains a carriage return (CR) that does not end a line; \
                         write line breaks as LF or CRLF",
                    );
                    return None;
                }
                FieldValue::Text(text) => text.as_bytes(),
                FieldValue::Amount(_) | FieldValue::Date(_) => {
                    self.error(column, "this field takes text");
                    return None;
                }
            },
        };
        if bytes.is_empty() {
            return None;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                self.error(
                    column,
                    "this cell is not valid UTF-8 text; save the file as UTF-8",
                );
                None
            }
        }
    }

    /// The value of `column` when its caller gave it already parsed.
    fn parsed(&self, column: &str) -> Option<&'a FieldValue> {
        let RowValues::Fields(fields) = self.values else {
            return None;
        };
        let position = self.header.columns.iter().position(|c| *c == column)?;
        fields
            .get(position)
            .filter(|value| !matches!(value, FieldValue::Text(_)))
    }

    /// The raw text of a required column (the header check guarantees the column); an empty
    /// cell is an error, unless the cell already has one (invalid UTF-8).
    fn required_raw(&mut self, column: &str) -> Option<&'a str> {
        let value = self.raw(column);
        if value.is_none() && !self.errors.iter().any(|e| e.column == column) {
            self.error(column, "a value is required");
        }
        value
    }

    /// A code or reference: case-sensitive, without surrounding spaces or control characters.
    pub fn code(&mut self, column: &str) -> Option<String> {
        let text = self.required_raw(column)?;
        self.check_code(column, text)
    }

    pub fn optional_code(&mut self, column: &str) -> Option<String> {
        let text = self.raw(column)?;
        self.check_code(column, text)
    }

    fn check_code(&mut self, column: &str, text: &str) -> Option<String> {
        let text = unguard_formula(text);
        if text.trim() != text {
            self.error(
                column,
                format!("\"{text}\" begins or ends with spaces; codes are exact"),
            );
            None
        } else if text.chars().any(char::is_control) {
            self.error(
                column,
                "a code cannot contain control characters or line breaks",
            );
            None
        } else if text.chars().count() > MAX_CODE_CHARS {
            self.error(
                column,
                format!("a code has at most {MAX_CODE_CHARS} characters"),
            );
            None
        } else if text.is_empty() {
            self.error(column, "a value is required");
            None
        } else {
            Some(text.to_owned())
        }
    }

    /// Free text (a name, a title, a description).
    pub fn text(&mut self, column: &str) -> Option<String> {
        let text = self.required_raw(column)?;
        self.check_text(column, text)
    }

    pub fn optional_text(&mut self, column: &str) -> Option<String> {
        let text = self.raw(column)?;
        self.check_text(column, text)
    }

    fn check_text(&mut self, column: &str, text: &str) -> Option<String> {
        let text = unguard_formula(text);

        if text.chars().count() > MAX_TEXT_CHARS {
            self.error(
                column,
                format!("the text is longer than {MAX_TEXT_CHARS} characters"),
            );
            return None;
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.error(column, "the text contains control characters");
            return None;
        }
        Some(text.to_owned())
    }

    pub fn date(&mut self, column: &str) -> Option<NaiveDate> {
        if let Some(FieldValue::Date(date)) = self.parsed(column) {
            return Some(*date);
        }
        let text = self.required_raw(column)?;
        self.parse_date(column, text)
    }

    pub fn optional_date(&mut self, column: &str) -> Option<Option<NaiveDate>> {
        if let Some(FieldValue::Date(date)) = self.parsed(column) {
            return Some(Some(*date));
        }
        match self.raw(column) {
            None => Some(None),
            Some(text) => self.parse_date(column, text).map(Some),
        }
    }

    fn parse_date(&mut self, column: &str, text: &str) -> Option<NaiveDate> {
        match IsoDate::parse(text) {
            Ok(date) => Some(date.into()),
            Err(e) => {
                self.error(column, e.to_string());
                None
            }
        }
    }

    pub fn amount(&mut self, column: &str) -> Option<Amount> {
        if let Some(FieldValue::Amount(amount)) = self.parsed(column) {
            return Some(*amount);
        }
        let text = self.required_raw(column)?;
        self.parse_amount(column, text)
    }

    pub fn optional_amount(&mut self, column: &str) -> Option<Option<Amount>> {
        if let Some(FieldValue::Amount(amount)) = self.parsed(column) {
            return Some(Some(*amount));
        }
        match self.raw(column) {
            None => Some(None),
            Some(text) => self.parse_amount(column, text).map(Some),
        }
    }

    fn parse_amount(&mut self, column: &str, text: &str) -> Option<Amount> {
        match Amount::parse(text) {
            Ok(amount) => Some(amount),
            Err(e) => {
                self.error(column, e.to_string());
                None
            }
        }
    }

    /// An optional exact quantity (an indicator's baseline, target or actual): the amounts'
    /// grammar, never rounded. A value given already parsed as an amount is taken as it is.
    pub fn optional_quantity(&mut self, column: &str) -> Option<Option<Quantity>> {
        if let Some(FieldValue::Amount(amount)) = self.parsed(column) {
            return Some(Some(Quantity::from_units(amount.units())));
        }
        match self.raw(column) {
            None => Some(None),
            Some(text) => match Quantity::parse(text) {
                Ok(quantity) => Some(Some(quantity)),
                Err(e) => {
                    self.error(column, e.to_string());
                    None
                }
            },
        }
    }

    pub fn rate(&mut self, column: &str) -> Option<Rate> {
        let text = self.required_raw(column)?;
        match Rate::parse(text) {
            Ok(rate) => Some(rate),
            Err(e) => {
                self.error(column, e.to_string());
                None
            }
        }
    }

    pub fn currency(&mut self, column: &str) -> Option<Currency> {
        let text = self.required_raw(column)?;
        self.parse_word(column, text)
    }

    pub fn optional_currency(&mut self, column: &str) -> Option<Option<Currency>> {
        match self.raw(column) {
            None => Some(None),
            Some(text) => self.parse_word(column, text).map(Some),
        }
    }

    /// A word of a closed vocabulary (or any type parsed from its exact text).
    pub fn word<T>(&mut self, column: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let text = self.required_raw(column)?;
        self.parse_word(column, text)
    }

    fn parse_word<T>(&mut self, column: &str, text: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match text.parse() {
            Ok(value) => Some(value),
            Err(e) => {
                self.error(column, e.to_string());
                None
            }
        }
    }

    /// A yes-or-no value, written exactly `true` or `false`.
    pub fn boolean(&mut self, column: &str) -> Option<bool> {
        match self.required_raw(column)? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.error(
                    column,
                    format!("\"{other}\" is not a yes-or-no value; write true or false"),
                );
                None
            }
        }
    }

    /// An optional whole number within `range`.
    pub fn optional_integer(
        &mut self,
        column: &str,
        range: std::ops::RangeInclusive<i32>,
    ) -> Option<Option<i32>> {
        match self.raw(column) {
            None => Some(None),
            Some(text) => self.parse_integer(column, text, range).map(Some),
        }
    }

    /// A whole number within `range`.
    pub fn integer(&mut self, column: &str, range: std::ops::RangeInclusive<i32>) -> Option<i32> {
        let text = self.required_raw(column)?;
        self.parse_integer(column, text, range)
    }

    fn parse_integer(
        &mut self,
        column: &str,
        text: &str,
        range: std::ops::RangeInclusive<i32>,
    ) -> Option<i32> {
        let value = text
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse::<i32>().ok())
            .flatten();
        match value {
            Some(value) if range.contains(&value) => Some(value),
            _ => {
                self.error(
                    column,
                    format!(
                        "\"{text}\" is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// The two-letter ISO 3166-1 alpha-2 country code.
    pub fn country(&mut self, column: &str) -> Option<String> {
        let text = self.required_raw(column)?;
        if text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(text.to_owned())
        } else {
            self.error(
                column,
                format!("\"{text}\" is not an ISO 3166-1 alpha-2 country code (two capital letters, such as XK or MD)"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: RecordKind, line: &str) -> Result<Option<Header>, Vec<FieldError>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        Header::read(kind, &mut reader)
    }

    #[test]
    fn a_header_in_any_order_is_accepted() {
        let read = header(RecordKind::Institutions, "name,code,kind");
        assert!(matches!(read, Ok(Some(h)) if h.len() == 3));
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_all_reported() {
        let errors = header(RecordKind::Institutions, "code,code,colour")
            .err()
            .unwrap_or_default();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["code", "colour", "name", "kind"]);
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_ignored() {
        let read = header(RecordKind::Institutions, "\u{feff}code,name,kind");
        assert!(matches!(read, Ok(Some(_))));
    }

    #[test]
    fn a_header_separated_by_semicolons_or_tabs_is_named_as_such() {
        for (text, words) in [
            ("\u{feff}code;name;kind", "separated by semicolons"),
            ("code\tname\tkind", "separated by tabs"),
        ] {
            let errors = header(RecordKind::Institutions, text)
                .err()
                .unwrap_or_default();
            assert!(
                errors.first().is_some_and(|e| e.message.contains(words)),
                "{text}"
            );
        }
    }

    #[test]
    fn every_line_end_becomes_lf() {
        use std::io::Read;
        for chunk in [0, 1, 2, 3, 7, 64] {
            let input: &[u8] = b"a,b\r\n\"x\r\ny\",z\r\nlone\rcr\r";
            let mut reader = CrlfToLf::new(input);
            let mut output = Vec::new();
            let mut buffer = vec![0; chunk + 1];
            loop {
                let n = reader.read(&mut buffer).unwrap_or(0);
                if n == 0 {
                    break;
                }
                output.extend_from_slice(&buffer[..n]);
            }
            assert_eq!(output, b"a,b\n\"x\ny\",z\nlone\ncr\n", "chunk {chunk}");
        }
    }

    #[test]
    fn a_row_longer_than_the_bound_is_refused_where_it_starts() {
        use std::io::Read;
        let long_cell = "x".repeat(MAX_ROW_BYTES);
        // Quoted line breaks belong to their row: the long row starts on line 5.
        let input = format!("a,b\n\"1\r\n2\",3\n\"\"\"q\"\"\",4\n5,\"{long_cell}\"\n");
        let mut output = Vec::new();
        let error = CrlfToLf::new(input.as_bytes())
            .read_to_end(&mut output)
            .err()
            .and_then(|e| e.into_inner())
            .and_then(|e| e.downcast::<RowTooLong>().ok());
        assert_eq!(error.map(|e| e.line), Some(5));
        assert!(output.len() <= MAX_ROW_BYTES + (1 << 17));

        let fits = format!("a\n\"{}\"\nb\n", "x".repeat(MAX_ROW_BYTES - 3));
        let mut output = Vec::new();
        assert!(
            CrlfToLf::new(fits.as_bytes())
                .read_to_end(&mut output)
                .is_ok()
        );
    }

    #[test]
    fn an_empty_file_has_no_header() {
        assert!(matches!(header(RecordKind::Institutions, ""), Ok(None)));
    }
}
