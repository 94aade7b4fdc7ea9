//! A minimal pure-Python wheel, built on the controller the way an
//! air-gapped site prepares its wheelhouse: a zip archive (stored, not
//! compressed) holding one module and its `.dist-info`.

/// The wheel's file name and bytes for `name` (e.g. `fleet-probe-pkg`) at
/// `version`. The module inside is `name` with `-` as `_` and has `VERSION`.
pub fn build(name: &str, version: &str) -> (String, Vec<u8>) {
    let module = name.replace('-', "_");
    let info = format!("{module}-{version}.dist-info");
    let files = [
        (
            format!("{module}/__init__.py"),
            format!("VERSION = \"{version}\"\n"),
        ),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: fleet-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_string(),
        ),
        (
            format!("{info}/RECORD"),
            format!("{module}/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"),
        ),
    ];
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_bytes()))
        .collect();
    (
        format!("{module}-{version}-py3-none-any.whl"),
        zip(&entries),
    )
}

/// `bytes` as `printf` octal escapes (`\101\102`), safe inside `'…'`.
pub fn octal_escaped(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("\\{byte:03o}")).collect()
}

/// A zip archive of `entries`, stored without compression, dated
/// 1980-01-01 (the earliest date zip can hold).
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (path, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let name_len = path.len() as u16;
        out.extend(0x0403_4b50_u32.to_le_bytes());
        for field in [20u16, 0, 0, 0, DOS_DATE] {
            out.extend(field.to_le_bytes());
        }
        for field in [crc, size, size] {
            out.extend(field.to_le_bytes());
        }
        out.extend(name_len.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(path.as_bytes());
        out.extend(*data);

        central.extend(0x0201_4b50_u32.to_le_bytes());
        for field in [20u16, 20, 0, 0, 0, DOS_DATE] {
            central.extend(field.to_le_bytes());
        }
        for field in [crc, size, size] {
            central.extend(field.to_le_bytes());
        }
        for field in [name_len, 0, 0, 0, 0] {
            central.extend(field.to_le_bytes());
        }
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(path.as_bytes());
    }
    let central_offset = out.len() as u32;
    let count = entries.len() as u16;
    out.extend(&central);
    out.extend(0x0605_4b50_u32.to_le_bytes());
    for field in [0u16, 0, count, count] {
        out.extend(field.to_le_bytes());
    }
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(central_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// CRC-32 (IEEE), as zip uses it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}
