//! The psql session `postgresql_query` runs, and how its output becomes
//! Ansible's result.
//!
//! psql reads the whole session on stdin: settings, then for each query a
//! marker line, its statements, the last one between markers with its
//! `ROW_COUNT`, and `\gdesc` of it (its columns and their types, without
//! running it again). Rows come as CSV with NULL printed as a token no
//! value can forge; each value is then typed as psycopg2 types it.

use serde_json::{Map, Value, json};

use super::sql::{leading_keyword, split_statements};

/// One query, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The text with its arguments bound (Ansible's `query`).
    pub text: String,
    pub statements: Vec<String>,
}

impl Query {
    pub fn new(text: String) -> Query {
        let statements = split_statements(&text);
        Query { text, statements }
    }
}

/// What the session needs besides the queries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub autocommit: bool,
    pub encoding: Option<String>,
    /// `SET ROLE` (already quoted).
    pub role: Option<String>,
    /// `SET search_path TO` this, as Ansible writes it.
    pub search_path: Option<String>,
    /// End with `ROLLBACK` (check mode) instead of `COMMIT`.
    pub rollback: bool,
}

/// psql's script: `marker` starts each of fleet's own lines.
pub fn script(session: &Session, queries: &[Query], marker: &str) -> String {
    let mut s = String::new();
    s.push_str("\\set ON_ERROR_STOP 1\n\\pset pager off\n\\pset format csv\n");
    s.push_str(&format!("\\pset null {marker}null\n\\timing on\n"));
    if let Some(encoding) = &session.encoding {
        s.push_str(&format!("\\encoding '{encoding}'\n"));
    }
    if !session.autocommit {
        s.push_str("BEGIN;\n");
    }
    if let Some(role) = &session.role {
        s.push_str(&format!("SET ROLE {role};\n"));
    }
    if let Some(path) = &session.search_path {
        s.push_str(&format!("SET search_path TO {path};\n"));
    }
    for (index, query) in queries.iter().enumerate() {
        s.push_str(&format!("\\echo {marker} b {index}\n"));
        let (last, before) = match query.statements.split_last() {
            Some((last, before)) => (Some(last), before),
            None => (None, &[][..]),
        };
        for statement in before {
            s.push_str(statement);
            s.push_str("\n;\n");
        }
        s.push_str(&format!("\\echo {marker} l\n"));
        if let Some(last) = last {
            s.push_str(last);
            s.push_str("\n;\n");
        }
        s.push_str(&format!("\\echo {marker} e :ROW_COUNT\n"));
        if last.is_some() {
            s.push_str("\\gdesc\n");
        }
        s.push_str(&format!("\\echo {marker} g\n"));
    }
    if !session.autocommit {
        s.push_str(if session.rollback {
            "ROLLBACK;\n"
        } else {
            "COMMIT;\n"
        });
    }
    s
}

/// What one query came to.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub statusmessage: String,
    /// Rows, in column order; `None` when the last statement returns no
    /// rows (psycopg2's "no results to fetch").
    pub rows: Option<Vec<Map<String, Value>>>,
    pub rowcount: i64,
    pub time_ms: f64,
}

impl QueryResult {
    /// Whether Ansible counts this query as a change: anything but a
    /// `SELECT` or `SHOW`, except an `INSERT`, `UPDATE` or `DELETE` of no
    /// rows.
    pub fn changed(&self) -> bool {
        let status = &self.statusmessage;
        if status.contains("SELECT") || status.contains("SHOW") {
            return false;
        }
        if ["UPDATE", "INSERT", "DELETE"]
            .iter()
            .any(|word| status.contains(word))
        {
            let words: Vec<&str> = status.split_whitespace().collect();
            return match words.len() {
                3 => words[2] != "0",
                2 => words[1] != "0",
                _ => true,
            };
        }
        true
    }
}

#[derive(Default)]
struct Segment {
    before: Vec<String>,
    last: Vec<String>,
    row_count: i64,
    desc: Vec<String>,
}

/// The results of `queries`, read from psql's `stdout`.
pub fn parse(stdout: &str, queries: &[Query], marker: &str) -> Result<Vec<QueryResult>, String> {
    let prefix = format!("{marker} ");
    let mut segments: Vec<Segment> = Vec::new();
    #[derive(PartialEq)]
    enum Part {
        Outside,
        Before,
        Last,
        Desc,
    }
    let mut part = Part::Outside;
    for line in stdout.split('\n') {
        if let Some(rest) = line.strip_prefix(&prefix) {
            let mut words = rest.split(' ');
            match words.next() {
                Some("b") => {
                    segments.push(Segment::default());
                    part = Part::Before;
                }
                Some("l") => part = Part::Last,
                Some("e") => {
                    if let Some(segment) = segments.last_mut() {
                        segment.row_count = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                    }
                    part = Part::Desc;
                }
                _ => part = Part::Outside,
            }
            continue;
        }
        let Some(segment) = segments.last_mut() else {
            continue;
        };
        let lines = match part {
            Part::Outside => continue,
            Part::Before => &mut segment.before,
            Part::Last => &mut segment.last,
            Part::Desc => &mut segment.desc,
        };
        lines.push(line.to_string());
    }
    if segments.len() != queries.len() {
        return Err(format!(
            "psql printed the results of {} of {} queries",
            segments.len(),
            queries.len()
        ));
    }
    let null = format!("{marker}null");
    segments
        .into_iter()
        .zip(queries)
        .map(|(segment, query)| result(segment, query, &null))
        .collect()
}

/// `Time: 1.234 ms` (and more after it for long ones), as `\timing` prints.
fn timing(line: &str) -> Option<f64> {
    line.strip_prefix("Time: ")?.split(' ').next()?.parse().ok()
}

/// Drops the `\timing` line psql prints after the segment's command.
fn take_time(lines: &mut Vec<String>) -> f64 {
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    match lines.last().and_then(|line| timing(line)) {
        Some(ms) => {
            lines.pop();
            ms
        }
        None => 0.0,
    }
}

fn result(mut segment: Segment, query: &Query, null: &str) -> Result<QueryResult, String> {
    let before_ms: f64 = segment.before.iter().filter_map(|l| timing(l)).sum();
    let time_ms = before_ms + take_time(&mut segment.last);
    take_time(&mut segment.desc);
    let last_statement = query.statements.last().map(String::as_str).unwrap_or("");
    let desc = csv_records(&segment.desc.join("\n"));
    let columns: Vec<(String, String)> = match desc.split_first() {
        Some((header, rows)) if header.len() == 2 && header[0] == "Column" => rows
            .iter()
            .filter(|row| row.len() == 2)
            .map(|row| (row[0].clone(), row[1].clone()))
            .collect(),
        _ => Vec::new(),
    };
    let text = segment.last.join("\n");
    if columns.is_empty() {
        let status = text.trim().lines().last().unwrap_or("").trim().to_string();
        return Ok(QueryResult {
            rowcount: segment.row_count,
            statusmessage: status,
            rows: None,
            time_ms,
        });
    }
    let mut records = csv_records(&text);
    if !records.is_empty() {
        records.remove(0);
    }
    // psql prints the status of INSERT, UPDATE and DELETE … RETURNING
    // after the rows.
    let tag = match records.last() {
        Some(last)
            if last.len() == 1
                && records.len() as i64 == segment.row_count + 1
                && is_dml_tag(&last[0]) =>
        {
            records.pop().map(|mut r| r.remove(0))
        }
        _ => None,
    };
    let rows: Vec<Map<String, Value>> = records
        .iter()
        .map(|record| {
            columns
                .iter()
                .zip(record)
                .map(|((name, kind), cell)| (name.clone(), typed(cell, kind, null)))
                .collect()
        })
        .collect();
    let count = rows.len() as i64;
    let (statusmessage, rowcount) = match tag {
        Some(tag) => (tag, segment.row_count),
        None => (
            match leading_keyword(last_statement).as_str() {
                "SHOW" => "SHOW".to_string(),
                "EXPLAIN" => "EXPLAIN".to_string(),
                "FETCH" => format!("FETCH {count}"),
                "CALL" => "CALL".to_string(),
                _ => format!("SELECT {count}"),
            },
            count,
        ),
    };
    Ok(QueryResult {
        statusmessage,
        rows: Some(rows),
        rowcount,
        time_ms,
    })
}

fn is_dml_tag(text: &str) -> bool {
    let words: Vec<&str> = text.split(' ').collect();
    let numbers = |w: &[&str]| {
        w.iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
    };
    match words.as_slice() {
        ["INSERT", rest @ ..] => rest.len() == 2 && numbers(rest),
        ["UPDATE" | "DELETE" | "MERGE", rest @ ..] => rest.len() == 1 && numbers(rest),
        _ => false,
    }
}

/// CSV as psql writes it: `,` between fields, `"` around one that holds a
/// comma, quote or newline, `""` for a quote inside.
pub fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    if text.is_empty() {
        return records;
    }
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    record.push(field);
    records.push(record);
    records
}

/// A value as psycopg2 returns it and Ansible then prints it: numbers,
/// booleans, parsed JSON, ISO timestamps, one-dimensional arrays as lists,
/// the rest as text.
pub fn typed(cell: &str, kind: &str, null: &str) -> Value {
    if cell == null {
        return Value::Null;
    }
    if let Some(element) = kind.strip_suffix("[]") {
        return match array(cell) {
            Some(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        None => Value::Null,
                        Some(text) => typed(&text, element, null),
                    })
                    .collect(),
            ),
            None => json!(cell),
        };
    }
    let base = kind.split('(').next().unwrap_or(kind).trim();
    match base {
        "smallint" | "integer" | "bigint" | "oid" => cell
            .parse::<i64>()
            .map_or_else(|_| json!(cell), |n| json!(n)),
        "numeric" | "real" | "double precision" => match cell.parse::<f64>() {
            Ok(f) if f.is_finite() => json!(f),
            _ => json!(cell),
        },
        "boolean" => match cell {
            "t" => json!(true),
            "f" => json!(false),
            _ => json!(cell),
        },
        "json" | "jsonb" => serde_json::from_str(cell).unwrap_or_else(|_| json!(cell)),
        _ if kind.starts_with("timestamp") => {
            json!(iso_datetime(cell, kind.ends_with("with time zone")))
        }
        _ if kind.starts_with("time ") || kind.starts_with("time(") => {
            json!(iso_time(cell, kind.ends_with("with time zone")))
        }
        _ => json!(cell),
    }
}

/// `2024-01-02 03:04:05.5+00` as Python's `isoformat`:
/// `2024-01-02T03:04:05.500000+00:00`.
fn iso_datetime(cell: &str, zoned: bool) -> String {
    match cell.split_once(' ') {
        Some((date, time)) if date.len() == 10 => format!("{date}T{}", iso_time(time, zoned)),
        _ => cell.to_string(),
    }
}

fn iso_time(cell: &str, zoned: bool) -> String {
    let (clock, zone) = if zoned {
        match cell.rfind(['+', '-']) {
            Some(at) => cell.split_at(at),
            None => (cell, ""),
        }
    } else {
        (cell, "")
    };
    let clock = match clock.split_once('.') {
        Some((whole, fraction)) => format!("{whole}.{fraction:0<6}"),
        None => clock.to_string(),
    };
    let zone = if zone.len() == 3 {
        format!("{zone}:00")
    } else {
        zone.to_string()
    };
    format!("{clock}{zone}")
}

/// The elements of a one-dimensional array literal (`{1,"a b",NULL}`);
/// `None` for anything else.
fn array(cell: &str) -> Option<Vec<Option<String>>> {
    let inner = cell.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut text = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => text.push(chars.next()?),
                    '"' => break,
                    c => text.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' {
                    return None;
                }
                text.push(c);
                chars.next();
            }
        }
        items.push(if !quoted && text == "NULL" {
            None
        } else {
            Some(text)
        });
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(_) => return None,
        }
    }
    Some(items)
}
