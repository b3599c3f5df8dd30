//! The XLSX reader, on calamine: the first *visible* worksheet or the one named by `--sheet`
//! (docs/design.md, "The sheet"), its name kept so every command can say which it read; hidden
//! rows and merged ranges over payout columns become row notes (errors) and a hidden payout
//! column a whole-file error, unless `--include-hidden` (`layout.rs` reads them); formulas
//! give their cached values; every cell is rendered as text with its kind kept (numbers as the
//! shortest round-tripping decimal, dates as ISO text, booleans as TRUE/FALSE, error values as
//! written) so the validator can refuse a date or a boolean where an amount belongs. The header
//! is the first row of the used range; line numbers are the spreadsheet's row numbers.

use std::path::Path;

use calamine::{open_workbook, Data, Range, Reader, Xlsx};

use super::batch::{Batch, CellKind, RowNote};
use super::cellnum;
use super::layout::{self, column_letters, Layout};
use super::{BatchSource, Columns, Field, SheetError};

/// Batches of rows from one worksheet (calamine reads the worksheet whole).
pub struct XlsxSource {
    range: Range<Data>,
    /// The worksheet's name (empty when built from a bare range).
    worksheet: String,
    /// Hidden rows and merged ranges over payout columns, by absolute position.
    layout: Layout,
    /// Absolute column index of each payout column (for the merged-range check).
    payout_columns: Vec<(usize, u32)>,
    include_hidden: bool,
    /// Absolute row of the range's first row.
    start_row: u32,
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
    /// The first visible worksheet is the default (a hidden first sheet is last month's, not
    /// the one approved); `--sheet` may name any, hidden ones included.
    pub fn open(
        path: &Path,
        sheet_name: Option<&str>,
        include_hidden: bool,
        batch_rows: usize,
    ) -> Result<XlsxSource, SheetError> {
        let mut wb: Xlsx<_> = open_workbook(path).map_err(|e| match e {
            calamine::XlsxError::Io(io) => SheetError::Io(io),
            other => SheetError::Workbook(other.to_string()),
        })?;
        let names = wb.sheet_names();
        let name = match sheet_name {
            None => {
                let meta = wb.sheets_metadata();
                if meta.is_empty() {
                    return Err(SheetError::NoWorksheet);
                }
                meta.iter()
                    .find(|s| {
                        s.visible == calamine::SheetVisible::Visible
                            && s.typ == calamine::SheetType::WorkSheet
                    })
                    .map(|s| s.name.clone())
                    .ok_or_else(|| SheetError::NoVisibleWorksheet {
                        available: names.join(", "),
                    })?
            }
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
        // The layout (hidden rows and columns, merged ranges: a second, streaming read of the
        // worksheet's XML) is read on its own thread while calamine reads the cells: one after
        // the other they took 1.5× calamine's read alone, side by side about as long as it.
        let (range, layout) = std::thread::scope(|scope| {
            let layout = scope.spawn(|| layout::read(path, &name));
            let range = wb
                .worksheet_range(&name)
                .map_err(|e| SheetError::Workbook(e.to_string()));
            let layout = layout
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (range, layout)
        });
        let range = range?;
        drop(wb);
        let layout = layout?;
        let mut src = Self::from_range(range, batch_rows)?;
        src.worksheet = name;
        src.include_hidden = include_hidden;
        src.apply_layout(layout)?;
        Ok(src)
    }

    /// Keeps what the layout says about the payout columns: a hidden payout column is an
    /// error (unless `--include-hidden`); merged ranges are kept when they touch one.
    fn apply_layout(&mut self, mut layout: Layout) -> Result<(), SheetError> {
        let start_col = self.range.start().map_or(0, |s| s.1);
        self.payout_columns = Field::ALL
            .iter()
            .filter_map(|f| self.columns.get(*f))
            .map(|i| (i, start_col + i as u32))
            .collect();
        if !self.include_hidden {
            for &(i, abs) in &self.payout_columns {
                if layout.column_hidden(abs) {
                    return Err(SheetError::HiddenColumn {
                        worksheet: self.worksheet.clone(),
                        column: column_letters(abs),
                        name: self.columns.names[i].trim().to_string(),
                    });
                }
            }
        } else {
            layout.hidden_rows.clear();
        }
        let payout = &self.payout_columns;
        layout
            .merged
            .retain(|m| payout.iter().any(|&(_, abs)| m.covers_column(abs)));
        self.layout = layout;
        Ok(())
    }

    /// The notes of the row at absolute index `row`.
    fn notes(&self, row: u32) -> impl Iterator<Item = RowNote> + '_ {
        let hidden = self.layout.row_hidden(row).then_some(RowNote::Hidden);
        let merged = self.layout.merged.iter().flat_map(move |m| {
            self.payout_columns
                .iter()
                .filter(move |&&(_, abs)| m.contains(row, abs))
                .map(move |&(column, _)| RowNote::Merged {
                    column,
                    range: m.a1(),
                })
        });
        hidden.into_iter().chain(merged)
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
            worksheet: String::new(),
            layout: Layout::default(),
            payout_columns: Vec::new(),
            include_hidden: false,
            start_row,
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

    fn worksheet(&self) -> Option<&str> {
        Some(self.worksheet.as_str()).filter(|w| !w.is_empty())
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
                if !self.layout.hidden_rows.is_empty() || !self.layout.merged.is_empty() {
                    for note in self.notes(self.start_row + i as u32) {
                        batch.push_note(note);
                    }
                }
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
