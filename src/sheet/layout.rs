//! What the owner of an XLSX worksheet sees beyond its cell values (docs/design.md, "The
//! sheet"): which rows and columns are hidden (by hand or by an autofilter) and which cells are
//! merged. calamine reads values only, so this reads the worksheet's own XML part, streaming
//! (memory does not grow with the sheet, only with the hidden rows and merged ranges found):
//! `<col min max hidden>`, `<row r hidden>` and `<mergeCell ref>`. The worksheet's part is found
//! through `xl/workbook.xml` and its relationships, as calamine finds it.

use std::io::{BufReader, Read, Seek};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::SheetError;

/// A rectangle of cells, 0-based and inclusive (calamine's convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellRange {
    pub first: (u32, u32),
    pub last: (u32, u32),
}

impl CellRange {
    /// Whether the range covers (`row`, `col`), both 0-based.
    pub fn contains(&self, row: u32, col: u32) -> bool {
        (self.first.0..=self.last.0).contains(&row) && (self.first.1..=self.last.1).contains(&col)
    }

    /// Whether the range covers any row of column `col`.
    pub fn covers_column(&self, col: u32) -> bool {
        (self.first.1..=self.last.1).contains(&col)
    }

    /// The range as a spreadsheet shows it: `E2:E4`.
    pub fn a1(&self) -> String {
        format!(
            "{}{}:{}{}",
            column_letters(self.first.1),
            self.first.0 + 1,
            column_letters(self.last.1),
            self.last.0 + 1
        )
    }
}

/// The hidden rows and columns and the merged ranges of one worksheet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Hidden rows, 0-based, ascending.
    pub hidden_rows: Vec<u32>,
    /// Hidden columns as inclusive 0-based spans.
    pub hidden_columns: Vec<(u32, u32)>,
    pub merged: Vec<CellRange>,
}

impl Layout {
    /// Whether row `row` (0-based) is hidden.
    pub fn row_hidden(&self, row: u32) -> bool {
        self.hidden_rows.binary_search(&row).is_ok()
    }

    /// Whether column `col` (0-based) is hidden.
    pub fn column_hidden(&self, col: u32) -> bool {
        self.hidden_columns
            .iter()
            .any(|&(a, b)| (a..=b).contains(&col))
    }
}

/// `A`, `B`, … `Z`, `AA` for a 0-based column index.
pub fn column_letters(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A cell reference (`E12`, `$E$12`) as 0-based (row, column).
pub fn parse_cell(a1: &str) -> Option<(u32, u32)> {
    let s = a1.trim().replace('$', "");
    let split = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut col: u32 = 0;
    for b in letters.bytes() {
        col = col
            .checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)?;
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

/// A range reference (`E2:E4`, or one cell `E2`).
pub fn parse_range(text: &str) -> Option<CellRange> {
    let (a, b) = text.split_once(':').unwrap_or((text, text));
    let (a, b) = (parse_cell(a)?, parse_cell(b)?);
    Some(CellRange {
        first: (a.0.min(b.0), a.1.min(b.1)),
        last: (a.0.max(b.0), a.1.max(b.1)),
    })
}

fn bad(e: impl std::fmt::Display) -> SheetError {
    SheetError::Workbook(e.to_string())
}

/// Reads the layout of worksheet `name` from the workbook at `path`.
pub fn read(path: &std::path::Path, name: &str) -> Result<Layout, SheetError> {
    let file = std::fs::File::open(path)?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(bad)?;
    let part = worksheet_part(&mut zip, name)?;
    let entry = zip.by_name(&part).map_err(bad)?;
    read_worksheet(BufReader::with_capacity(64 * 1024, entry))
}

/// Attribute `key` (local name) of an element, unescaped.
fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| {
            let raw = String::from_utf8_lossy(&a.value);
            quick_xml::escape::unescape(&raw)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn truthy(v: Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true"))
}

/// The zip part of worksheet `name`: `xl/workbook.xml` names it with a relationship id, which
/// `xl/_rels/workbook.xml.rels` maps to a target.
fn worksheet_part<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<String, SheetError> {
    let mut rid = None;
    {
        let wb = zip.by_name("xl/workbook.xml").map_err(bad)?;
        let mut xml = Reader::from_reader(BufReader::new(wb));
        let mut buf = Vec::new();
        loop {
            match xml.read_event_into(&mut buf).map_err(bad)? {
                Event::Start(e) | Event::Empty(e)
                    if e.local_name().as_ref() == b"sheet"
                        && attr(&e, b"name").as_deref() == Some(name) =>
                {
                    rid = attr(&e, b"id");
                    break;
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
    }
    let rid = rid.ok_or_else(|| bad(format!("worksheet '{name}' is not in xl/workbook.xml")))?;
    let rels = zip.by_name("xl/_rels/workbook.xml.rels").map_err(bad)?;
    let mut xml = Reader::from_reader(BufReader::new(rels));
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf).map_err(bad)? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == b"Relationship"
                    && attr(&e, b"Id").as_deref() == Some(rid.as_str()) =>
            {
                let target = attr(&e, b"Target").unwrap_or_default();
                return Ok(match target.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None => format!("xl/{}", target.trim_start_matches("./")),
                });
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Err(bad(format!("worksheet '{name}': no part for {rid}")))
}

/// Reads `<col>`, `<row>` and `<mergeCell>` from a worksheet part, streaming.
pub fn read_worksheet(input: impl std::io::BufRead) -> Result<Layout, SheetError> {
    let mut xml = Reader::from_reader(input);
    let mut layout = Layout::default();
    let mut buf = Vec::new();
    // Rows without an `r` attribute follow the previous one.
    let mut next_row: u32 = 0;
    loop {
        match xml.read_event_into(&mut buf).map_err(bad)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"row" => {
                    let row = attr(&e, b"r")
                        .and_then(|r| r.parse::<u32>().ok())
                        .and_then(|r| r.checked_sub(1))
                        .unwrap_or(next_row);
                    next_row = row.saturating_add(1);
                    if truthy(attr(&e, b"hidden")) {
                        layout.hidden_rows.push(row);
                    }
                }
                b"col" if truthy(attr(&e, b"hidden")) => {
                    let n = |k: &[u8]| attr(&e, k).and_then(|v| v.parse::<u32>().ok());
                    if let (Some(min), Some(max)) = (n(b"min"), n(b"max")) {
                        if min >= 1 && max >= min {
                            layout.hidden_columns.push((min - 1, max - 1));
                        }
                    }
                }
                b"mergeCell" => {
                    if let Some(r) = attr(&e, b"ref").as_deref().and_then(parse_range) {
                        layout.merged.push(r);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    layout.hidden_rows.sort_unstable();
    layout.hidden_rows.dedup();
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print() {
        assert_eq!(parse_cell("A1"), Some((0, 0)));
        assert_eq!(parse_cell("$E$12"), Some((11, 4)));
        assert_eq!(parse_cell("AA3"), Some((2, 26)));
        assert_eq!(parse_cell("A0"), None);
        assert_eq!(parse_cell("12"), None);
        let r = parse_range("E2:E4").unwrap();
        assert_eq!(r.a1(), "E2:E4");
        assert!(r.contains(2, 4) && !r.contains(4, 4) && r.covers_column(4));
        assert_eq!(parse_range("B3").unwrap().a1(), "B3:B3");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn hidden_rows_columns_and_merges_are_read() {
        let xml = br#"<?xml version="1.0"?><worksheet xmlns="x"><cols><col min="2" max="3" width="0" hidden="1"/><col min="4" max="4" width="9"/></cols>
<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="3" hidden="1"><c r="A3"/></row><row hidden="true"/><row r="9" hidden="0"/></sheetData>
<mergeCells count="1"><mergeCell ref="E2:E4"/></mergeCells></worksheet>"#;
        let l = read_worksheet(&xml[..]).unwrap();
        assert_eq!(l.hidden_rows, vec![2, 3]);
        assert_eq!(l.hidden_columns, vec![(1, 2)]);
        assert!(l.column_hidden(2) && !l.column_hidden(3));
        assert!(l.row_hidden(3) && !l.row_hidden(8));
        assert_eq!(l.merged, vec![parse_range("E2:E4").unwrap()]);
    }
}
