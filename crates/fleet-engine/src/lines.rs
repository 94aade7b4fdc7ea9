//! Splits a byte stream into whole lines, so output is never torn apart.

/// Accumulates bytes and hands out complete lines (without the newline).
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Adds `bytes` and returns every line they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            lines.push(to_text(&line[..line.len() - 1]));
        }
        lines
    }

    /// Returns the unterminated tail, if any.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let tail = to_text(&self.pending);
        self.pending.clear();
        Some(tail)
    }
}

fn to_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lines_split_across_chunks() {
        let mut buf = LineBuffer::default();
        assert_eq!(buf.push(b"hel"), Vec::<String>::new());
        assert_eq!(buf.push(b"lo\nwor"), vec!["hello"]);
        assert_eq!(buf.push(b"ld\r\n\nx"), vec!["world", ""]);
        assert_eq!(buf.finish(), Some("x".to_string()));
        assert_eq!(buf.finish(), None);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let mut buf = LineBuffer::default();
        assert_eq!(buf.push(b"a\xffb\n"), vec!["a\u{fffd}b"]);
    }
}
