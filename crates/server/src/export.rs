//! Exports of cases — CSV, GeoJSON, XLSX — streamed page by page through the list query (same
//! filters, same scope), so that millions of rows never sit in memory. Used by
//! `GET /api/v1/exports/cases.{fmt}` and `gridkeeper export cases`.

use std::io::{Read, Write};

use gridkeeper_domain::exchange::{open311_status, spreadsheet_text};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{Case, Millis};
use gridkeeper_store::{CaseQuery, Visibility};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::cases::CaseFilters;
use crate::error::ApiError;
use crate::{App, Reference};

/// Cases fetched per query; each page continues after the last case of the previous one.
const PAGE: u32 = 200;
/// Rows per XLSX worksheet (Excel's limit is 1,048,576 including the header).
const SHEET_ROWS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    GeoJson,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "geojson" => Some(Self::GeoJson),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::GeoJson => "application/geo+json",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::GeoJson => "geojson",
            Self::Xlsx => "xlsx",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Store(#[from] gridkeeper_store::StoreError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The reader went away (the client closed the connection).
    #[error("the receiver of the export went away")]
    Closed,
}

/// One exported value.
enum Cell {
    Text(Option<String>),
    Number(Option<f64>),
    Bool(bool),
    Time(Option<Millis>),
}

/// The exported columns, in order (docs/DATA.md describes each). No personal data: no reporter,
/// no contact, no rating comment.
pub const COLUMNS: [&str; 37] = [
    "reference",
    "id",
    "state",
    "status",
    "district",
    "grid",
    "lat",
    "lon",
    "address",
    "description",
    "source",
    "category_code",
    "category_name",
    "category_kind",
    "urgency",
    "lead_department_code",
    "lead_department_name",
    "co_department_codes",
    "reported_at",
    "accepted_at",
    "dispatched_at",
    "signed_at",
    "resolved_at",
    "verified_at",
    "closed_at",
    "handle_by",
    "due_at",
    "overdue",
    "returns",
    "reworks",
    "extensions",
    "reopens",
    "supervisions",
    "rating",
    "on_the_spot",
    "rejection",
    "duplicate_of",
];

fn cells(r: &Reference, c: &Case, now: Millis) -> [Cell; 37] {
    use Cell::*;
    let text = |s: &str| Text(Some(s.to_string()));
    let category = c.category.and_then(|id| r.categories.get(&id));
    let lead = c.lead_department.and_then(|id| r.departments.get(&id));
    let co: Vec<String> = c
        .co_departments
        .iter()
        .map(|id| r.departments.get(id).map(|d| d.code.clone()).unwrap_or(id.to_string()))
        .collect();
    let n = |v: i32| Number(Some(f64::from(v)));
    [
        text(&c.reference),
        Number(Some(c.id as f64)),
        text(c.state.as_str()),
        text(open311_status(c.state)),
        text(&c.district),
        Text(c.grid.as_ref().map(|g| g.to_string())),
        Number(c.location.map(|l| l.lat)),
        Number(c.location.map(|l| l.lon)),
        Text(c.address.clone()),
        text(&c.description),
        text(c.source.as_str()),
        Text(category.map(|k| k.code.clone())),
        Text(category.map(|k| k.name.clone())),
        Text(c.category_kind.map(|k| k.as_str().to_string())),
        text(c.urgency.as_str()),
        Text(lead.map(|d| d.code.clone())),
        Text(lead.map(|d| d.name.clone())),
        Text(Some(co.join(";")).filter(|s| !s.is_empty())),
        Time(Some(c.reported_at)),
        Time(c.accepted_at),
        Time(c.dispatched_at),
        Time(c.signed_at),
        Time(c.resolved_at),
        Time(c.verified_at),
        Time(c.closed_at),
        Time(c.handle_by),
        Time(c.due_at),
        Bool(c.is_overdue(now)),
        n(c.returns),
        n(c.reworks),
        n(c.extensions),
        n(c.reopens),
        n(c.supervisions),
        Number(c.rating.map(f64::from)),
        Bool(c.on_the_spot),
        Text(c.rejection.map(|r| r.as_str().to_string())),
        Number(c.duplicate_of.map(|d| d as f64)),
    ]
}

fn plain(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => s.as_deref().map(|s| spreadsheet_text(s).into_owned()).unwrap_or_default(),
        Cell::Number(n) => n.map(|n| n.to_string()).unwrap_or_default(),
        Cell::Bool(b) => b.to_string(),
        Cell::Time(t) => t.map(to_rfc3339).unwrap_or_default(),
    }
}

fn json_value(cell: &Cell) -> Value {
    match cell {
        Cell::Text(s) => json!(s),
        Cell::Number(n) => json!(n),
        Cell::Bool(b) => json!(b),
        Cell::Time(t) => json!(t.map(to_rfc3339)),
    }
}

/// Writes the rows of one format into a buffer that is handed on after every page.
enum Writer {
    Csv(Box<csv::Writer<Vec<u8>>>),
    GeoJson { buf: Vec<u8>, first: bool },
    Xlsx(Box<Xlsx>),
}

struct Xlsx {
    workbook: Workbook,
    sheets: usize,
    row: u32,
    time: Format,
    bold: Format,
    /// Local time of the jurisdiction, in hours from UTC.
    offset_hours: i32,
}

impl Xlsx {
    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        self.sheets += 1;
        let name = if self.sheets == 1 { "cases".to_string() } else { format!("cases {}", self.sheets) };
        let bold = self.bold.clone();
        let sheet: &mut Worksheet = self.workbook.add_worksheet_with_constant_memory();
        sheet.set_name(name)?;
        for (i, h) in COLUMNS.iter().enumerate() {
            sheet.write_string_with_format(0, i as u16, *h, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.row = 1;
        Ok(())
    }

    fn write(&mut self, cells: &[Cell]) -> Result<(), XlsxError> {
        if self.row > SHEET_ROWS || self.sheets == 0 {
            self.new_sheet()?;
        }
        let (row, offset) = (self.row, i64::from(self.offset_hours) * 3600);
        let time = self.time.clone();
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        for (i, cell) in cells.iter().enumerate() {
            let col = i as u16;
            match cell {
                Cell::Text(Some(s)) => {
                    sheet.write_string(row, col, s)?;
                }
                Cell::Number(Some(n)) => {
                    sheet.write_number(row, col, *n)?;
                }
                Cell::Bool(b) => {
                    sheet.write_boolean(row, col, *b)?;
                }
                Cell::Time(Some(t)) => {
                    let at = ExcelDateTime::from_timestamp(t.div_euclid(1000) + offset)?;
                    sheet.write_datetime_with_format(row, col, &at, &time)?;
                }
                Cell::Text(None) | Cell::Number(None) | Cell::Time(None) => {}
            }
        }
        self.row += 1;
        Ok(())
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new())
}

impl Writer {
    fn new(format: ExportFormat, offset_hours: i32) -> Result<Self, ExportError> {
        Ok(match format {
            ExportFormat::Csv => {
                let mut w = csv_writer();
                w.write_record(COLUMNS)?;
                Writer::Csv(Box::new(w))
            }
            ExportFormat::GeoJson => {
                Writer::GeoJson { buf: br#"{"type":"FeatureCollection","features":["#.to_vec(), first: true }
            }
            ExportFormat::Xlsx => Writer::Xlsx(Box::new(Xlsx {
                workbook: Workbook::new(),
                sheets: 0,
                row: 0,
                time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
                bold: Format::new().set_bold(),
                offset_hours,
            })),
        })
    }

    fn row(&mut self, c: &Case, cells: &[Cell]) -> Result<(), ExportError> {
        match self {
            Writer::Csv(w) => w.write_record(cells.iter().map(plain))?,
            Writer::GeoJson { buf, first } => {
                if !*first {
                    buf.push(b',');
                }
                *first = false;
                let properties: serde_json::Map<String, Value> =
                    COLUMNS.iter().zip(cells).map(|(k, v)| (k.to_string(), json_value(v))).collect();
                let geometry = c.location.map(|l| json!({ "type": "Point", "coordinates": [l.lon, l.lat] }));
                let feature =
                    json!({ "type": "Feature", "id": c.reference, "geometry": geometry, "properties": properties });
                serde_json::to_writer(&mut *buf, &feature).map_err(std::io::Error::from)?;
            }
            Writer::Xlsx(x) => x.write(cells)?,
        }
        Ok(())
    }

    /// What has been written since the last call (XLSX: nothing until the end).
    fn take(&mut self) -> Result<Vec<u8>, ExportError> {
        Ok(match self {
            Writer::Csv(w) => {
                // csv writes into a Vec it owns: swap in a fresh one and take the old one's bytes.
                let full = std::mem::replace(w.as_mut(), csv_writer());
                full.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?
            }
            Writer::GeoJson { buf, .. } => std::mem::take(buf),
            Writer::Xlsx(_) => vec![],
        })
    }
}

async fn send(tx: &mpsc::Sender<Vec<u8>>, chunk: Vec<u8>) -> Result<(), ExportError> {
    if chunk.is_empty() {
        return Ok(());
    }
    tx.send(chunk).await.map_err(|_| ExportError::Closed)
}

/// Writes every case of `query` (its filters and scope; its cursor and limit are ignored) in
/// `format` to `tx`, chunk by chunk. Returns the number of cases.
pub async fn export_cases(
    app: &App,
    mut query: CaseQuery,
    format: ExportFormat,
    tx: mpsc::Sender<Vec<u8>>,
) -> Result<u64, ExportError> {
    let reference = app.reference();
    let mut w = Writer::new(format, app.settings.utc_offset_hours)?;
    query.after = None;
    query.limit = PAGE;
    let mut count = 0u64;
    loop {
        let page = app.store.list_cases(&query).await?;
        for c in &page {
            w.row(c, &cells(&reference, c, query.now))?;
        }
        count += page.len() as u64;
        send(&tx, w.take()?).await?;
        match page.last() {
            Some(last) if page.len() == PAGE as usize => query.after = Some(query.cursor(last)),
            _ => break,
        }
    }
    match w {
        Writer::Csv(_) => {}
        Writer::GeoJson { .. } => send(&tx, b"]}\n".to_vec()).await?,
        Writer::Xlsx(mut x) => {
            if x.sheets == 0 {
                x.new_sheet()?;
            }
            // The rows wait in temporary files (constant memory); the zip is assembled in another
            // temporary file and streamed from there.
            let file = tokio::task::spawn_blocking(move || -> Result<std::fs::File, ExportError> {
                let mut file = tempfile::tempfile()?;
                x.workbook.save_to_writer(&mut file)?;
                std::io::Seek::rewind(&mut file)?;
                Ok(file)
            })
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
            let mut file = file;
            loop {
                let (chunk, f) = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<u8>, std::fs::File)> {
                    let mut buf = vec![0u8; 256 * 1024];
                    let n = file.read(&mut buf)?;
                    buf.truncate(n);
                    Ok((buf, file))
                })
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
                file = f;
                if chunk.is_empty() {
                    break;
                }
                send(&tx, chunk).await?;
            }
        }
    }
    Ok(count)
}

/// The query of an export by the operator (every case), with the case list's filters given as a
/// query string (`state=closed&region=330483101`).
pub fn query_from_filters(app: &App, filters: &str) -> Result<CaseQuery, ApiError> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(filters.trim_start_matches('?'))
        .map_err(|e| ApiError::bad_request(format!("the filter is not a query string: {e}")))?;
    let filters: CaseFilters = crate::extract::from_pairs(&pairs)?;
    let visibility = Visibility { all: true, ..Default::default() };
    let mut query = CaseQuery { visibility, now: app.now(), ..Default::default() };
    filters.apply(app, &mut query)?;
    Ok(query)
}

/// Runs an export into a writer (the CLI's file or standard output).
pub async fn export_to(
    app: &App,
    query: CaseQuery,
    format: ExportFormat,
    out: &mut (dyn Write + Send),
) -> Result<u64, ExportError> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(8);
    let export = export_cases(app, query, format, tx);
    let write = async {
        while let Some(chunk) = rx.recv().await {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok::<_, ExportError>(())
    };
    let (count, written) = tokio::join!(export, write);
    written?;
    count
}
