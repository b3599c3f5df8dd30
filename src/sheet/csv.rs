//! The CSV reader, on `csv-core` (the csv crate's own parser) so that memory stays bounded and
//! line numbers are exact: UTF-8 with or without BOM (UTF-16 is refused with a hint), delimiter
//! `,` `;` or tab detected from the header line, RFC 4180 quoting, blank lines and blank rows
//! skipped, each row numbered by the file line it starts on (the header is line 1; a quoted field
//! spanning lines is one row). A cell over `MAX_CELL_BYTES` or a row over
//! `MAX_RECORD_BYTES` is kept as an oversized row (a row error later), its bytes discarded as
//! they stream past. UTF-8 is checked per cell by the validator, which names the line.
//! "Line" is the spreadsheet's row number, not the file's: a line break inside a quoted cell
//! does not start a row (docs/design.md, "The sheet").
//! A plain line (no quote, no `\r`, wholly buffered) is split at the delimiter directly, eight
//! bytes at a time, which is what csv-core would make of it; everything else goes through
//! csv-core.

use std::io::Read;

use csv_core::{ReadRecordResult, ReaderBuilder};

use super::batch::{Batch, Oversize};
use super::{BatchSource, Columns, SheetError, MAX_CELL_BYTES, MAX_FIELDS, MAX_RECORD_BYTES};

const READ_CHUNK: usize = 256 * 1024;
/// A batch is closed at this many bytes of cell data even if it has fewer rows.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
const ENDS_SCRATCH: usize = 256;
/// The longest line `read_simple` takes (far below `MAX_CELL_BYTES` and `MAX_RECORD_BYTES`).
const SIMPLE_MAX_BYTES: usize = 64 * 1024;

/// Streams a CSV file as batches of rows.
pub struct CsvSource {
    input: Box<dyn Read + Send>,
    core: csv_core::Reader,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Line ends consumed before `buf[pos]`.
    newlines: u64,
    /// Of those, the line ends inside quoted cells: they do not start a spreadsheet row.
    embedded: u64,
    /// The last consumed byte was `\r`.
    prev_cr: bool,
    columns: Columns,
    batch_rows: usize,
    delimiter: u8,
    scratch: Vec<u8>,
    ends_scratch: Vec<usize>,
    /// Rows, cells and bytes of the previous batch (capacity for the next one).
    last_batch: (usize, usize, usize),
    /// A batch handed back by the consumer, refilled by the next `next_batch`.
    spare: Option<Batch>,
    /// Whether plain lines take the `read_simple` fast path (off only to test it).
    simple_records: bool,
}

impl CsvSource {
    /// Reads the header; `batch_rows` rows per batch after that.
    pub fn new(
        input: impl Read + Send + 'static,
        batch_rows: usize,
    ) -> Result<CsvSource, SheetError> {
        let mut src = CsvSource {
            input: Box::new(input),
            core: csv_core::Reader::new(),
            buf: vec![0; READ_CHUNK],
            pos: 0,
            len: 0,
            eof: false,
            newlines: 0,
            embedded: 0,
            prev_cr: false,
            columns: Columns::from_header(Vec::new())?,
            batch_rows: batch_rows.max(1),
            delimiter: b',',
            scratch: vec![0; 64 * 1024],
            ends_scratch: vec![0; ENDS_SCRATCH],
            last_batch: (0, 0, 0),
            spare: None,
            // The header goes through csv-core (which then knows it has read, and no longer
            // looks for a byte order mark); the rows may take the fast path.
            simple_records: false,
        };
        src.fill()?;
        let head = &src.buf[..src.len];
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Err(SheetError::NotUtf8 {
                line: 1,
                detail: " (the file is UTF-16)".into(),
            });
        }
        if head.starts_with(b"\xEF\xBB\xBF") {
            src.pos = 3;
        }
        src.delimiter = src.detect_delimiter()?;
        src.core = ReaderBuilder::new().delimiter(src.delimiter).build();
        let mut header = Batch::new();
        if !src.read_record(&mut header)? {
            return Err(SheetError::Empty);
        }
        let row = header.row(0).ok_or(SheetError::Empty)?;
        if row.oversize().is_some() {
            return Err(SheetError::HeaderTooLarge);
        }
        let mut names = Vec::with_capacity(row.len());
        for i in 0..row.len() {
            let text = std::str::from_utf8(row.bytes(i)).map_err(|_| SheetError::NotUtf8 {
                line: row.line(),
                detail: format!(" (header cell {})", i + 1),
            })?;
            names.push(text.to_string());
        }
        src.columns = Columns::from_header(names)?;
        src.simple_records = true;
        Ok(src)
    }

    /// The detected delimiter.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Reads more input, keeping the unread bytes. Returns false at end of input.
    fn fill(&mut self) -> Result<bool, SheetError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `,`, `;` or tab: whichever occurs most often outside quotes in the header line.
    fn detect_delimiter(&mut self) -> Result<u8, SheetError> {
        loop {
            if let Some(d) = delimiter_of_first_line(&self.buf[self.pos..self.len], self.eof) {
                return Ok(d);
            }
            if self.len - self.pos > MAX_RECORD_BYTES {
                return Err(SheetError::HeaderTooLarge);
            }
            self.fill()?;
        }
    }

    /// Counts line ends in `buf[range]`: `\n`, `\r\n` and a lone `\r` (old Mac files) each end
    /// one line, also when a `\r\n` pair is split across two reads.
    fn count_lines(&mut self, range: std::ops::Range<usize>) {
        let bytes = &self.buf[range];
        if bytes.is_empty() {
            return;
        }
        if let Some(mut n) = count_newlines_without_cr(bytes) {
            if self.prev_cr && bytes[0] == b'\n' {
                n -= 1;
            }
            self.newlines += n;
            self.prev_cr = false;
            return;
        }
        let mut prev_cr = self.prev_cr;
        for &b in bytes {
            if b == b'\r' || (b == b'\n' && !prev_cr) {
                self.newlines += 1;
            }
            prev_cr = b == b'\r';
        }
        self.prev_cr = prev_cr;
    }

    fn count_lines_of(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\r' || (b == b'\n' && !self.prev_cr) {
                self.newlines += 1;
            }
            self.prev_cr = b == b'\r';
        }
    }

    /// Reads the next non-blank row into `batch`. Returns false at the end of the file.
    fn read_record(&mut self, batch: &mut Batch) -> Result<bool, SheetError> {
        let before = batch.len();
        loop {
            if !self.read_one(batch)? {
                return Ok(false);
            }
            if batch.len() > before {
                return Ok(true);
            }
        }
    }

    /// Reads one record (possibly blank). Returns false at the end of the file.
    fn read_one(&mut self, batch: &mut Batch) -> Result<bool, SheetError> {
        // Skip line terminators between records, counting lines.
        loop {
            if self.pos == self.len && !self.fill()? {
                return Ok(false);
            }
            match self.buf[self.pos] {
                b @ (b'\n' | b'\r') => {
                    self.count_lines_of(&[b]);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        // The spreadsheet's row number: every line end outside a quoted cell starts a row (a
        // blank line is a blank row), one inside a quoted cell does not.
        let line = self.newlines - self.embedded + 1;
        if self.simple_records && self.read_simple(batch, line) {
            return Ok(true);
        }
        let newlines_before = self.newlines;
        let mut quoting = QuoteState::FieldStart;
        let mut last_byte = 0u8;
        let first_end = batch.ends_mut().len();
        let data_start = batch.data_len();
        let mut out = 0usize;
        let mut nfields = 0usize;
        let mut last_end = 0usize;
        let mut oversize: Option<Oversize> = None;
        loop {
            if self.pos == self.len {
                self.fill()?;
            }
            let input = &self.buf[self.pos..self.len];
            let (res, nin, nout, nend) = if oversize.is_none() {
                let room = (64 * 1024).min(MAX_RECORD_BYTES - out);
                let ends_room = ENDS_SCRATCH.min(MAX_FIELDS - nfields);
                let output = &mut batch.tail(out, room)[..room];
                let r = self
                    .core
                    .read_record(input, output, &mut self.ends_scratch[..ends_room]);
                let ends = batch.ends_mut();
                for &e in &self.ends_scratch[..r.3] {
                    ends.push(data_start + e);
                    last_end = e;
                }
                r
            } else {
                let (ends, out_buf) = (&mut self.ends_scratch, &mut self.scratch);
                self.core.read_record(input, out_buf, ends)
            };
            let consumed = self.pos..self.pos + nin;
            quoting = quoting.after(&self.buf[consumed.clone()], self.delimiter);
            self.pos += nin;
            if nin > 0 {
                last_byte = self.buf[self.pos - 1];
            }
            self.count_lines(consumed);
            if oversize.is_none() {
                out += nout;
                nfields += nend;
            }
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {
                    if oversize.is_none() && (out >= MAX_RECORD_BYTES || nfields >= MAX_FIELDS) {
                        oversize = Some(if out - last_end > MAX_CELL_BYTES {
                            Oversize::Cell { column: nfields }
                        } else {
                            Oversize::Row { column: nfields }
                        });
                        batch.ends_mut().truncate(first_end);
                    }
                }
                ReadRecordResult::Record => {
                    if oversize.is_none() {
                        let ends = &batch.ends_mut()[first_end..];
                        let mut start = data_start;
                        for (i, &e) in ends.iter().enumerate() {
                            if e - start > MAX_CELL_BYTES {
                                oversize = Some(Oversize::Cell { column: i });
                                break;
                            }
                            start = e;
                        }
                    } else {
                        batch.ends_mut().truncate(first_end);
                    }
                    if oversize.is_some() {
                        // Keep the row (as an error) without its bytes.
                        batch.ends_mut().truncate(first_end);
                        out = 0;
                    }
                    // The line ends read with the record, less its own terminator (csv-core
                    // consumes it with the record; the `\n` of a `\r\n` is not counted).
                    let within = self.newlines - newlines_before;
                    let terminated = matches!(last_byte, b'\n' | b'\r');
                    // csv-core ends a record inside an open quote only at the end of the
                    // file (a line end there is the cell's text): the rest of the file became
                    // one cell (or an oversized row).
                    if quoting == QuoteState::Quoted {
                        return Err(SheetError::UnclosedQuote { line });
                    }
                    self.embedded += within.saturating_sub(u64::from(terminated));
                    batch.commit_record(line, out, first_end, oversize);
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

/// Where a record's raw bytes leave the reader, as csv-core quotes (RFC 4180, `""` inside a
/// quoted cell is one quote, a quote after a cell's first byte is text): only to tell a record
/// that the end of the file cut inside an open quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    /// At the first byte of a cell.
    FieldStart,
    /// In a cell that did not open with a quote.
    Unquoted,
    /// Inside a quoted cell.
    Quoted,
    /// Just after a quote inside a quoted cell: it closes the cell unless another quote follows.
    QuoteInQuoted,
}

impl QuoteState {
    fn after(mut self, bytes: &[u8], delimiter: u8) -> QuoteState {
        for &b in bytes {
            self = match (self, b) {
                (QuoteState::FieldStart, b'"') => QuoteState::Quoted,
                (QuoteState::Quoted, b'"') => QuoteState::QuoteInQuoted,
                (QuoteState::Quoted, _) => QuoteState::Quoted,
                (QuoteState::QuoteInQuoted, b'"') => QuoteState::Quoted,
                (_, b) if b == delimiter => QuoteState::FieldStart,
                _ => QuoteState::Unquoted,
            };
        }
        self
    }
}

impl CsvSource {
    /// The fast path for the common record: one whole line already in the buffer, ending in
    /// `\n`, with no quote and no `\r`, at most `SIMPLE_MAX_BYTES` long and `ENDS_SCRATCH`
    /// cells. csv-core makes of such a line exactly its text split at the delimiter (it has
    /// nothing to unquote and only `\n` ends it), and leaves its state as after any record
    /// ending in `\n`, so the rows, cells and line numbers are the same as through
    /// csv-core. Far below the size limits, so never an oversized row. Returns false, having
    /// consumed nothing, for any other record.
    fn read_simple(&mut self, batch: &mut Batch, line: u64) -> bool {
        let rest = &self.buf[self.pos..self.len];
        let window = &rest[..rest.len().min(SIMPLE_MAX_BYTES + 1)];
        let Some(nl) = plain_line_len(window) else {
            return false;
        };
        let data_start = batch.data_len();
        let room = nl + COPY_CHUNK;
        let (out, ends) = batch.tail_and_ends(room);
        let first_end = ends.len();
        let Some(nout) = split_plain_line(
            rest,
            nl,
            self.delimiter,
            &mut out[..room],
            ends,
            ENDS_SCRATCH,
            data_start,
        ) else {
            return false;
        };
        self.pos += nl + 1;
        self.newlines += 1;
        self.prev_cr = false;
        batch.commit_record(line, nout, first_end, None);
        true
    }
}

/// The length of the first line of `window` (up to its `\n`) when the line has neither a
/// quote nor a `\r`; `None` when it has one, or when `window` holds no `\n`.
fn plain_line_len(window: &[u8]) -> Option<usize> {
    let at = memchr::memchr3(b'\n', b'"', b'\r', window)?;
    (window[at] == b'\n').then_some(at)
}

/// Cells are copied in chunks of this many bytes (one vector move each) rather than by one
/// `copy_from_slice` of their exact length: a `memmove` call per cell (eight a row) was 5 % of
/// `validate`'s CPU on the 1M-row sheet.
const COPY_CHUNK: usize = 16;

/// Splits the plain line `input[..len]` at `delimiter`: the cells' bytes back to back into
/// `out`, and each cell's end (plus `base`) pushed onto `ends` (straight into the batch: going
/// through a scratch array cost a copy that stalled on the stores just made). Returns the
/// bytes written, or `None`, with `ends` as it was, when the line has more than `max_cells`
/// cells. `out` needs `len + COPY_CHUNK` bytes of room: a cell is copied in whole chunks, so
/// up to `COPY_CHUNK - 1` bytes past its end are written too (the next cell, or spare room
/// past the row, overwrites them); a chunk reads past the cell's end only when `input` has
/// those bytes, else the cell is copied exactly.
fn split_plain_line(
    input: &[u8],
    len: usize,
    delimiter: u8,
    out: &mut [u8],
    ends: &mut Vec<usize>,
    max_cells: usize,
    base: usize,
) -> Option<usize> {
    let line = &input[..len];
    let first = ends.len();
    let mut nout = 0;
    let mut start = 0;
    let cut = memchr::memchr_iter(delimiter, line).chain([line.len()]);
    for end in cut {
        if ends.len() - first == max_cells {
            ends.truncate(first);
            return None;
        }
        let n = end - start;
        if start + n.next_multiple_of(COPY_CHUNK) <= input.len() {
            let mut k = 0;
            while k < n {
                out[nout + k..nout + k + COPY_CHUNK]
                    .copy_from_slice(&input[start + k..start + k + COPY_CHUNK]);
                k += COPY_CHUNK;
            }
        } else {
            out[nout..nout + n].copy_from_slice(&line[start..end]);
        }
        nout += n;
        ends.push(base + nout);
        start = end + 1;
    }
    Some(nout)
}

/// The number of `\n` bytes, or `None` when there is a `\r` (the caller then walks the bytes).
fn count_newlines_without_cr(bytes: &[u8]) -> Option<u64> {
    if memchr::memchr(b'\r', bytes).is_some() {
        return None;
    }
    Some(memchr::memchr_iter(b'\n', bytes).count() as u64)
}

/// The delimiter of the first line of `bytes`, or None when the line is not complete yet.
fn delimiter_of_first_line(bytes: &[u8], at_eof: bool) -> Option<u8> {
    let (mut commas, mut semis, mut tabs) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    let mut complete = at_eof;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semis += 1,
            b'\t' if !quoted => tabs += 1,
            b'\n' | b'\r' if !quoted => {
                complete = true;
                break;
            }
            _ => {}
        }
    }
    if !complete {
        return None;
    }
    Some(if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    })
}

impl BatchSource for CsvSource {
    fn columns(&self) -> &Columns {
        &self.columns
    }

    fn delimiter(&self) -> Option<u8> {
        Some(self.delimiter)
    }

    fn next_batch(&mut self) -> Result<Option<Batch>, SheetError> {
        let (rows, cells, bytes) = self.last_batch;
        let mut batch = match self.spare.take() {
            Some(mut b) => {
                b.clear();
                b
            }
            None => Batch::with_capacity(rows, cells + cells / 8, bytes + bytes / 8),
        };
        while batch.len() < self.batch_rows && batch.data_len() < MAX_BATCH_BYTES {
            if !self.read_one(&mut batch)? {
                break;
            }
        }
        self.last_batch = (batch.len(), batch.cell_count(), batch.data_len());
        Ok(if batch.is_empty() { None } else { Some(batch) })
    }

    fn recycle(&mut self, batch: Batch) {
        self.spare = Some(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = Vec<(u64, Vec<String>)>;

    fn read_all(bytes: &[u8]) -> Result<(CsvSource, Rows), SheetError> {
        read_all_with(bytes, true)
    }

    fn read_all_with(bytes: &[u8], simple: bool) -> Result<(CsvSource, Rows), SheetError> {
        let mut src = CsvSource::new(std::io::Cursor::new(bytes.to_vec()), 2)?;
        src.simple_records = simple;
        let mut rows = Vec::new();
        while let Some(b) = src.next_batch()? {
            for r in b.rows() {
                let cells = (0..r.len())
                    .map(|i| String::from_utf8_lossy(r.bytes(i)).into_owned())
                    .collect();
                rows.push((r.line(), cells));
            }
        }
        Ok((src, rows))
    }

    #[test]
    fn a_quote_never_closed_is_an_error_naming_its_row_not_one_long_cell() {
        let unclosed: [&[u8]; 5] = [
            b"a,b,c\n1,\"x,3\n4,5,6\n7,8,9\n",
            b"a,b,c\n1,2,3\n4,\"5,6\n7,8,9",
            b"a,b,c\r\n1,2,3\r\n4,\"5,6\r\n7,8,9\r\n",
            b"a,b,c\n1,2,3\n4,5,\"6 \"\"quoted\"\" and never closed\n7,8,9\n",
            b"a;b;c\n1;2;3\n4;\"5;6\n",
        ];
        let lines = [2, 3, 3, 3, 3];
        for (bytes, line) in unclosed.iter().zip(lines) {
            for simple in [true, false] {
                match read_all_with(bytes, simple) {
                    Err(SheetError::UnclosedQuote { line: at }) => assert_eq!(at, line),
                    other => panic!(
                        "{:?}: {:?}",
                        String::from_utf8_lossy(bytes),
                        other.map(|(_, rows)| rows)
                    ),
                }
            }
        }
        // Also when the swallowed rest is larger than a row may be.
        let mut huge = b"a,b\n1,\"x".to_vec();
        huge.extend(std::iter::repeat_n(b"y,z\n".as_slice(), MAX_RECORD_BYTES / 4 + 10).flatten());
        assert!(matches!(
            read_all(&huge),
            Err(SheetError::UnclosedQuote { line: 2 })
        ));
        // Closed quotes, line breaks inside them, a last row without a line end, and quotes
        // inside an unquoted cell (text, as csv-core reads them) are not.
        let fine: [&[u8]; 4] = [
            b"a,b\n1,\"multi\nline \"\"q\"\"\"",
            b"a,b\n1,\"x\"\n2,3",
            b"a,b\n1,ab\"c\n2,\"\"",
            b"a,b\n\"1\"\"\",2\r\n3,4\r\n",
        ];
        for bytes in fine {
            assert!(
                read_all(bytes).is_ok(),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn reads_header_and_rows_with_line_numbers() {
        let (src, rows) = read_all(b"address,amount\nA,1\nB,2\nC,3\n").unwrap();
        assert_eq!(src.columns().names, vec!["address", "amount"]);
        assert_eq!(
            rows,
            vec![
                (2, vec!["A".into(), "1".into()]),
                (3, vec!["B".into(), "2".into()]),
                (4, vec!["C".into(), "3".into()]),
            ]
        );
    }

    /// Rows, cells, line numbers and oversize flags of every batch.
    fn batches(bytes: &[u8], simple: bool, chunk: usize) -> Result<Vec<String>, String> {
        let reader = Chunked(std::io::Cursor::new(bytes.to_vec()), chunk);
        let mut src = CsvSource::new(reader, 3).map_err(|e| e.to_string())?;
        src.simple_records = simple;
        let mut out = vec![format!("{:?}", src.columns())];
        loop {
            match src.next_batch() {
                Ok(Some(b)) => {
                    for r in b.rows() {
                        let cells: Vec<&[u8]> = (0..r.len()).map(|i| r.bytes(i)).collect();
                        out.push(format!("{} {:?} {:?}", r.line(), r.oversize(), cells));
                    }
                    src.recycle(b);
                }
                Ok(None) => return Ok(out),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// A reader that hands out at most `n` bytes per read, so records straddle refills.
    struct Chunked(std::io::Cursor<Vec<u8>>, usize);

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn the_fast_path_reads_what_csv_core_reads(
            text in "[ab, ;\t\"\r\n\u{e9}]{0,300}",
            chunk in 1usize..40,
        ) {
            let with = batches(text.as_bytes(), true, chunk);
            let without = batches(text.as_bytes(), false, chunk);
            proptest::prop_assert_eq!(with, without);
        }
    }

    #[test]
    fn the_fast_path_reads_plain_lines_and_leaves_the_rest() {
        let text = b"a,b,c\nx,,z\n,,\n\"q\",1,2\nm,n\r\no,p\n\n\nlast,row";
        let rows = read_all(text).unwrap().1;
        assert_eq!(rows, read_all_with(text, false).unwrap().1);
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![2, 4, 5, 6, 9]);
        assert_eq!(rows[0].1, vec!["x", "", "z"]);
        assert_eq!(rows[1].1, vec!["q", "1", "2"]);
        // more cells than the fast path takes: csv-core reads it, the same way
        let mut wide = b"h\n".to_vec();
        wide.extend((0..600).flat_map(|i| [b'a' + (i % 26) as u8, b',']));
        wide.extend_from_slice(b"\nok\n");
        let rows = read_all(&wide).unwrap().1;
        assert_eq!(rows, read_all_with(&wide, false).unwrap().1);
        assert_eq!((rows[0].1.len(), rows[1].0), (601, 3));
    }

    #[test]
    fn plain_lines_are_found_and_split_as_a_byte_walk_finds_them() {
        let text = b"ab,cd,,efghijklmnop,q\nrest";
        for len in 0..text.len() {
            let w = &text[..len];
            let slow = w
                .iter()
                .position(|&b| b == b'\n')
                .filter(|&n| !w[..n].iter().any(|&b| b == b'"' || b == b'\r'));
            assert_eq!(plain_line_len(w), slow, "{len} bytes");
        }
        assert_eq!(plain_line_len(b"abcdefgh\"ijk\n"), None);
        assert_eq!(plain_line_len(b"abcdefghijk\n\"\r"), Some(11));
        assert_eq!(plain_line_len(b"abc\rdefghijk\n"), None);
        let line = b"ab,cd,,efghijklmnop,q";
        let (mut out, mut ends) = ([0u8; 48], vec![9usize]);
        let n = split_plain_line(line, line.len(), b',', &mut out, &mut ends, 8, 100).unwrap();
        assert_eq!(&out[..n], b"abcdefghijklmnopq");
        assert_eq!(&ends[..], &[9, 102, 104, 104, 116, 117]);
        assert_eq!(
            split_plain_line(line, line.len(), b',', &mut out, &mut ends, 4, 0),
            None
        );
        assert_eq!(&ends[..], &[9, 102, 104, 104, 116, 117], "left as it was");
        let mut ends = Vec::new();
        let n = split_plain_line(b"", 0, b',', &mut out, &mut ends, 8, 7).unwrap();
        assert_eq!((n, &ends[..]), (0, &[7usize][..]));
    }

    #[test]
    fn plain_lines_split_the_same_whether_cells_are_copied_in_chunks_or_exactly() {
        // Cells of every length around the chunk size, with the input ending right after the
        // line (exact copies near the end) or running on (whole chunks read past cells).
        let cells: Vec<Vec<u8>> = (0..40u8)
            .map(|n| (0..n).map(|i| b'a' + (n + i) % 26).collect())
            .collect();
        let line = cells.join(&b';');
        for tail in [&b""[..], b"\nnext,row,of,some,length,0123456789abcdef"] {
            let input = [&line[..], tail].concat();
            let mut out = vec![0xEE; line.len() + COPY_CHUNK];
            let mut ends = Vec::new();
            let n = split_plain_line(&input, line.len(), b';', &mut out, &mut ends, 64, 5)
                .expect("fits");
            assert_eq!(&out[..n], &cells.concat()[..]);
            let mut at = 5;
            let want: Vec<usize> = cells
                .iter()
                .map(|c| {
                    at += c.len();
                    at
                })
                .collect();
            assert_eq!(ends, want);
        }
    }

    #[test]
    fn newlines_are_counted_as_a_byte_walk_counts_them() {
        let text: Vec<u8> = (0..300u32)
            .map(|i| [b'\n', b'a', 0x8a, 0x0b, 0x09, b'\n', 0xff, 0x00][(i * 7 % 11 % 8) as usize])
            .collect();
        for len in 0..text.len() {
            let slow = text[..len].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(
                count_newlines_without_cr(&text[..len]),
                Some(slow),
                "{len} bytes"
            );
            for at in [0, len / 2, len.saturating_sub(1)] {
                let mut with_cr = text[..len].to_vec();
                if let Some(b) = with_cr.get_mut(at) {
                    *b = b'\r';
                    assert_eq!(
                        count_newlines_without_cr(&with_cr),
                        None,
                        "{len} bytes, cr at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn old_mac_line_ends_count_as_lines() {
        let (_, rows) = read_all(b"address,amount\rA,1\r\rB,2\r").unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 4]);
    }

    #[test]
    fn bom_is_stripped_and_crlf_handled() {
        let (src, rows) = read_all(b"\xEF\xBB\xBFaddress,amount\r\nA,1\r\n\r\nB,2").unwrap();
        assert_eq!(src.columns().names, vec!["address", "amount"]);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[1], (4, vec!["B".into(), "2".into()]));
    }

    #[test]
    fn semicolon_and_tab_are_detected() {
        let (src, rows) = read_all(b"address;amount;note\nA;1,5;x\n").unwrap();
        assert_eq!(src.delimiter(), b';');
        assert_eq!(rows[0].1, vec!["A", "1,5", "x"]);
        let (src, rows) = read_all(b"address\tamount\nA\t1\n").unwrap();
        assert_eq!(src.delimiter(), b'\t');
        assert_eq!(rows[0].1, vec!["A", "1"]);
        // A quoted comma in the header does not count.
        let (src, _) = read_all(b"\"a,b\";amount;x\n1;2;3\n").unwrap();
        assert_eq!(src.delimiter(), b';');
    }

    #[test]
    fn blank_lines_and_blank_rows_are_skipped_but_counted() {
        let (_, rows) = read_all(b"address,amount\n\nA,1\n,\n  ,  \n\nB,2\n\n").unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![3, 7]);
    }

    #[test]
    fn quoted_multi_line_fields_keep_their_first_line() {
        let (_, rows) =
            read_all(b"address,note\nA,\"two\nlines\"\nB,\"say \"\"hi\"\"\"\nC,x\n").unwrap();
        assert_eq!(rows[0], (2, vec!["A".into(), "two\nlines".into()]));
        assert_eq!(rows[1], (3, vec!["B".into(), "say \"hi\"".into()]));
        assert_eq!(rows[2].0, 4);
    }

    #[test]
    fn rows_are_the_spreadsheets_whatever_the_line_ends_inside_cells() {
        // CRLF, a CRLF and a lone CR inside quoted cells, a blank line (a blank row), a row
        // with several broken cells, and a last row without a line end.
        let text = b"a,b\r\n\"x\r\ny\",1\r\n\"p\rq\",2\r\n\r\n\"m\nn\",\"o\n\np\"\r\nlast,3";
        for simple in [true, false] {
            let rows = read_all_with(text, simple).unwrap().1;
            let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
            assert_eq!(lines, vec![2, 3, 5, 6], "simple: {simple}");
            assert_eq!(rows[3].1, vec!["last", "3"]);
        }
    }

    #[test]
    fn empty_file_and_utf16_are_errors() {
        assert!(matches!(read_all(b""), Err(SheetError::Empty)));
        assert!(matches!(read_all(b"\n\n"), Err(SheetError::Empty)));
        assert!(matches!(
            read_all(b"\xFF\xFEa\0"),
            Err(SheetError::NotUtf8 { line: 1, .. })
        ));
        assert!(matches!(
            read_all(b"addr\xFFess,amount\n"),
            Err(SheetError::NotUtf8 { line: 1, .. })
        ));
    }

    #[test]
    fn a_huge_cell_becomes_an_oversized_row_and_reading_goes_on() {
        let mut text = b"address,amount\nA,1\nB,".to_vec();
        text.extend(std::iter::repeat_n(b'9', MAX_CELL_BYTES + 10));
        text.extend_from_slice(b"\nC,3\n");
        let mut src = CsvSource::new(std::io::Cursor::new(text), 100).unwrap();
        let b = src.next_batch().unwrap().unwrap();
        assert_eq!(b.len(), 3);
        let big = b.row(1).unwrap();
        assert_eq!(big.line(), 3);
        assert_eq!(big.oversize(), Some(Oversize::Cell { column: 1 }));
        assert!(b.data_len() < 100);
        assert_eq!(b.row(2).unwrap().bytes(0), b"C");
        assert_eq!(b.row(2).unwrap().line(), 4);
    }

    #[test]
    fn a_row_over_the_record_limit_is_oversized_without_growing() {
        let mut text = b"a,b\n".to_vec();
        for _ in 0..(MAX_RECORD_BYTES / 1000 + 10) {
            text.extend(std::iter::repeat_n(b'x', 999));
            text.push(b',');
        }
        text.extend_from_slice(b"\nok,1\n");
        let mut src = CsvSource::new(std::io::Cursor::new(text), 100).unwrap();
        let b = src.next_batch().unwrap().unwrap();
        assert!(matches!(
            b.row(0).unwrap().oversize(),
            Some(Oversize::Row { .. })
        ));
        assert_eq!(b.row(1).unwrap().bytes(0), b"ok");
        assert_eq!(b.row(1).unwrap().line(), 3);
    }

    #[test]
    fn batches_split_by_row_count() {
        let mut src =
            CsvSource::new(std::io::Cursor::new(b"a\n1\n2\n3\n4\n5\n".to_vec()), 2).unwrap();
        let mut sizes = Vec::new();
        while let Some(b) = src.next_batch().unwrap() {
            sizes.push(b.len());
        }
        assert_eq!(sizes, vec![2, 2, 1]);
    }
}
