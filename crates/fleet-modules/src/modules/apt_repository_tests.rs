use super::*;
use crate::Step;
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn module(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn error(params: Value) -> String {
    build(params, &NoFiles).unwrap_err().to_string()
}

/// Probe output for `files` (path, content).
fn found(files: &[(&str, &str)]) -> Probe {
    let mut out = String::new();
    for (path, content) in files {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        out += &format!("file={path}\nreal={path}\nmode=644\ncontent={encoded}\n");
    }
    Probe::ok(&out)
}

const REPO: &str = "deb http://10.77.0.1:8080/apt fleet-test main";
const LIST: &str = "/etc/apt/sources.list.d/10_77_0_1_8080_apt.list";

fn uploads(plan: &Plan) -> Vec<(String, String, u32)> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::Upload {
                dest,
                contents,
                mode,
                ..
            } => Some((
                dest.clone(),
                String::from_utf8(contents.clone()).unwrap(),
                *mode,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn file_names_come_from_the_url_as_ansible_derives_them() {
    let params = |filename: Option<&str>| AptRepositoryParams {
        filename: filename.map(str::to_string),
        ..serde_json::from_value(json!({"repo": REPO})).unwrap()
    };
    let cases = [
        (REPO, "10_77_0_1_8080_apt.list"),
        (
            "deb [arch=amd64 signed-by=/etc/apt/keyrings/d.asc] https://user:pw@download.docker.com/linux/debian bookworm stable",
            "download_docker_com_linux_debian.list",
        ),
        (
            "deb-src http://deb.example.org/debian/ bookworm main",
            "deb_example_org_debian.list",
        ),
    ];
    for (line, name) in cases {
        assert_eq!(suggest_filename(line, &params(None)), name, "{line}");
    }
    assert_eq!(suggest_filename(REPO, &params(Some("mine"))), "mine.list");
}

#[test]
fn lines_are_parsed_as_ansible_reads_them() {
    let line = parse_line("#  deb   http://x  y z # the comment \n");
    assert_eq!(
        line,
        Line {
            valid: true,
            enabled: false,
            source: "deb http://x y z".into(),
            comment: "the comment".into()
        }
    );
    assert_eq!(dump(&[line]), "# deb http://x y z # the comment\n");
    let other = parse_line("# just words");
    assert!(!other.valid && !other.enabled);
    assert_eq!(dump(&[other, parse_line("")]), "# just words\n\n");
}

#[test]
fn present_adds_a_file_then_is_ok() {
    let module = module(json!({"repo": format!("  {REPO} "), "mode": "0600"}));
    assert_eq!(
        module.probe().unwrap().as_str(),
        "files='/etc/apt/sources.list /etc/apt/sources.list.d/*.list'\n\
         for f in $files; do\n[ -f \"$f\" ] || continue\n\
         printf 'file=%s\\n' \"$f\"\nprintf 'real=%s\\n' \"$(readlink -f -- \"$f\")\"\n\
         stat -L --printf 'mode=%a\\n' -- \"$f\"\nprintf 'content='; base64 -w0 < \"$f\"; echo\ndone\n"
    );
    let plan = module.plan(&found(&[])).unwrap();
    assert!(plan.changed);
    assert_eq!(
        uploads(&plan),
        [(LIST.to_string(), format!("{REPO}\n"), 0o600)]
    );
    assert!(
        plan.steps[1]
            .script_text()
            .unwrap()
            .contains("apt-get update -q")
    );
    assert_eq!(plan.data["sources_added"], json!([LIST]));
    assert_eq!(plan.data["sources_removed"], json!([]));
    assert!(plan.diff.unwrap().contains(&format!("+{REPO}")));
    let again = module
        .plan(&found(&[(LIST, &format!("{REPO}\n"))]))
        .unwrap();
    assert!(!again.changed && again.steps.is_empty());
}

#[test]
fn a_line_anywhere_counts_and_a_disabled_copy_is_enabled_in_place() {
    let module = module(json!({"repo": REPO, "update_cache": false}));
    let elsewhere = module
        .plan(&found(&[("/etc/apt/sources.list", &format!("{REPO}\n"))]))
        .unwrap();
    assert!(!elsewhere.changed);
    let disabled = module
        .plan(&found(&[(
            "/etc/apt/sources.list.d/x.list",
            &format!("# comment\n#{REPO} # mine\n"),
        )]))
        .unwrap();
    assert_eq!(
        uploads(&disabled),
        [(
            "/etc/apt/sources.list.d/x.list".to_string(),
            format!("# comment\n{REPO} # mine\n"),
            0o644
        )]
    );
    assert_eq!(disabled.steps.len(), 1, "no update_cache");
    assert_eq!(disabled.data["sources_added"], json!([]));
}

#[test]
fn absent_removes_every_enabled_copy_and_an_emptied_file() {
    let module = module(json!({"repo": REPO, "state": "absent"}));
    let plan = module
        .plan(&found(&[
            (
                "/etc/apt/sources.list",
                &format!("deb http://a b c\n{REPO}\n"),
            ),
            (LIST, &format!("{REPO}\n")),
        ]))
        .unwrap();
    assert!(plan.changed);
    assert_eq!(
        uploads(&plan),
        [(
            "/etc/apt/sources.list".to_string(),
            "deb http://a b c\n".to_string(),
            0o644
        )]
    );
    assert_eq!(
        plan.steps[1].script_text(),
        Some(format!("rm -f -- {LIST}\n").as_str())
    );
    assert_eq!(plan.data["sources_removed"], json!([LIST]));
    assert!(!module.plan(&found(&[])).unwrap().changed);
    let commented = module
        .plan(&found(&[(LIST, &format!("# {REPO}\n"))]))
        .unwrap();
    assert!(!commented.changed, "a disabled line stays");
}

#[test]
fn bad_params_are_refused() {
    assert!(error(json!({"repo": REPO, "stat": "absent"})).contains("unknown field `stat`"));
    assert!(error(json!({"repo": "http://x y z"})).contains("Invalid repository string"));
    assert!(error(json!({"repo": "# deb http://x y z"})).contains("Invalid repository string"));
    assert!(error(json!({"repo": ""})).contains("non-empty"));
    assert!(error(json!({"repo": "ppa:nginx/stable"})).contains("ppa"));
    assert!(error(json!({"repo": REPO, "filename": "a/b"})).contains("without `/`"));
    assert!(error(json!({"repo": REPO, "state": "enabled"})).contains("unknown variant"));
    assert!(build(json!({"repo": REPO, "update-cache": "no"}), &NoFiles).is_ok());
}
