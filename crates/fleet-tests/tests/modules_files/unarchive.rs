//! `unarchive` on lab7: every archive format, and the options.

use super::*;

/// Extracts `archive` into a fresh dir and checks the exact tree.
fn unarchive_format(test: &str, name: &str, archive: Vec<u8>) {
    let Setup { lab, dir, files } = setup(test);
    std::fs::write(files.join(name), archive).expect("write");
    let params = json!({"src": name, "dest": dir});
    check_changes_nothing(&lab, "unarchive", params.clone(), &dir);
    lab.converge("unarchive", params.clone());
    assert_eq!(
        sh_ok(
            &lab,
            &format!("cd {dir} && find . -printf '%p %y %m\\n' | sort")
        ),
        ". d 755\n./site d 755\n./site/bin d 755\n./site/bin/run.sh f 755\n\
         ./site/current l 777\n./site/index.html f 644",
        "{name}: the exact tree, and no temp file left"
    );
    assert_eq!(
        cat(&lab, &format!("{dir}/site/index.html")),
        archives::INDEX
    );
    assert_eq!(cat(&lab, &format!("{dir}/site/bin/run.sh")), archives::RUN);
    assert_eq!(
        sh_ok(&lab, &format!("readlink {dir}/site/current")),
        "index.html"
    );

    // A changed file is noticed and restored.
    sh_ok(&lab, &format!("echo tampered > {dir}/site/index.html"));
    let repaired = lab.converge("unarchive", params);
    assert!(
        repaired
            .diff
            .unwrap_or_default()
            .contains("site/index.html: size 9 -> 15")
    );
    assert_eq!(
        cat(&lab, &format!("{dir}/site/index.html")),
        archives::INDEX
    );
}

#[test]
fn unarchive_tar_gz() {
    unarchive_format("unarchive_tgz", "site.tar.gz", archives::tar_gz());
}

#[test]
fn unarchive_tar_xz_without_xz_on_the_host() {
    unarchive_format("unarchive_txz", "site.tar.xz", archives::tar_xz());
}

#[test]
fn unarchive_zip_without_unzip_on_the_host() {
    unarchive_format("unarchive_zip", "site.zip", archives::zip());
}

#[test]
fn unarchive_plain_tar() {
    unarchive_format("unarchive_tar", "site.tar", archives::tar());
}

#[test]
fn unarchive_owner_mode_creates_and_missing_dest() {
    let Setup { lab, dir, files } = setup("unarchive_opts");
    std::fs::write(files.join("site.tgz"), archives::tar_gz()).expect("write");
    let params = json!({"src": "site.tgz", "dest": dir, "owner": "deploy", "mode": "0750", "list_files": true});
    let first = lab.converge("unarchive", params);
    assert_eq!(
        first.data["files"],
        json!([
            "site",
            "site/bin",
            "site/index.html",
            "site/bin/run.sh",
            "site/current"
        ])
    );
    assert_eq!(
        sh_ok(
            &lab,
            &format!("cd {dir} && find site ! -type l -printf '%p %m %u\\n' | sort")
        ),
        "site 750 deploy\nsite/bin 750 deploy\nsite/bin/run.sh 750 deploy\nsite/index.html 750 deploy"
    );
    assert_eq!(
        sh_ok(&lab, &format!("stat -c %U {dir}/site/current")),
        "deploy"
    );

    sh_ok(&lab, &format!("rm -rf {dir}/site"));
    let creates = json!({"src": "site.tgz", "dest": dir, "creates": format!("{dir}")});
    let skipped = lab.run("unarchive", creates, false);
    assert_status(&skipped, Status::Ok);
    assert!(skipped.msg.unwrap_or_default().starts_with("skipped: "));
    assert_eq!(lab.sh(&format!("test -e {dir}/site")).0, 1);

    let missing = lab.run(
        "unarchive",
        json!({"src": "site.tgz", "dest": format!("{dir}/nope")}),
        false,
    );
    assert!(failure(&missing).contains("must be an existing directory"));
}
