//! `-b/--become` and `--become-user` of `fleet apply` and `fleet check`:
//! defaults for every play, under what the playbook writes, as Ansible's
//! command-line become settings are.

use fleet_inventory::UserName;
use fleet_playbook::{BecomeMethod, Playbook};

/// `become`: every play runs through sudo, as if it said `become: true`
/// (a task's or block's `become: false` still wins). `become_user`: the
/// user to become in every play that names none (a task's own still wins);
/// it turns nothing on by itself.
pub fn set_become(playbook: &mut Playbook, r#become: bool, become_user: Option<&UserName>) {
    for play in &mut playbook.plays {
        play.r#become |= r#become;
        if let Some(user) = become_user {
            play.become_user
                .get_or_insert_with(|| user.as_str().to_owned());
        }
    }
}

/// `become = True` of ansible.cfg (or `ANSIBLE_BECOME`): the default of
/// the `become` keyword, so a play that writes `become` keeps its own, as
/// in Ansible.
pub fn set_default_become(playbook: &mut Playbook) {
    for play in &mut playbook.plays {
        if !play.become_written {
            play.r#become = true;
        }
    }
}

/// `become_method` of ansible.cfg: the method of every play that names
/// none (a block's or task's own still wins).
pub fn set_become_method(playbook: &mut Playbook, method: Option<BecomeMethod>) {
    let Some(method) = method else {
        return;
    };
    for play in &mut playbook.plays {
        play.become_method.get_or_insert(method);
    }
}

#[cfg(test)]
mod tests {
    use fleet_playbook::LoadOptions;

    use super::*;

    const PLAYBOOK: &str = "
- hosts: all
  tasks:
    - name: plain
      command: \"true\"
    - name: not as root
      command: \"true\"
      become: false
- hosts: all
  become: true
  become_user: postgres
  tasks:
    - name: as postgres
      command: \"true\"
";

    fn load(test: &str) -> Playbook {
        let dir = std::env::temp_dir().join(format!("fleet-become-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("playbook.yaml");
        std::fs::write(&path, PLAYBOOK).unwrap();
        let playbook = fleet_playbook::load(&path, &LoadOptions::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        playbook
    }

    #[test]
    fn become_turns_every_play_on_and_leaves_the_tasks_own_choice() {
        let mut playbook = load("on");
        set_become(&mut playbook, true, None);
        assert!(playbook.plays.iter().all(|play| play.r#become));
        assert_eq!(playbook.plays[0].tasks[1].r#become, Some(false));
        assert_eq!(playbook.plays[0].become_user, None);
        assert_eq!(playbook.plays[1].become_user.as_deref(), Some("postgres"));
    }

    #[test]
    fn configured_become_leaves_a_play_that_writes_become_alone() {
        let mut playbook = load("default");
        playbook.plays[0].r#become = false;
        playbook.plays[0].become_written = true;
        playbook.plays[1].r#become = false;
        playbook.plays[1].become_written = false;
        set_default_become(&mut playbook);
        assert!(!playbook.plays[0].r#become);
        assert!(playbook.plays[1].r#become);
    }

    #[test]
    fn become_method_fills_in_only_where_the_play_names_none() {
        let mut playbook = load("method");
        playbook.plays[1].become_method = Some(BecomeMethod::Sudo);
        set_become_method(&mut playbook, Some(BecomeMethod::Su));
        assert_eq!(playbook.plays[0].become_method, Some(BecomeMethod::Su));
        assert_eq!(playbook.plays[1].become_method, Some(BecomeMethod::Sudo));
        set_become_method(&mut playbook, None);
        assert_eq!(playbook.plays[0].become_method, Some(BecomeMethod::Su));
    }

    #[test]
    fn become_user_fills_in_only_where_the_play_names_none() {
        let mut playbook = load("user");
        let app: UserName = "app".parse().unwrap();
        set_become(&mut playbook, false, Some(&app));
        assert!(!playbook.plays[0].r#become);
        assert_eq!(playbook.plays[0].become_user.as_deref(), Some("app"));
        assert_eq!(playbook.plays[1].become_user.as_deref(), Some("postgres"));
    }
}
