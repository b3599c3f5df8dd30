//! Compact storage for a batch of sheet rows: one byte buffer holding every cell's bytes, the
//! end offset of each cell, an optional kind per cell (XLSX), and per row its line number and
//! whether it was too large to keep. One allocation per batch instead of one per cell.

/// What an XLSX cell held before it was rendered as text (CSV cells are all `Text`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    /// A number, rendered as the shortest decimal that round-trips.
    Number,
    /// A number that is not an exact integer below 2^53 (digits may have been lost).
    ImpreciseNumber,
    Date,
    Bool,
    /// An error value such as `#N/A`, rendered as written.
    Error,
}

/// Something the worksheet's layout says about a row (XLSX), reported as a row error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowNote {
    /// The row is hidden (by hand or by an autofilter).
    Hidden,
    /// Column `column` (0-based, in the header) of this row lies in the merged range `range`
    /// (`E2:E4`).
    Merged { column: usize, range: String },
}

/// Why a row's cells were not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Cell `column` is larger than `MAX_CELL_BYTES`.
    Cell { column: usize },
    /// The row as a whole is larger than `MAX_RECORD_BYTES` or has more than `MAX_FIELDS`
    /// cells; `column` is where reading stopped.
    Row { column: usize },
}

#[derive(Debug, Clone)]
struct RecordMeta {
    line: u64,
    data_start: usize,
    first_end: usize,
    count: usize,
    oversize: Option<Oversize>,
}

/// A batch of rows in sheet order.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Cell bytes; only `data[..data_len]` is meaningful (the tail is spare room).
    data: Vec<u8>,
    data_len: usize,
    ends: Vec<usize>,
    kinds: Vec<CellKind>,
    records: Vec<RecordMeta>,
    /// Layout notes by record index, in record order (XLSX only; usually empty).
    notes: Vec<(usize, RowNote)>,
}

/// One row of a batch.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    batch: &'a Batch,
    rec: &'a RecordMeta,
    index: usize,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// A batch with room for `rows` rows, `cells` cells and `bytes` bytes of cell data (a
    /// reader passes the previous batch's figures, so buffers are not regrown and copied).
    pub fn with_capacity(rows: usize, cells: usize, bytes: usize) -> Batch {
        Batch {
            data: vec![0; bytes],
            data_len: 0,
            ends: Vec::with_capacity(cells),
            kinds: Vec::new(),
            records: Vec::with_capacity(rows),
            notes: Vec::new(),
        }
    }

    /// Empties the batch, keeping its buffers (and their capacity) for the next rows.
    pub fn clear(&mut self) {
        self.data_len = 0;
        self.ends.clear();
        self.kinds.clear();
        self.records.clear();
        self.notes.clear();
    }

    /// Attaches a layout note to the last row pushed.
    pub fn push_note(&mut self, note: RowNote) {
        if let Some(i) = self.records.len().checked_sub(1) {
            self.notes.push((i, note));
        }
    }

    /// Cells held (all rows).
    pub fn cell_count(&self) -> usize {
        self.ends.len()
    }

    /// Every row, for indexed (parallel) iteration.
    pub fn row_views(&self) -> Vec<RowView<'_>> {
        self.rows().collect()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes of cell data held.
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// Spare room of at least `min` bytes starting `offset` bytes past the logical end.
    pub(crate) fn tail(&mut self, offset: usize, min: usize) -> &mut [u8] {
        let need = self.data_len + offset + min;
        if self.data.len() < need {
            let grown = need.max(self.data.len() * 2).max(64 * 1024);
            self.data.resize(grown, 0);
        }
        &mut self.data[self.data_len + offset..]
    }

    /// `tail(0, min)` and the cell end offsets at once, for a reader that writes a row's
    /// bytes and its cell ends together.
    pub(crate) fn tail_and_ends(&mut self, min: usize) -> (&mut [u8], &mut Vec<usize>) {
        self.tail(0, min);
        (&mut self.data[self.data_len..], &mut self.ends)
    }

    pub fn row(&self, i: usize) -> Option<RowView<'_>> {
        self.records.get(i).map(|rec| RowView {
            batch: self,
            rec,
            index: i,
        })
    }

    pub fn rows(&self) -> impl Iterator<Item = RowView<'_>> {
        self.records
            .iter()
            .enumerate()
            .map(move |(index, rec)| RowView {
                batch: self,
                rec,
                index,
            })
    }

    /// Appends a row from rendered cells (the XLSX reader and tests).
    pub fn push_row<'c>(
        &mut self,
        line: u64,
        cells: impl IntoIterator<Item = (&'c str, CellKind)>,
    ) {
        let data_start = self.data_len;
        let first_end = self.ends.len();
        let mut oversize = None;
        let mut count = 0;
        for (i, (text, kind)) in cells.into_iter().enumerate() {
            if oversize.is_none() && text.len() > super::MAX_CELL_BYTES {
                oversize = Some(Oversize::Cell { column: i });
            }
            if oversize.is_none() {
                let n = text.len();
                self.tail(0, n)[..n].copy_from_slice(text.as_bytes());
                self.data_len += n;
            }
            self.ends.push(self.data_len);
            self.kinds.push(kind);
            count += 1;
        }
        self.records.push(RecordMeta {
            line,
            data_start,
            first_end,
            count,
            oversize,
        });
        if oversize.is_some() {
            self.truncate_cells_to_empty();
        }
    }

    /// The CSV reader's view: the logical end of the data, and the cell end offsets.
    pub(crate) fn ends_mut(&mut self) -> &mut Vec<usize> {
        &mut self.ends
    }

    /// Records a CSV row of `bytes` bytes written at the logical end (via `tail`) whose cells
    /// end at `ends[first_end..]` (absolute offsets). A blank row is dropped instead.
    pub(crate) fn commit_record(
        &mut self,
        line: u64,
        bytes: usize,
        first_end: usize,
        oversize: Option<Oversize>,
    ) {
        let data_start = self.data_len;
        if oversize.is_none()
            && self.data[data_start..data_start + bytes]
                .iter()
                .all(|b| b.is_ascii_whitespace())
        {
            self.ends.truncate(first_end);
            return;
        }
        self.data_len += bytes;
        let count = self.ends.len() - first_end;
        self.records.push(RecordMeta {
            line,
            data_start,
            first_end,
            count,
            oversize,
        });
        if oversize.is_some() {
            self.truncate_cells_to_empty();
        }
    }

    /// Drops the last record's cell bytes (an oversized row keeps only its cell count).
    fn truncate_cells_to_empty(&mut self) {
        if let Some(rec) = self.records.last() {
            self.data_len = rec.data_start;
            let start = rec.data_start;
            for e in &mut self.ends[rec.first_end..] {
                *e = start;
            }
        }
    }
}

impl<'a> RowView<'a> {
    /// The layout notes of this row (hidden, merged cells).
    pub fn notes(&self) -> impl Iterator<Item = &'a RowNote> + 'a {
        let notes = &self.batch.notes;
        let start = notes.partition_point(|(i, _)| *i < self.index);
        let index = self.index;
        notes[start..]
            .iter()
            .take_while(move |(i, _)| *i == index)
            .map(|(_, n)| n)
    }

    /// The sheet line of the row's first line.
    pub fn line(&self) -> u64 {
        self.rec.line
    }

    /// Number of cells in the row.
    pub fn len(&self) -> usize {
        self.rec.count
    }

    pub fn is_empty(&self) -> bool {
        self.rec.count == 0
    }

    /// Set when the row was too large: its cells were dropped.
    pub fn oversize(&self) -> Option<Oversize> {
        self.rec.oversize
    }

    /// The bytes of cell `i` (empty past the end of the row).
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        if i >= self.rec.count {
            return &[];
        }
        let ends = &self.batch.ends;
        let k = self.rec.first_end + i;
        let start = if i == 0 {
            self.rec.data_start
        } else {
            ends[k - 1]
        };
        self.batch.data[..self.batch.data_len]
            .get(start..ends[k])
            .unwrap_or(&[])
    }

    /// Every cell's bytes of the row, back to back (empty for an oversized row).
    pub fn data(&self) -> &'a [u8] {
        let end = match self.rec.count {
            0 => self.rec.data_start,
            n => self.batch.ends[self.rec.first_end + n - 1],
        };
        self.batch.data[..self.batch.data_len]
            .get(self.rec.data_start..end)
            .unwrap_or(&[])
    }

    /// Where `data()` lies in the batch's cell bytes.
    fn data_span(&self) -> std::ops::Range<usize> {
        let end = match self.rec.count {
            0 => self.rec.data_start,
            n => self.batch.ends[self.rec.first_end + n - 1],
        };
        self.rec.data_start..end
    }

    /// Where cell `i` lies in `data()` (an empty range past the end of the row).
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        if i >= self.rec.count {
            return 0..0;
        }
        let ends = &self.batch.ends;
        let k = self.rec.first_end + i;
        let start = if i == 0 {
            self.rec.data_start
        } else {
            ends[k - 1]
        };
        let base = self.rec.data_start;
        start.saturating_sub(base)..ends[k].saturating_sub(base)
    }

    /// The kind of cell `i` (`Text` for CSV and past the end).
    pub fn kind(&self, i: usize) -> CellKind {
        if i >= self.rec.count {
            return CellKind::Text;
        }
        self.batch
            .kinds
            .get(self.rec.first_end + i)
            .copied()
            .unwrap_or(CellKind::Text)
    }

    /// True when every cell is empty or whitespace (a blank row, skipped).
    pub fn is_blank(&self) -> bool {
        self.rec.oversize.is_none()
            && (0..self.rec.count).all(|i| self.bytes(i).iter().all(|b| b.is_ascii_whitespace()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_give_back_their_cells() {
        let mut b = Batch::new();
        b.push_row(
            2,
            [
                ("a", CellKind::Text),
                ("", CellKind::Text),
                ("ccc", CellKind::Number),
            ],
        );
        b.push_row(4, [(" ", CellKind::Text)]);
        assert_eq!(b.len(), 2);
        let r = b.row(0).unwrap();
        assert_eq!(r.line(), 2);
        assert_eq!(r.bytes(0), b"a");
        assert_eq!(r.bytes(1), b"");
        assert_eq!(r.bytes(2), b"ccc");
        assert_eq!(r.bytes(3), b"");
        assert_eq!(r.kind(2), CellKind::Number);
        assert_eq!(r.data(), b"accc");
        assert_eq!((r.range(0), r.range(1), r.range(2)), (0..1, 1..1, 1..4));
        assert_eq!(r.range(3), 0..0);
        assert_eq!(b.row(1).unwrap().data(), b" ");
        assert_eq!(b.row(1).unwrap().range(0), 0..1);
        assert!(!r.is_blank());
        assert!(b.row(1).unwrap().is_blank());
    }

    #[test]
    fn an_oversized_cell_drops_the_row_data() {
        let mut b = Batch::new();
        let big = "x".repeat(crate::sheet::MAX_CELL_BYTES + 1);
        b.push_row(2, [("a", CellKind::Text), (big.as_str(), CellKind::Text)]);
        let r = b.row(0).unwrap();
        assert_eq!(r.oversize(), Some(Oversize::Cell { column: 1 }));
        assert_eq!(b.data_len(), 0);
        assert_eq!(r.bytes(0), b"");
    }
}

/// The cell bytes of consecutive rows of one batch checked as UTF-8 at once: a row's text is
/// then a slice of it, found without checking the row again. Checking a few hundred rows in one
/// call is several times cheaper than a call per row (`from_utf8` of each row was 2.7 % of
/// validating the 1M-row benchmark sheet).
#[derive(Debug, Clone, Copy)]
pub struct RowsText<'a> {
    text: &'a str,
    /// Where `text` starts in the batch's cell bytes.
    start: usize,
}

impl<'a> RowsText<'a> {
    /// The text of `rows` (consecutive rows of one batch, in order), or `None` when their
    /// bytes are not UTF-8 together (each row must then be checked on its own).
    pub fn of(rows: &[RowView<'a>]) -> Option<RowsText<'a>> {
        let (first, last) = (rows.first()?, rows.last()?);
        if !std::ptr::eq(first.batch, last.batch) {
            return None;
        }
        let span = first.data_span().start..last.data_span().end;
        let bytes = first.batch.data[..first.batch.data_len].get(span.clone())?;
        let text = std::str::from_utf8(bytes).ok()?;
        Some(RowsText {
            text,
            start: span.start,
        })
    }

    /// The text of `row`'s cells, back to back (its `data()`), when `row` is one of the rows
    /// this was made of and starts and ends on character boundaries; `None` otherwise.
    pub fn row(&self, row: &RowView<'a>) -> Option<&'a str> {
        let span = row.data_span();
        let (from, to) = (
            span.start.checked_sub(self.start)?,
            span.end.checked_sub(self.start)?,
        );
        self.text.get(from..to)
    }
}
