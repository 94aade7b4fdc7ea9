//! What Ansible's generic modules (`package`, `service`) share: each hands
//! its task to the one backend fleet drives (apt, systemd), after checking
//! and dropping `use`.

use serde_json::{Map, Value};

use crate::ModuleError;

/// The parameter lists in `parts`, one after the other, as one list of `N`
/// names: a backend's, then the generic module's own.
pub(crate) const fn joined<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut part, mut at) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            out[at] = parts[part][i];
            at += 1;
            i += 1;
        }
        part += 1;
    }
    assert!(at == N, "N is the total length of the parts");
    out
}

/// The task's params for `backend`: a map, with `use` (which may name only
/// `auto` or the backend) taken out.
pub(crate) fn backend_params(
    module: &str,
    backend: &str,
    params: Value,
) -> Result<Map<String, Value>, ModuleError> {
    let invalid = |message: String| ModuleError::Params {
        module: module.into(),
        message,
    };
    let Value::Object(mut map) = params else {
        return Err(invalid("parameters must be a map".into()));
    };
    if let Some(manager) = map.remove("use") {
        let manager = manager.as_str().map(str::to_ascii_lowercase);
        if !manager
            .as_deref()
            .is_some_and(|m| m == "auto" || m == backend)
        {
            return Err(invalid(format!(
                "use: fleet drives {backend} only (auto or {backend}), got {}",
                manager.unwrap_or_default()
            )));
        }
    }
    Ok(map)
}
