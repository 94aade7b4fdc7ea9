//! Builds the same small tree as .tar, .tar.gz, .tar.xz and .zip for the
//! `unarchive` tests.

use std::io::{Cursor, Write};

/// The tree: `site/` (0755), `site/index.html` (0644), `site/bin/`,
/// `site/bin/run.sh` (0755) and the symlink `site/current -> index.html`.
pub const INDEX: &str = "<h1>fleet</h1>\n";
pub const RUN: &str = "#!/bin/sh\necho run\n";
const MTIME: u64 = 1_700_000_000;

pub fn tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for dir in ["site/", "site/bin/"] {
        let mut header = header(tar::EntryType::Directory, 0o755, 0);
        builder
            .append_data(&mut header, dir, std::io::empty())
            .expect("dir");
    }
    for (path, mode, text) in [
        ("site/index.html", 0o644, INDEX),
        ("site/bin/run.sh", 0o755, RUN),
    ] {
        let mut header = header(tar::EntryType::Regular, mode, text.len() as u64);
        builder
            .append_data(&mut header, path, text.as_bytes())
            .expect("file");
    }
    let mut link = header(tar::EntryType::Symlink, 0o777, 0);
    builder
        .append_link(&mut link, "site/current", "index.html")
        .expect("link");
    builder.into_inner().expect("tar")
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(MTIME);
    header
}

pub fn tar_gz() -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&tar()).expect("gzip");
    encoder.finish().expect("gzip")
}

pub fn tar_xz() -> Vec<u8> {
    let mut writer =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).expect("xz");
    writer.write_all(&tar()).expect("xz");
    writer.finish().expect("xz")
}

pub fn zip() -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = |mode: u32| SimpleFileOptions::default().unix_permissions(mode);
    writer.add_directory("site/", options(0o755)).expect("zip");
    writer
        .add_directory("site/bin/", options(0o755))
        .expect("zip");
    writer
        .start_file("site/index.html", options(0o644))
        .expect("zip");
    writer.write_all(INDEX.as_bytes()).expect("zip");
    writer
        .start_file("site/bin/run.sh", options(0o755))
        .expect("zip");
    writer.write_all(RUN.as_bytes()).expect("zip");
    writer
        .add_symlink("site/current", "index.html", options(0o777))
        .expect("zip");
    writer.finish().expect("zip").into_inner()
}
