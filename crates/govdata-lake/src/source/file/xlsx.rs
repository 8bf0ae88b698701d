//! Excel workbooks (xlsx). calamine holds the workbook's shared-string table
//! in memory; the sheet itself is read cell by cell, not as a whole range.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, Xlsx, XlsxError};
use deltalake::arrow::datatypes::SchemaRef;

use super::open_file;
use super::text::{column_names, text_schema, BatchSink, TextBatchBuilder};
use crate::{LakeError, RejectSink};

type Workbook = Xlsx<BufReader<File>>;

/// A workbook opened on one sheet whose header row is known.
pub(super) struct XlsxFile {
    workbook: Workbook,
    sheet: String,
    /// 0-based sheet row of the header: the first row with a value.
    header_row: u32,
    /// 0-based sheet column of the first column.
    first_column: u32,
    names: Vec<String>,
    schema: SchemaRef,
}

impl XlsxFile {
    pub(super) fn open(path: &Path, sheet: Option<&str>) -> Result<Self, LakeError> {
        let mut workbook = Workbook::new(BufReader::new(open_file(path)?)).map_err(workbook_error)?;
        let sheet = match sheet {
            Some(name) => {
                let names = workbook.sheet_names();
                if !names.iter().any(|candidate| candidate == name) {
                    return Err(LakeError::invalid(
                        "format.sheet",
                        format!("the workbook has no sheet named {name:?}; its sheets: {}", names.join(", ")),
                    ));
                }
                name.to_owned()
            }
            None => workbook
                .sheets_metadata()
                .iter()
                .find(|sheet| sheet.typ == SheetType::WorkSheet)
                .map(|sheet| sheet.name.clone())
                .ok_or_else(|| LakeError::invalid("format", "the workbook has no worksheet"))?,
        };

        let mut header: Option<(u32, Vec<(u32, String)>)> = None;
        let mut cells = workbook.worksheet_cells_reader(&sheet).map_err(sheet_error)?;
        while let Some(cell) = cells.next_cell().map_err(workbook_error)? {
            let (row, column) = cell.get_position();
            // A header cell holding an Excel error gives an unnamed column.
            let Some(text) = cell_text(cell.get_value()).ok().flatten() else { continue };
            match &mut header {
                None => header = Some((row, vec![(column, text)])),
                Some((header_row, cells)) if *header_row == row => cells.push((column, text)),
                Some(_) => break,
            }
        }
        drop(cells);
        let Some((header_row, header)) = header else {
            return Err(LakeError::invalid("format.sheet", format!("sheet {sheet:?} is empty")));
        };
        let first_column = header.iter().map(|(column, _)| *column).min().unwrap_or_default();
        let last_column = header.iter().map(|(column, _)| *column).max().unwrap_or_default();
        let mut raw = vec![String::new(); (last_column - first_column + 1) as usize];
        for (column, text) in header {
            raw[(column - first_column) as usize] = text;
        }
        let names = column_names(&raw);
        let schema = text_schema(&names);
        Ok(XlsxFile { workbook, sheet, header_row, first_column, names, schema })
    }

    pub(super) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows are numbered from the header: the row right under it is 1, and
    /// blank rows are skipped but keep their numbers, so that a provider finds
    /// row N at sheet row N + header row.
    pub(super) fn read(
        mut self,
        batch_size: usize,
        rejects: &RejectSink,
        sink: &BatchSink,
    ) -> Result<(), LakeError> {
        let mut batch = TextBatchBuilder::new(self.schema.clone(), batch_size);
        let mut cells = self.workbook.worksheet_cells_reader(&self.sheet).map_err(sheet_error)?;
        let mut pending: Option<PendingRow> = None;
        while let Some(cell) = cells.next_cell().map_err(workbook_error)? {
            let (row, column) = cell.get_position();
            if row <= self.header_row {
                continue;
            }
            if let Some(done) = pending.take_if(|pending| pending.row != row) {
                done.finish(self.header_row, &self.names, &mut batch, rejects);
                if !sink.flush(&mut batch, false)? {
                    return Ok(());
                }
            }
            let pending = pending.get_or_insert_with(|| PendingRow::new(row, self.names.len()));
            pending.put(column.checked_sub(self.first_column), column, cell.get_value(), &self.names);
        }
        if let Some(done) = pending {
            done.finish(self.header_row, &self.names, &mut batch, rejects);
        }
        sink.flush(&mut batch, true)?;
        Ok(())
    }
}

/// The cells of the sheet row being read.
struct PendingRow {
    row: u32,
    cells: Vec<Option<String>>,
    /// Why the row is rejected (the first problem found), and in which column.
    problem: Option<(Option<String>, String)>,
}

impl PendingRow {
    fn new(row: u32, width: usize) -> Self {
        PendingRow { row, cells: vec![None; width], problem: None }
    }

    /// `index` is the cell's position among the columns, if right of the first.
    fn put(&mut self, index: Option<u32>, column: u32, value: &DataRef, names: &[String]) {
        let name = index.and_then(|index| names.get(index as usize));
        match (cell_text(value), name) {
            (Ok(None), _) => {}
            (Ok(Some(text)), Some(_)) => {
                if let Some(cell) = index.and_then(|index| self.cells.get_mut(index as usize)) {
                    *cell = Some(text);
                }
            }
            (Ok(Some(_)), None) => {
                let reason = format!("a value in column {} which has no header", column_letters(column));
                self.problem.get_or_insert((None, reason));
            }
            (Err(reason), name) => {
                self.problem.get_or_insert((name.cloned(), reason));
            }
        }
    }

    fn finish(self, header_row: u32, names: &[String], batch: &mut TextBatchBuilder, rejects: &RejectSink) {
        debug_assert_eq!(self.cells.len(), names.len());
        let row = u64::from(self.row - header_row);
        match self.problem {
            Some((column, reason)) => rejects.reject(row, column.as_deref(), reason),
            None if self.cells.iter().all(Option::is_none) => {}
            None => batch.append(row, self.cells),
        }
    }
}

/// A cell's text, None when empty; an Excel error value is a reason to reject.
fn cell_text(value: &DataRef) -> Result<Option<String>, String> {
    Ok(match value {
        DataRef::Empty => None,
        DataRef::String(text) => (!text.is_empty()).then(|| text.clone()),
        DataRef::SharedString(text) => (!text.is_empty()).then(|| (*text).to_owned()),
        DataRef::Int(value) => Some(value.to_string()),
        // Excel stores every number as a float; Display gives "3" for 3.0.
        DataRef::Float(value) => Some(value.to_string()),
        DataRef::Bool(value) => Some(value.to_string()),
        DataRef::DateTime(value) => Some(datetime_text(value)),
        DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => Some(text.clone()),
        DataRef::Error(error) => return Err(format!("the cell holds the Excel error {error}")),
    })
}

/// ISO 8601 text for a date-formatted cell: `2024-03-01`, `2024-03-01 08:30:00`,
/// `08:30:00` for a time of day, and `[h]:mm:ss` for a duration.
fn datetime_text(value: &ExcelDateTime) -> String {
    if value.is_duration() {
        let seconds = (value.as_f64() * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let seconds = seconds.unsigned_abs();
        return format!("{sign}{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }
    let (year, month, day, hour, minute, second, milli) = value.to_ymd_hms_milli();
    let time = if milli > 0 {
        format!("{hour:02}:{minute:02}:{second:02}.{milli:03}")
    } else {
        format!("{hour:02}:{minute:02}:{second:02}")
    };
    if (0.0..1.0).contains(&value.as_f64()) {
        time
    } else if (hour, minute, second, milli) == (0, 0, 0, 0) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02} {time}")
    }
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column.
fn column_letters(column: u32) -> String {
    let mut letters = Vec::new();
    let mut rest = column + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + digit as u8));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

fn workbook_error(error: XlsxError) -> LakeError {
    match error {
        XlsxError::Io(error) => LakeError::Io(error),
        XlsxError::Zip(_) => {
            LakeError::invalid("format", "not an xlsx workbook: the file is not a zip archive")
        }
        XlsxError::Password => LakeError::invalid("format", "the workbook is password-protected"),
        error => LakeError::invalid("format", format!("unreadable xlsx workbook: {error}")),
    }
}

fn sheet_error(error: XlsxError) -> LakeError {
    match error {
        XlsxError::NotAWorksheet(kind) => {
            LakeError::invalid("format.sheet", format!("the sheet is not a worksheet but a {kind}"))
        }
        error => workbook_error(error),
    }
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType;

    use super::*;

    #[test]
    fn names_columns_like_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn writes_dates_as_iso_text() {
        let at = |value| datetime_text(&ExcelDateTime::new(value, ExcelDateTimeType::DateTime, false));
        assert_eq!(at(45352.0), "2024-03-01");
        assert_eq!(at(45352.5), "2024-03-01 12:00:00");
        assert_eq!(at(0.25), "06:00:00");
        let duration = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(datetime_text(&duration), "36:00:00");
    }
}
