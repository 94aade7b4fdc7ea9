//! pg_hba.conf as community.postgresql's `postgresql_pg_hba` reads,
//! compares, sorts and writes it: its tokenizer (quirks included), its
//! rule keys (type, database, user, source), its sort order, and its
//! rendering (a parsed line is written back as it was; a new rule as
//! tab-separated fields).

use std::collections::BTreeMap;

use std::net::{Ipv4Addr, Ipv6Addr};

#[path = "postgresql_pg_hba_address.rs"]
mod address;

use address::{Address, address_field, netmask_field, source_of};

pub const TYPES: &[&str] = &[
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
];
pub const METHODS: &[&str] = &[
    "trust",
    "reject",
    "md5",
    "password",
    "gss",
    "sspi",
    "krb5",
    "ident",
    "peer",
    "ldap",
    "radius",
    "cert",
    "pam",
    "scram-sha-256",
];

/// Where a rule's connections come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Local,
    /// A host name or a keyword (`all`, `samehost`, `.example.com`).
    Host(String),
    V4(u32, u8),
    V6(u128, u8),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Local => Ok(()),
            Source::Host(name) => f.write_str(name),
            Source::V4(addr, len) => write!(f, "{}/{len}", Ipv4Addr::from(*addr)),
            Source::V6(addr, len) => write!(f, "{}/{len}", Ipv6Addr::from(*addr)),
        }
    }
}

/// One line of the file, or one rule a task asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// A comment-only line, an empty line or an `include`.
    pub special: bool,
    /// The text it was parsed from, written back as it is.
    pub line: Option<String>,
    pub line_nr: usize,
    pub comment: Option<String>,
    pub contype: String,
    pub database: String,
    pub user: String,
    pub source: Option<Source>,
    pub method: String,
    pub options: Option<BTreeMap<String, String>>,
}

/// What a task gives for one rule, after defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spec {
    pub contype: Option<String>,
    pub databases: String,
    pub users: String,
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub method: String,
    pub options: Option<String>,
    pub comment: Option<String>,
    pub present: bool,
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

fn strip_quotes(s: &str) -> &str {
    match s.strip_prefix('"') {
        Some(rest) => rest.get(..rest.len().saturating_sub(1)).unwrap_or(""),
        None => s,
    }
}

/// community.postgresql's tokenizer: words split at whitespace outside
/// `"…"` (a quote may start inside a word: `key="a b"`), a trailing
/// `#…` as one token.
pub fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut bare = Vec::new();
    let mut last = 0;
    for (at, c) in text.char_indices() {
        if is_space(c) || c == '"' || c == '#' {
            bare.push(&text[last..at + c.len_utf8()]);
            last = at + c.len_utf8();
        }
    }
    bare.push(&text[last..]);
    #[derive(PartialEq)]
    enum State {
        Start,
        Quote,
        QuoteEnd,
        Comment,
    }
    let mut tokens = Vec::new();
    let mut state = State::Start;
    let mut current = String::new();
    for token in bare {
        if state == State::QuoteEnd {
            state = State::Start;
            if token.trim().is_empty() {
                tokens.push(current.trim().to_string());
                current.clear();
                continue;
            }
        }
        if token.is_empty() {
            continue;
        }
        match state {
            State::Start => {
                if token.trim().is_empty() {
                    continue;
                }
                current.push_str(token);
                if token.ends_with('"') {
                    state = State::Quote;
                } else if token.ends_with('#') {
                    if !token.starts_with('#') {
                        current.pop();
                        tokens.push(current.trim().to_string());
                        current = "#".into();
                    }
                    state = State::Comment;
                } else {
                    tokens.push(current.trim().to_string());
                    current.clear();
                }
            }
            State::Comment => current.push_str(token),
            State::Quote => {
                current.push_str(token);
                if token.ends_with('"') {
                    state = State::QuoteEnd;
                }
            }
            State::QuoteEnd => {}
        }
    }
    match state {
        State::Comment => tokens.push(current),
        State::Quote => return Err("Unterminated quote".into()),
        _ => {}
    }
    Ok(tokens)
}

/// A comma list of databases or users, sorted, unless quoted or a regex.
pub fn sorted_names(text: &str) -> String {
    if text.contains('"') || text.starts_with('/') {
        return text.to_string();
    }
    let mut names: Vec<&str> = text.split(',').collect();
    names.sort();
    names.join(",")
}

fn parse_options(options: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for option in options {
        let text = strip_quotes(option);
        let split = text
            .split_once('=')
            .map(|(key, value)| (key, value.split('\n').next().unwrap_or("")))
            .filter(|(key, value)| !key.is_empty() && !value.is_empty());
        let Some((key, value)) = split else {
            return Err(format!(
                "Found invalid option '{option}'. Options need to be in the format 'key=value'"
            ));
        };
        if map.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!(
                "The rule contains two options with the same key ('{key}')"
            ));
        }
    }
    Ok(map)
}

fn normalize_comment(comment: &str) -> String {
    let trimmed = comment.trim();
    if trimmed.starts_with('#') {
        trimmed.to_string()
    } else {
        format!("#{trimmed}")
    }
}

impl Rule {
    /// A line of the file (continuations joined).
    fn from_line(line: &str, line_nr: usize) -> Result<Rule, String> {
        let at = |e: String| format!("Error in line {line_nr}: {e}");
        let mut rule = Rule {
            line: Some(line.to_string()),
            line_nr,
            ..Rule::default()
        };
        if line.trim().starts_with('#') {
            rule.special = true;
            rule.comment = Some(normalize_comment(line));
            return Ok(rule);
        }
        if line.trim().is_empty() {
            rule.special = true;
            return Ok(rule);
        }
        let mut tokens = tokenize(&line.replace("\\\n", "")).map_err(at)?;
        if tokens.last().is_some_and(|t| t.starts_with('#')) {
            rule.comment = tokens.pop().map(|c| normalize_comment(&c));
        }
        if tokens.first().is_some_and(|t| t.starts_with("include")) {
            rule.special = true;
            return Ok(rule);
        }
        rule.fill_from_tokens(&tokens).map_err(at)?;
        Ok(rule)
    }

    fn fill_from_tokens(&mut self, tokens: &[String]) -> Result<(), String> {
        if tokens.len() < 4 {
            return Err("The rule has too few symbols".into());
        }
        self.contype = strip_quotes(&tokens[0]).to_string();
        if !TYPES.contains(&self.contype.as_str()) {
            return Err(format!("Found an unknown connection-type {}", tokens[0]));
        }
        self.database = sorted_names(&tokens[1]);
        self.user = sorted_names(&tokens[2]);
        let method_at = if self.contype == "local" {
            self.source = Some(Source::Local);
            3
        } else {
            let address = address_field(&tokens[3])?;
            let bare = matches!(address, Address::V4(_, None) | Address::V6(_, None));
            if bare {
                let mask = tokens.get(4).map(|t| netmask_field(t)).and_then(Result::ok).ok_or(
                    "The rule either needs a hostname, full CIDR or an IP-address and a netmask",
                )?;
                self.source = Some(source_of(&address, Some(mask))?);
                if tokens.len() < 6 {
                    return Err("The rule has too few symbols".into());
                }
                5
            } else {
                if tokens.len() < 5 {
                    return Err("The rule has too few symbols".into());
                }
                self.source = Some(source_of(&address, None)?);
                4
            }
        };
        self.method = strip_quotes(&tokens[method_at]).to_string();
        if !METHODS.contains(&self.method.as_str()) {
            return Err(format!("Found an unknown method: {}", tokens[method_at]));
        }
        if tokens.len() > method_at + 1 {
            self.options = Some(parse_options(&tokens[method_at + 1..])?);
        }
        Ok(())
    }

    /// A rule a task asks for.
    pub fn from_spec(spec: &Spec) -> Result<Rule, String> {
        let mut rule = Rule {
            comment: spec
                .comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| c.trim().to_string()),
            ..Rule::default()
        };
        let contype = spec.contype.as_deref().unwrap_or("None");
        rule.contype = strip_quotes(contype).to_string();
        if !TYPES.contains(&rule.contype.as_str()) {
            return Err(format!("Unknown type {}", rule.contype));
        }
        rule.database = spec.databases.clone();
        rule.user = spec.users.clone();
        if rule.contype == "local" {
            rule.source = Some(Source::Local);
        } else {
            let address = address_field(spec.address.as_deref().unwrap_or("samehost"))?;
            let mask = match spec.netmask.as_deref().filter(|m| !m.is_empty()) {
                Some(netmask) => {
                    if !matches!(address, Address::V4(_, None) | Address::V6(_, None)) {
                        return Err(
                            "Rule can't contain a netmask if address is a full CIDR or hostname"
                                .into(),
                        );
                    }
                    Some(netmask_field(netmask)?)
                }
                None => None,
            };
            rule.source = Some(source_of(&address, mask)?);
        }
        rule.method = strip_quotes(&spec.method).to_string();
        if !METHODS.contains(&rule.method.as_str()) {
            return Err(format!("Unknown method {}", rule.method));
        }
        if let Some(options) = spec.options.as_deref().filter(|o| !o.is_empty()) {
            rule.options = Some(parse_options(&tokenize(options)?)?);
        }
        Ok(rule)
    }

    /// A comment-only line a task asks for.
    pub fn comment_line(comment: Option<&str>) -> Rule {
        let comment = comment.filter(|c| !c.is_empty()).map(normalize_comment);
        Rule {
            special: true,
            line: comment.clone(),
            comment,
            ..Rule::default()
        }
    }

    fn source_text(&self) -> String {
        self.source
            .as_ref()
            .map(Source::to_string)
            .unwrap_or_default()
    }

    /// The same key: type, database, user and source (special lines: the
    /// same comment, else the same text).
    pub fn same_key(&self, other: &Rule) -> bool {
        if self.special && other.special {
            if let (Some(a), Some(b)) = (&self.comment, &other.comment) {
                return a == b;
            }
            return self.line == other.line;
        }
        self.contype == other.contype
            && self.user == other.user
            && self.database == other.database
            && self.source == other.source
            && !self.special
            && !other.special
    }

    pub fn identical(&self, other: &Rule) -> bool {
        self.same_key(other) && self.method == other.method && self.options == other.options
    }

    fn options_text(&self) -> String {
        self.options
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The line written for this rule.
    pub fn serialize(&self) -> String {
        if let Some(line) = self.line.as_ref().filter(|l| !l.is_empty()) {
            return line.clone();
        }
        if self.special {
            return match &self.comment {
                None => self.line.clone().unwrap_or_default(),
                Some(c) if c.starts_with('#') => c.clone(),
                Some(c) => format!("#{c}"),
            };
        }
        let mut fields = vec![
            self.contype.clone(),
            self.database.clone(),
            self.user.clone(),
        ];
        if self.contype != "local" {
            fields.push(self.source_text());
        }
        fields.push(self.method.clone());
        if self.options.as_ref().is_some_and(|o| !o.is_empty()) {
            fields.push(self.options_text());
        }
        if let Some(comment) = &self.comment {
            fields.push(if comment.starts_with('#') {
                comment.clone()
            } else {
                format!("#{comment}")
            });
        }
        fields.join("\t")
    }

    /// The entry of the result's `pg_hba` (special lines have none).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), self.contype.clone().into());
        map.insert("db".into(), self.database.clone().into());
        map.insert("usr".into(), self.user.clone().into());
        map.insert("method".into(), self.method.clone().into());
        if !matches!(self.source, Some(Source::Local) | None) {
            map.insert("src".into(), self.source_text().into());
        }
        if self.options.as_ref().is_some_and(|o| !o.is_empty()) {
            map.insert("options".into(), self.options_text().into());
        }
        map.into()
    }

    fn line_text(&self) -> &str {
        self.line.as_deref().unwrap_or("")
    }

    fn special_weight(&self) -> u32 {
        if self.comment.is_some() {
            1
        } else if self.line_text().starts_with("include") {
            90
        } else {
            99
        }
    }

    fn source_weight(&self) -> u32 {
        match &self.source {
            None | Some(Source::Local) => 130,
            Some(Source::V4(_, len)) => u32::from(*len) * 4,
            Some(Source::V6(_, len)) => u32::from(*len),
            Some(Source::Host(name)) => match name.as_str() {
                "all" => 0,
                "samehost" => 129,
                "samenet" => 96,
                n if n.starts_with('.') => 64,
                _ => 128,
            },
        }
    }

    fn db_weight(&self) -> usize {
        if self.database.starts_with('"') {
            return 3;
        }
        let list: Vec<&str> = self.database.split(',').collect();
        if list.contains(&"all") {
            100_000
        } else if self.database == "replication" {
            0
        } else if self.database == "samerole" || self.database == "samegroup" {
            2
        } else {
            3 + list.len()
        }
    }

    fn user_weight(&self) -> usize {
        if self.user.starts_with('"') {
            return 1;
        }
        let list: Vec<&str> = self.user.split(',').collect();
        if list.contains(&"all") {
            100_000
        } else {
            1 + list.len()
        }
    }

    fn source_type_weight(&self) -> u32 {
        match &self.source {
            None | Some(Source::Local) => 3,
            Some(Source::V4(..)) => 2,
            Some(Source::V6(..)) => 1,
            Some(Source::Host(_)) => 0,
        }
    }

    /// community.postgresql's `__lt__`: comments first, includes last,
    /// then the more specific source, database and user first.
    pub fn less(&self, other: &Rule) -> bool {
        if self.special && other.special {
            let (mine, his) = (self.special_weight(), other.special_weight());
            if mine != his {
                return mine < his;
            }
            return match (self.line_nr, other.line_nr) {
                (0, 0) => self.line_text() < other.line_text(),
                (a, b) if a != 0 && b != 0 => a < b,
                (a, b) => a > b,
            };
        }
        if self.special {
            return !self.line_text().starts_with("include") && self.comment.is_some();
        }
        if other.special {
            return other.line_text().starts_with("include") && other.comment.is_none();
        }
        let (mine, his) = (self.source_weight(), other.source_weight());
        if mine != his {
            return mine > his;
        }
        let (mine, his) = (self.db_weight(), other.db_weight());
        if mine != his {
            return mine < his;
        }
        let (mine, his) = (self.user_weight(), other.user_weight());
        if mine != his {
            return mine < his;
        }
        let (mine, his) = (self.source_type_weight(), other.source_type_weight());
        if mine != his {
            return mine > his;
        }
        if self.source != other.source {
            return match (&self.source, &other.source) {
                (Some(Source::V4(a, l)), Some(Source::V4(b, m))) => (a, l) < (b, m),
                (Some(Source::V6(a, l)), Some(Source::V6(b, m))) => (a, l) < (b, m),
                (Some(Source::Host(a)), Some(Source::Host(b))) => a < b,
                _ => false,
            };
        }
        self.serialize() < other.serialize()
    }
}

/// The rules of a whole file.
pub fn parse_file(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    let mut lines = text.split('\n');
    let mut line_nr = 1;
    while let Some(first) = lines.next() {
        let mut line = first.to_string();
        let start = line_nr;
        while line.ends_with('\\') {
            let Some(next) = lines.next() else {
                return Err("The last line ended with a '\\' (line continuation).".into());
            };
            line_nr += 1;
            line.push('\n');
            line.push_str(next);
        }
        rules.push(Rule::from_line(&line, start)?);
        line_nr += 1;
    }
    Ok(rules)
}

/// Drops empty lines and sorts the rest as Python's stable `sort` does
/// with the rules' `__lt__` (binary insertion, which never fails on an
/// order that is not total).
pub fn sort_rules(rules: &mut Vec<Rule>) {
    rules.retain(|rule| !(rule.special && rule.line_text().is_empty() && rule.comment.is_none()));
    let mut sorted: Vec<Rule> = Vec::with_capacity(rules.len());
    for rule in rules.drain(..) {
        let (mut lo, mut hi) = (0, sorted.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if rule.less(&sorted[mid]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        sorted.insert(lo, rule);
    }
    *rules = sorted;
}

/// The file's text.
pub fn render(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(Rule::serialize)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether two lists hold identical rules in the same order.
pub fn identical_lists(a: &[Rule], b: &[Rule]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.identical(y))
}
