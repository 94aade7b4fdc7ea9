//! `replace` on lab7: every match replaced, through a symlink, with the
//! mode kept; check mode leaves the file alone; a second run is ok.

use super::*;

#[test]
fn replace_rewrites_every_match_through_a_symlink_idempotently() {
    let Setup { lab, dir, .. } = setup("replace");
    sh_ok(
        &lab,
        &format!(
            "printf 'server 127.0.0.1:8000;\\nserver 127.0.0.1:8000 backup;\\nlisten 80;\\n' > {dir}/real.conf \
             && chmod 0640 {dir}/real.conf && ln -s real.conf {dir}/site.conf"
        ),
    );
    let params = json!({
        "path": format!("{dir}/site.conf"),
        "regexp": "^(server 127\\.0\\.0\\.1):\\d+",
        "replace": "\\1:8001",
    });
    check_changes_nothing(&lab, "replace", params.clone(), &format!("{dir}/real.conf"));
    let changed = lab.converge("replace", params.clone());
    assert_eq!(changed.msg.as_deref(), Some("2 replacements made"));
    assert_eq!(
        cat(&lab, &format!("{dir}/real.conf")),
        "server 127.0.0.1:8001;\nserver 127.0.0.1:8001 backup;\nlisten 80;\n"
    );
    assert_eq!(attrs(&lab, &format!("{dir}/real.conf")), "640 root root");
    assert_eq!(
        sh_ok(&lab, &format!("readlink {dir}/site.conf")),
        "real.conf"
    );
    assert_status(&lab.run("replace", params, false), Status::Ok);

    let missing = lab.run(
        "replace",
        json!({"path": format!("{dir}/none"), "regexp": "x"}),
        false,
    );
    assert_eq!(
        failure(&missing),
        format!("Path {dir}/none does not exist !")
    );
}
