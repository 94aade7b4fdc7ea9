use super::*;
use crate::modules::command::stub_sh::{argv_stubs, run, scripts};
use crate::modules::tests::NoFiles;
use base64::Engine;
use serde_json::json;

fn locale_gen(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

const GEN: &str = "# This file lists locales that you wish to have built.\n\
                   #\n\
                   # de_CH.UTF-8 UTF-8\n\
                   # en_GB.UTF-8 UTF-8\n\
                   en_US.UTF-8 UTF-8\n\
                   #  fr_FR ISO-8859-1\n";

const SUPPORTED_TEXT: &str =
    "de_CH.UTF-8 UTF-8\nen_GB.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\nfr_FR ISO-8859-1\n";

fn probe(file: &str, listed: &str) -> Probe {
    Probe::ok(&format!(
        "mode=644\ngen={}\nsupported={}\nlocales={}\n",
        b64(file),
        b64(SUPPORTED_TEXT),
        b64(listed)
    ))
}

fn output(listed: &str) -> StepOutput {
    StepOutput {
        rc: 0,
        stdout: format!("Generating locales...\nlocales={}\n", b64(listed)),
        stderr: String::new(),
    }
}

#[test]
fn present_uncomments_the_lines_and_runs_locale_gen() {
    let module = locale_gen(json!({"name": ["de_CH.UTF-8", "fr_FR"]}));
    let plan = module
        .plan(&probe(GEN, "C\nC.utf8\nPOSIX\nen_US.utf8\n"))
        .unwrap();
    assert!(plan.changed);
    let Step::Upload { contents, mode, .. } = &plan.steps[0] else {
        panic!("{:?}", plan.steps[0]);
    };
    assert_eq!(
        String::from_utf8_lossy(contents),
        "# This file lists locales that you wish to have built.\n#\n\
         de_CH.UTF-8 UTF-8\n# en_GB.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\nfr_FR ISO-8859-1\n"
    );
    assert_eq!(*mode, 0o644);
    assert_eq!(
        scripts(&plan.steps[1..]),
        ["locale-gen\necho \"locales=$(locale -a | base64 -w0)\"\n"]
    );
    assert_eq!(plan.data["mechanism"], json!("glibc"));
    // Changed when `locale -a` then lists them.
    let after = "C\nde_CH.utf8\nen_US.utf8\nfr_FR\n";
    assert!(module.applied(&[output(after)]).unwrap().changed);
    assert!(!module.applied(&[output("en_US.utf8\n")]).unwrap().changed);
}

#[test]
fn present_locales_are_no_change() {
    let module = locale_gen(json!({"name": "en_US.UTF-8"}));
    let plan = module.plan(&probe(GEN, "C\nen_US.utf8\n")).unwrap();
    assert!(!plan.changed);
    assert_eq!(plan.data["name"], json!(["en_US.UTF-8"]));
}

#[test]
fn absent_comments_them_out_only_when_all_are_present() {
    let module = locale_gen(json!({"name": ["en_US.UTF-8"], "state": "absent"}));
    let plan = module.plan(&probe(GEN, "C\nen_US.utf8\n")).unwrap();
    let Step::Upload { contents, .. } = &plan.steps[0] else {
        panic!()
    };
    assert!(String::from_utf8_lossy(contents).contains("\n# en_US.UTF-8 UTF-8\n"));
    assert!(module.applied(&[output("C\n")]).unwrap().changed);
    // Ansible's state is "present" only when every locale is: one missing
    // makes the list "absent" already.
    let module = locale_gen(json!({"name": ["en_US.UTF-8", "de_CH.UTF-8"], "state": "absent"}));
    assert!(!module.plan(&probe(GEN, "C\nen_US.utf8\n")).unwrap().changed);
}

#[test]
fn unknown_locales_fail() {
    let module = locale_gen(json!({"name": ["xx_YY.UTF-8", "C.UTF-8", "en_GB.UTF-8", "zz"]}));
    let err = module.plan(&probe(GEN, "C.utf8\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The following locales you have entered are not available on your system: xx_YY.UTF-8, zz"
    );
    let err = module
        .plan(&Probe::ok(&format!("locales={}\n", b64("C\n"))))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Is the package \"locales\" installed?")
    );
}

#[test]
fn supported_lines_are_read_as_ansible_reads_them() {
    assert_eq!(listed_locale("en_US.UTF-8 UTF-8\n"), Some("en_US.UTF-8"));
    assert_eq!(listed_locale("#  fr_FR ISO-8859-1 \n"), Some("fr_FR"));
    assert_eq!(listed_locale("# This file lists locales\n"), None);
    assert_eq!(listed_locale("en_US  UTF-8\n"), None);
    assert_eq!(listed_locale("a UTF-8\n"), None);
}

#[test]
fn edit_normalizes_the_comment_of_a_line_it_touches() {
    let names = vec!["fr_FR".to_string()];
    assert_eq!(
        edit("#  fr_FR ISO-8859-1\n", &names, false),
        "# fr_FR ISO-8859-1\n"
    );
    assert_eq!(
        edit("fr_FR.UTF-8 UTF-8\n", &names, true),
        "fr_FR.UTF-8 UTF-8\n"
    );
    assert_eq!(edit("#fr_FR ISO-8859-1", &names, true), "fr_FR ISO-8859-1");
}

#[test]
fn the_probe_runs() {
    let module = locale_gen(json!({"name": "en_US.UTF-8"}));
    let out = run(&argv_stubs(&["locale"]), &module.probe().unwrap(), b"");
    assert_eq!(out.rc, 0, "{out:?}");
    assert!(out.stdout.contains("locales="), "{out:?}");
}

#[test]
fn rejects_bad_params() {
    for (params, message) in [
        (json!({"name": []}), "one or more"),
        (json!({"name": "a", "state": "gone"}), "unknown variant"),
        (json!({"state": "present"}), "missing field `name`"),
        (json!({"name": "a", "lang": "x"}), "unknown field"),
    ] {
        let err = build(params, &NoFiles).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
    let module = build(json!({"name": "en_US.UTF-8, de_CH.UTF-8"}), &NoFiles);
    assert!(module.is_ok());
}
