//! The XLSX reader, on calamine: the first worksheet or the one named by `--sheet`; formulas
//! give their cached values; every cell is rendered as text with its kind kept (numbers as the
//! shortest round-tripping decimal, dates as ISO text, booleans as TRUE/FALSE, error values as
//! written) so the validator can refuse a date or a boolean where an amount belongs. The header
//! is the first row of the used range; line numbers are the spreadsheet's row numbers.

use std::path::Path;

use calamine::{open_workbook, Data, Range, Reader, Xlsx};

use super::batch::{Batch, CellKind};
use super::cellnum;
use super::{BatchSource, Columns, SheetError};

/// Batches of rows from one worksheet (calamine reads the worksheet whole).
pub struct XlsxSource {
    range: Range<Data>,
    columns: Columns,
    /// Index (within the range) of the next row to hand out.
    next: usize,
    /// Sheet line of the range's first row.
    first_line: u64,
    batch_rows: usize,
}

/// A cell as text and kind.
pub fn render(cell: &Data) -> (std::borrow::Cow<'_, str>, CellKind) {
    use std::borrow::Cow;
    match cell {
        Data::String(s) => (Cow::Borrowed(s.as_str()), CellKind::Text),
        Data::Empty => (Cow::Borrowed(""), CellKind::Text),
        Data::Int(i) => (Cow::Owned(i.to_string()), CellKind::Number),
        Data::Float(f) => {
            let kind = if f.fract() == 0.0 && !cellnum::is_exact_integer(*f) {
                CellKind::ImpreciseNumber
            } else {
                CellKind::Number
            };
            match cellnum::shortest_decimal(*f) {
                Some(s) => (Cow::Owned(s), kind),
                None => (Cow::Borrowed("#NUM!"), CellKind::Error),
            }
        }
        Data::Bool(b) => (
            Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
            CellKind::Bool,
        ),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            let text = if dt.is_datetime() {
                cellnum::excel_date_text(serial)
            } else {
                None
            };
            (
                Cow::Owned(text.unwrap_or_else(|| serial.to_string())),
                CellKind::Date,
            )
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => (Cow::Borrowed(s.as_str()), CellKind::Date),
        Data::Error(e) => (Cow::Owned(e.to_string()), CellKind::Error),
    }
}

impl XlsxSource {
    /// Opens the workbook and reads the chosen worksheet and its header.
    pub fn open(
        path: &Path,
        sheet_name: Option<&str>,
        batch_rows: usize,
    ) -> Result<XlsxSource, SheetError> {
        let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| match e {
            calamine::XlsxError::Io(io) => SheetError::Io(io),
            other => SheetError::Workbook(other.to_string()),
        })?;
        let names = wb.sheet_names();
        let name = match sheet_name {
            None => names.first().cloned().ok_or(SheetError::NoWorksheet)?,
            Some(want) => names
                .iter()
                .find(|n| n.as_str() == want)
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().eq_ignore_ascii_case(want.trim()))
                })
                .cloned()
                .ok_or_else(|| SheetError::UnknownWorksheet {
                    name: want.to_string(),
                    available: names.join(", "),
                })?,
        };
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| SheetError::Workbook(e.to_string()))?;
        Self::from_range(range, batch_rows)
    }

    /// Reads the header of an already loaded worksheet.
    pub fn from_range(range: Range<Data>, batch_rows: usize) -> Result<XlsxSource, SheetError> {
        let (start_row, _) = range.start().ok_or(SheetError::Empty)?;
        let mut rows = range.rows();
        let header = rows.next().ok_or(SheetError::Empty)?;
        let names: Vec<String> = header.iter().map(|c| render(c).0.into_owned()).collect();
        if names.iter().all(|n| n.trim().is_empty()) {
            return Err(SheetError::Empty);
        }
        let columns = Columns::from_header(names)?;
        Ok(XlsxSource {
            range,
            columns,
            next: 1,
            first_line: u64::from(start_row) + 1,
            batch_rows: batch_rows.max(1),
        })
    }
}

impl BatchSource for XlsxSource {
    fn columns(&self) -> &Columns {
        &self.columns
    }

    fn next_batch(&mut self) -> Result<Option<Batch>, SheetError> {
        let mut batch = Batch::new();
        let mut taken = 0;
        for (i, row) in self.range.rows().enumerate().skip(self.next) {
            taken += 1;
            let cells: Vec<_> = row.iter().map(render).collect();
            let blank = cells
                .iter()
                .all(|(t, k)| *k == CellKind::Text && t.trim().is_empty());
            if !blank {
                batch.push_row(
                    self.first_line + i as u64,
                    cells.iter().map(|(t, k)| (t.as_ref(), *k)),
                );
                if batch.len() >= self.batch_rows {
                    break;
                }
            }
        }
        self.next += taken;
        Ok(if batch.is_empty() { None } else { Some(batch) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(rows: Vec<Vec<Data>>, start_row: u32) -> Range<Data> {
        let width = rows.iter().map(Vec::len).max().unwrap_or(1) as u32;
        let mut r = Range::new(
            (start_row, 0),
            (start_row + rows.len() as u32 - 1, width - 1),
        );
        for (i, row) in rows.into_iter().enumerate() {
            for (j, c) in row.into_iter().enumerate() {
                r.set_value((start_row + i as u32, j as u32), c);
            }
        }
        r
    }

    #[test]
    fn cells_render_with_their_kind() {
        assert_eq!(render(&Data::Float(0.1 + 0.2)).0, "0.30000000000000004");
        assert_eq!(
            render(&Data::Float(100.0)),
            ("100".into(), CellKind::Number)
        );
        assert_eq!(render(&Data::Int(42)), ("42".into(), CellKind::Number));
        assert_eq!(
            render(&Data::Float(12345678901234567890.0)).1,
            CellKind::ImpreciseNumber
        );
        assert_eq!(render(&Data::Bool(true)), ("TRUE".into(), CellKind::Bool));
        assert_eq!(
            render(&Data::Error(calamine::CellErrorType::NA)),
            ("#N/A".into(), CellKind::Error)
        );
        let date = Data::DateTime(calamine::ExcelDateTime::new(
            45292.0,
            calamine::ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(render(&date), ("2024-01-01".into(), CellKind::Date));
    }

    #[test]
    fn header_is_the_first_used_row_and_lines_follow_the_sheet() {
        let r = range(
            vec![
                vec![
                    Data::String("address".into()),
                    Data::String("amount".into()),
                ],
                vec![Data::String("A".into()), Data::Float(1.5)],
                vec![Data::Empty, Data::Empty],
                vec![Data::String("B".into()), Data::Int(2)],
            ],
            2,
        );
        let mut src = XlsxSource::from_range(r, 10).unwrap();
        assert_eq!(src.columns().names, vec!["address", "amount"]);
        let b = src.next_batch().unwrap().unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.row(0).unwrap().line(), 4);
        assert_eq!(b.row(0).unwrap().bytes(1), b"1.5");
        assert_eq!(b.row(1).unwrap().line(), 6);
        assert!(src.next_batch().unwrap().is_none());
    }

    #[test]
    fn an_empty_worksheet_is_an_error() {
        assert!(matches!(
            XlsxSource::from_range(Range::empty(), 10),
            Err(SheetError::Empty)
        ));
    }
}
