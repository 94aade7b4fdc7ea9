//! Archives read on the controller for `unarchive`: what they hold (to
//! compare with the host), and a tar stream for the host's `tar`. Zip and
//! xz archives are converted to tar.gz here, so a Debian minbase host needs
//! nothing beyond `tar` and `gzip`.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

/// One member, at a path relative to `dest` (no `./`, no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub path: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    /// `mtime` in whole seconds, as `tar` restores it.
    File {
        size: u64,
        mtime: u64,
    },
    Symlink(String),
    /// A device or fifo: only its existence is compared.
    Other,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Dir => "directory",
            Kind::File { .. } => "file",
            Kind::Symlink(_) => "link",
            Kind::Other => "special file",
        }
    }
}

/// What `unarchive` compares and uploads.
#[derive(Debug, Clone)]
pub(crate) struct Archive {
    /// In archive order; a path listed twice keeps its last entry.
    pub entries: Vec<Entry>,
    /// A tar stream for the host.
    pub upload: Vec<u8>,
    /// `upload` is gzip-compressed.
    pub gzip: bool,
}

/// Reads a .tar, .tar.gz/.tgz, .tar.xz or .zip archive (told apart by their
/// first bytes, not their names).
pub(crate) fn read(bytes: Vec<u8>) -> Result<Archive, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let entries = tar_entries(MultiGzDecoder::new(bytes.as_slice()))?;
        return Ok(Archive {
            entries,
            upload: bytes,
            gzip: true,
        });
    }
    if bytes.starts_with(b"\xfd7zXZ\0") {
        let mut tar = Vec::new();
        lzma_rust2::XzReader::new(bytes.as_slice(), true)
            .read_to_end(&mut tar)
            .map_err(|err| format!("xz: {err}"))?;
        let entries = tar_entries(tar.as_slice())?;
        return Ok(Archive {
            entries,
            upload: gzip(&tar)?,
            gzip: true,
        });
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let (entries, tar) = zip_to_tar(&bytes)?;
        return Ok(Archive {
            entries,
            upload: gzip(&tar)?,
            gzip: true,
        });
    }
    if bytes.get(257..262) != Some(b"ustar".as_slice()) {
        return Err("not a tar, tar.gz, tar.xz or zip archive".into());
    }
    let entries = tar_entries(bytes.as_slice())?;
    Ok(Archive {
        entries,
        upload: bytes,
        gzip: false,
    })
}

fn tar_entries(reader: impl Read) -> Result<Vec<Entry>, String> {
    let mut archive = tar::Archive::new(reader);
    let mut entries = Vec::new();
    let mut files: HashMap<String, Kind> = HashMap::new();
    let members = archive.entries().map_err(|err| format!("tar: {err}"))?;
    for member in members {
        let member = member.map_err(|err| format!("tar: {err}"))?;
        let name = member.path().map_err(|err| format!("tar: {err}"))?;
        let Some(path) = relative(&name.to_string_lossy())? else {
            continue;
        };
        let header = member.header();
        let link = || -> Result<String, String> {
            let target = member.link_name().map_err(|err| format!("tar: {err}"))?;
            Ok(target
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default())
        };
        let kind = match header.entry_type() {
            EntryType::Directory => Kind::Dir,
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => Kind::File {
                size: header.size().map_err(|err| format!("tar: {err}"))?,
                mtime: header.mtime().map_err(|err| format!("tar: {err}"))?,
            },
            EntryType::Symlink => Kind::Symlink(link()?),
            // A hard link is the file it links to.
            EntryType::Link => relative(&link()?)?
                .and_then(|target| files.get(&target).cloned())
                .unwrap_or(Kind::Other),
            _ => Kind::Other,
        };
        files.insert(path.clone(), kind.clone());
        entries.push(Entry { path, kind });
    }
    Ok(last_per_path(entries))
}

/// Converts a zip archive to tar: modes from the zip's unix attributes
/// (0644 / 0755 without), times from its extended timestamp (else its DOS
/// time, read as UTC), owned by whoever extracts.
fn zip_to_tar(bytes: &[u8]) -> Result<(Vec<Entry>, Vec<u8>), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|err| format!("zip: {err}"))?;
    let mut builder = tar::Builder::new(Vec::new());
    let mut entries = Vec::new();
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).map_err(|err| format!("zip: {err}"))?;
        let name = file
            .name()
            .map_err(|err| format!("zip: {err}"))?
            .into_owned();
        let Some(path) = relative(&name)? else {
            continue;
        };
        let mtime = zip_mtime(&file);
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|err| format!("zip: {name}: {err}"))?;
        let mut header = Header::new_gnu();
        header.set_mtime(mtime);
        let add = |result: std::io::Result<()>| result.map_err(|err| format!("tar: {err}"));
        let kind = if file.is_dir() {
            header.set_entry_type(EntryType::Directory);
            header.set_mode(file.unix_mode().unwrap_or(0o755) & 0o7777);
            header.set_size(0);
            add(builder.append_data(&mut header, format!("{path}/"), std::io::empty()))?;
            Kind::Dir
        } else if file.is_symlink() {
            let target = String::from_utf8_lossy(&data).into_owned();
            header.set_entry_type(EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            add(builder.append_link(&mut header, &path, &target))?;
            Kind::Symlink(target)
        } else {
            header.set_entry_type(EntryType::Regular);
            header.set_mode(file.unix_mode().unwrap_or(0o644) & 0o7777);
            header.set_size(data.len() as u64);
            add(builder.append_data(&mut header, &path, data.as_slice()))?;
            Kind::File {
                size: data.len() as u64,
                mtime,
            }
        };
        entries.push(Entry { path, kind });
    }
    let tar = builder.into_inner().map_err(|err| format!("tar: {err}"))?;
    Ok((last_per_path(entries), tar))
}

fn zip_mtime<R: Read>(file: &zip::read::ZipFile<'_, R>) -> u64 {
    let extended = file.extra_data_fields().find_map(|field| match field {
        zip::extra_fields::ExtraField::ExtendedTimestamp(stamp) => stamp.mod_time(),
        _ => None,
    });
    if let Some(seconds) = extended {
        return u64::from(seconds);
    }
    file.last_modified().map_or(0, |time| {
        let days = days_from_civil(
            i64::from(time.year()),
            i64::from(time.month()),
            i64::from(time.day()),
        );
        let seconds = days * 86_400
            + i64::from(time.hour()) * 3_600
            + i64::from(time.minute()) * 60
            + i64::from(time.second());
        u64::try_from(seconds).unwrap_or(0)
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A member name as a path under `dest`: `None` for `dest` itself; an error
/// for names that would escape it.
fn relative(name: &str) -> Result<Option<String>, String> {
    if name.starts_with('/') {
        return Err(format!("member {name:?} has an absolute path"));
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!("member {name:?} points outside dest"));
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn last_per_path(entries: Vec<Entry>) -> Vec<Entry> {
    let last: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.path.as_str(), index))
        .collect();
    let keep: Vec<bool> = (0..entries.len())
        .map(|index| last.get(entries[index].path.as_str()) == Some(&index))
        .collect();
    entries
        .into_iter()
        .zip(keep)
        .filter_map(|(entry, keep)| keep.then_some(entry))
        .collect()
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|err| format!("gzip: {err}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tar with `app/`, `app/run.sh` (0755, "echo hi\n"), a symlink
    /// `app/current -> run.sh`, and a hard link `app/again` to run.sh.
    pub fn sample_tar() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dir = Header::new_ustar();
        dir.set_entry_type(EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_mtime(1_700_000_000);
        dir.set_size(0);
        builder
            .append_data(&mut dir, "./app/", std::io::empty())
            .unwrap();
        let mut file = Header::new_ustar();
        file.set_mode(0o755);
        file.set_mtime(1_700_000_001);
        file.set_size(8);
        builder
            .append_data(&mut file, "./app/run.sh", b"echo hi\n".as_slice())
            .unwrap();
        let mut link = Header::new_ustar();
        link.set_entry_type(EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "app/current", "run.sh")
            .unwrap();
        let mut hard = Header::new_ustar();
        hard.set_entry_type(EntryType::Link);
        hard.set_size(0);
        builder
            .append_link(&mut hard, "app/again", "app/run.sh")
            .unwrap();
        builder.into_inner().unwrap()
    }

    pub fn sample_entries() -> Vec<Entry> {
        let run = Kind::File {
            size: 8,
            mtime: 1_700_000_001,
        };
        vec![
            Entry {
                path: "app".into(),
                kind: Kind::Dir,
            },
            Entry {
                path: "app/run.sh".into(),
                kind: run.clone(),
            },
            Entry {
                path: "app/current".into(),
                kind: Kind::Symlink("run.sh".into()),
            },
            Entry {
                path: "app/again".into(),
                kind: run,
            },
        ]
    }

    #[test]
    fn lists_plain_and_gzipped_tar() {
        let tar = sample_tar();
        let plain = read(tar.clone()).unwrap();
        assert_eq!(plain.entries, sample_entries());
        assert!(!plain.gzip);
        assert_eq!(plain.upload, tar);
        let gz = gzip(&tar).unwrap();
        let archive = read(gz.clone()).unwrap();
        assert_eq!(archive.entries, sample_entries());
        assert!(archive.gzip);
        assert_eq!(archive.upload, gz);
    }

    #[test]
    fn xz_is_converted_to_gzip() {
        let tar = sample_tar();
        let mut xz =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).unwrap();
        xz.write_all(&tar).unwrap();
        let xz = xz.finish().unwrap();
        let archive = read(xz).unwrap();
        assert_eq!(archive.entries, sample_entries());
        let mut unpacked = Vec::new();
        MultiGzDecoder::new(archive.upload.as_slice())
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, tar);
    }

    #[test]
    fn zip_is_converted_to_tar() {
        use zip::write::SimpleFileOptions;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .unix_permissions(0o750)
            .last_modified_time(zip::DateTime::from_date_and_time(2024, 3, 1, 12, 0, 0).unwrap());
        writer.add_directory("site/", options).unwrap();
        writer.start_file("site/index.html", options).unwrap();
        writer.write_all(b"<h1>hi</h1>\n").unwrap();
        writer
            .add_symlink("site/home.html", "index.html", options)
            .unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        let archive = read(bytes).unwrap();
        let mtime = 1_709_294_400;
        assert_eq!(
            archive.entries,
            [
                Entry {
                    path: "site".into(),
                    kind: Kind::Dir
                },
                Entry {
                    path: "site/index.html".into(),
                    kind: Kind::File { size: 12, mtime }
                },
                Entry {
                    path: "site/home.html".into(),
                    kind: Kind::Symlink("index.html".into())
                },
            ]
        );
        let converted = tar_entries(MultiGzDecoder::new(archive.upload.as_slice())).unwrap();
        assert_eq!(converted, archive.entries);
        let mut tar = tar::Archive::new(MultiGzDecoder::new(archive.upload.as_slice()));
        let modes: Vec<u32> = tar
            .entries()
            .unwrap()
            .map(|entry| entry.unwrap().header().mode().unwrap())
            .collect();
        assert_eq!(modes, [0o750, 0o750, 0o777]);
    }

    #[test]
    fn rejects_escaping_members_and_other_files() {
        assert_eq!(relative("./a//b/").unwrap().as_deref(), Some("a/b"));
        assert_eq!(relative("./").unwrap(), None);
        assert!(relative("/etc/passwd").is_err());
        assert!(relative("a/../../x").is_err());
        assert!(read(b"hello".to_vec()).is_err());
        assert!(read(Vec::new()).is_err());
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 3, 1), 19_783);
    }
}
