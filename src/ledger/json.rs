//! The JSON results ledger: `{"run": {...}, "rows": [{"line": 2, "columns": {"<header>":
//! "<cell>", ...}, "order_id": ..., "status": ..., ...}]}`. Amounts are decimal strings (exact;
//! a JSON number would be read as a float by most consumers); absent values are `null`. Cells
//! are not neutralised: JSON is read by programs, not spreadsheets, and must be faithful. A
//! header the sheet repeats is keyed `<header> (2)`, `(3)`... so no cell is lost to a
//! duplicate key; a cell past the header's width is keyed `column_N`.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::{original_headers, original_width, Ledger, LedgerError, ResultCell, RESULT_COLUMNS};

/// The keys of the `columns` object: the original headers, repeats made unique.
pub fn column_keys(ledger: &Ledger) -> Vec<String> {
    let headers = original_headers(ledger);
    let mut seen: HashSet<String> = HashSet::new();
    let mut keys = Vec::with_capacity(headers.len());
    for h in headers {
        let mut key = h.clone();
        let mut n = 2;
        while seen.contains(&key) {
            key = format!("{h} ({n})");
            n += 1;
        }
        seen.insert(key.clone());
        keys.push(key);
    }
    keys
}

/// The ledger as a JSON value.
pub fn to_value(ledger: &Ledger) -> Result<Value, LedgerError> {
    let keys = column_keys(ledger);
    let width = original_width(ledger);
    let run = serde_json::to_value(&ledger.run).map_err(|e| LedgerError::Json(e.to_string()))?;
    let rows: Vec<Value> = ledger
        .rows
        .iter()
        .map(|row| {
            let mut columns = Map::new();
            for (i, key) in keys.iter().enumerate().take(width) {
                columns.insert(key.clone(), Value::String(row.cell(i).to_string()));
            }
            let mut obj = Map::new();
            obj.insert("line".into(), json!(row.line));
            obj.insert("columns".into(), Value::Object(columns));
            for (name, cell) in RESULT_COLUMNS.iter().zip(row.result_cells()) {
                let v = match cell {
                    ResultCell::Text(t) => Value::String(t.to_string()),
                    ResultCell::Amount(d) => Value::String(d.to_string()),
                    ResultCell::Empty => Value::Null,
                };
                obj.insert((*name).to_string(), v);
            }
            Value::Object(obj)
        })
        .collect();
    Ok(json!({ "run": run, "rows": rows }))
}

/// The ledger as pretty-printed JSON bytes, ending with a newline.
pub fn render(ledger: &Ledger) -> Result<Vec<u8>, LedgerError> {
    let mut bytes = serde_json::to_vec_pretty(&to_value(ledger)?)
        .map_err(|e| LedgerError::Json(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}
