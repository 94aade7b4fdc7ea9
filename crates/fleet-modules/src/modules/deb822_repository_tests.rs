use super::*;
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const KEY: &str =
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";

#[test]
fn names_become_slugs_as_ansible_makes_them() {
    assert_eq!(slug("Docker CE_stable  (x86)"), "docker-ce-stable-x86");
    assert_eq!(slug("fleet"), "fleet");
}

#[test]
fn the_file_is_formatted_as_ansible_formats_it() {
    let params: Deb822RepositoryParams = serde_json::from_value(json!({
        "name": "fleet test", "uris": "http://x/apt", "suites": ["fleet-test"],
        "components": "main,contrib", "architectures": ["amd64"], "enabled": "yes",
        "trusted": false, "date_max_future": "10", "types": ["deb", "deb-src"],
    }))
    .unwrap();
    assert_eq!(
        render(&params, Some(KEY)),
        "Architectures: amd64\nComponents: main contrib\nDate-Max-Future: 10\nEnabled: yes\n\
         X-Repolib-Name: fleet test\n\
         Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mDMEZ\n    =abcd\n    -----END PGP PUBLIC KEY BLOCK-----\n\
         Suites: fleet-test\nTrusted: no\nTypes: deb deb-src\nURIs: http://x/apt\n"
    );
}

#[test]
fn present_writes_the_sources_file_then_is_ok() {
    let get = module(
        json!({"name": "fleet", "uris": ["http://x/apt"], "suites": "s", "components": "main",
                             "signed_by": "/etc/apt/keyrings/k.asc"}),
    );
    let plan = get.plan(&Probe::ok("signed_by_file=1\n")).unwrap();
    assert!(plan.changed);
    let text = "Components: main\nX-Repolib-Name: fleet\nSigned-By: /etc/apt/keyrings/k.asc\nSuites: s\nTypes: deb\nURIs: http://x/apt\n";
    assert!(
        matches!(&plan.steps[..], [Step::Upload { dest, contents, mode: 0o644, .. }]
        if dest == "/etc/apt/sources.list.d/fleet.sources" && contents == text.as_bytes())
    );
    assert_eq!(plan.data["key_filename"], "/etc/apt/keyrings/k.asc");
    let same = format!(
        "signed_by_file=1\nsources=1\nsources_mode=644\nsources_content={}\n",
        encode(text)
    );
    assert!(!get.plan(&Probe::ok(&same)).unwrap().changed);
    let other_mode = same.replace("sources_mode=644", "sources_mode=600");
    let plan = get.plan(&Probe::ok(&other_mode)).unwrap();
    assert_eq!(
        plan.steps[0].script_text(),
        Some("chmod 0644 -- /etc/apt/sources.list.d/fleet.sources\n")
    );
}

#[test]
fn a_key_url_is_fetched_into_the_keyrings() {
    let get = module(
        json!({"name": "fleet", "uris": "http://x/apt", "suites": "s", "components": "main",
                             "signed_by": "http://x/key.asc"}),
    );
    assert!(
        get.probe().unwrap().contains(
            "curl -fsSL --max-time 30 -A ansible-httpget -- http://x/key.asc | base64 -w0"
        )
    );
    let plan = get
        .plan(&Probe::ok(&format!("key={}\n", encode(KEY))))
        .unwrap();
    assert_eq!(
        plan.steps[0].script_text(),
        Some(
            "mkdir -p -- /etc/apt/keyrings && chown root:root -- /etc/apt/keyrings && chmod 0755 -- /etc/apt/keyrings\n"
        )
    );
    assert!(
        matches!(&plan.steps[1], Step::Upload { dest, .. } if dest == "/etc/apt/keyrings/fleet.asc")
    );
    assert_eq!(plan.data["key_filename"], "/etc/apt/keyrings/fleet.asc");
    assert!(
        plan.data["repo"]
            .as_str()
            .unwrap()
            .contains("Signed-By: /etc/apt/keyrings/fleet.asc\n")
    );
    let none = get.plan(&Probe::ok("key=\n")).unwrap_err();
    assert!(
        none.to_string()
            .starts_with("Could not fetch signed_by key")
    );
}

#[test]
fn absent_removes_the_file_and_its_keys() {
    let get = module(json!({"name": "fleet", "state": "absent"}));
    let plan = get.plan(&Probe::ok("sources=1\nasc=1\n")).unwrap();
    let scripts: Vec<_> = plan.steps.iter().filter_map(Step::script_text).collect();
    assert_eq!(
        scripts,
        [
            "rm -f -- /etc/apt/sources.list.d/fleet.sources\n",
            "rm -f -- /etc/apt/keyrings/fleet.asc\n"
        ]
    );
    assert!(!get.plan(&Probe::ok("")).unwrap().changed);
}

#[test]
fn bad_params_are_refused() {
    let err = |params: Value| build(params, &NoFiles).unwrap_err().to_string();
    assert!(err(json!({"name": "x", "types": "rpm"})).contains("deb, deb-src"));
    assert!(err(json!({"name": "x", "update_cache": true})).contains("unknown field"));
    assert!(err(json!({"uris": "http://x"})).contains("name"));
    assert!(err(json!({"name": "!!"})).contains("no file name"));
}
