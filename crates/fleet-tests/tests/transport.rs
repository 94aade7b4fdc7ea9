//! The SSH transport used directly: connection reuse, channel cap, upload.

use std::path::Path;

use fleet_ssh::{Client, ExecOptions, SshOptions, Target};
use fleet_tests::Lab;

fn client(lab: &Lab) -> Client {
    let mut options = SshOptions::with_defaults();
    options.known_hosts = lab.known_hosts();
    options.ssh_config = Some(Path::new("/dev/null").to_path_buf());
    Client::new(options).expect("client")
}

fn target(lab: &Lab, host: &str) -> Target {
    Target {
        name: host.to_string(),
        address: lab.address(host),
        port: None,
        user: Some("root".into()),
        identity_file: Some(lab.key()),
        jump: None,
    }
}

#[tokio::test]
async fn many_commands_share_one_connection_beyond_the_channel_cap() {
    let lab = Lab::get();
    let session = client(lab)
        .connect(&target(lab, "lab1"))
        .await
        .expect("connect");
    let options = ExecOptions::default();
    let runs = (0..30).map(|i| {
        let session = &session;
        let options = &options;
        async move {
            let command = format!("sleep 0.2; echo {i} $SSH_CONNECTION");
            session.exec_collect(&command, options).await
        }
    });
    let outputs = futures::future::join_all(runs).await;
    let mut client_ports = std::collections::BTreeSet::new();
    for (i, output) in outputs.into_iter().enumerate() {
        let output = output.expect("exec");
        assert_eq!(output.status, 0);
        let text = String::from_utf8(output.stdout).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields[0], i.to_string());
        client_ports.insert(fields[2].to_string());
    }
    assert_eq!(
        client_ports.len(),
        1,
        "every command came over one TCP connection"
    );
    session.close().await;
}

#[tokio::test]
async fn upload_lands_the_exact_bytes_mode_and_owner_atomically() {
    let lab = Lab::get();
    let session = client(lab)
        .connect(&target(lab, "lab2"))
        .await
        .expect("connect");
    let contents: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let dest = "/tmp/fleet-upload-test.bin";
    session
        .upload(&contents, dest, 0o640, Some("deploy"), None)
        .await
        .expect("upload");

    let check = session
        .exec_collect(
            &format!("stat -c '%a %U' {dest}; ls -a /tmp | grep -c fleet-tmp || true"),
            &ExecOptions::default(),
        )
        .await
        .expect("stat");
    assert_eq!(String::from_utf8_lossy(&check.stdout), "640 deploy\n0\n");
    let copy = session
        .exec_collect(&format!("cat {dest}"), &ExecOptions::default())
        .await
        .expect("cat");
    assert_eq!(copy.stdout.len(), contents.len());
    assert!(copy.stdout == contents, "uploaded bytes differ");
    session.close().await;
}
