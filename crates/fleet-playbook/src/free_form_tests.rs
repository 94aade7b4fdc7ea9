use serde_json::json;

use super::*;

fn params(text: &str) -> Value {
    match module_args(text) {
        Ok(Parsed::Params(map)) => Value::Object(map),
        other => panic!("{text}: {other:?}"),
    }
}

fn command(text: &str) -> (String, Value) {
    let (cmd, params) = command_args(text);
    (cmd, Value::Object(params))
}

#[test]
fn key_value_words_become_string_params() {
    assert_eq!(
        params("name=nginx state=present update_cache=yes"),
        json!({"name": "nginx", "state": "present", "update_cache": "yes"})
    );
    assert_eq!(
        params(r#"msg="hello world" dest='/tmp/a b' mode=0644"#),
        json!({"msg": "hello world", "dest": "/tmp/a b", "mode": "0644"})
    );
    assert_eq!(
        params(r#"msg="{{ greeting }} {{ name | default('you') }}" var=x"#),
        json!({"msg": "{{ greeting }} {{ name | default('you') }}", "var": "x"})
    );
    assert_eq!(
        params(r#"line="a=b" regexp=^a="#),
        json!({"line": "a=b", "regexp": "^a="})
    );
    assert_eq!(params("msg=a\\nb"), json!({"msg": "a\nb"}));
    assert_eq!(params("msg=caf\\u00e9\\x21"), json!({"msg": "café!"}));
    assert_eq!(
        params("  name=a\n  state=absent\n"),
        json!({"name": "a", "state": "absent"})
    );
}

#[test]
fn a_word_that_is_not_key_value_is_refused_unless_it_is_the_whole_template() {
    assert_eq!(
        module_args("nginx state=present"),
        Err(FreeFormError::NotKeyValue("nginx".into()))
    );
    assert_eq!(
        module_args("=x"),
        Err(FreeFormError::NotKeyValue("=x".into()))
    );
    assert_eq!(module_args(r#"msg="open"#), Err(FreeFormError::Unbalanced));
    assert_eq!(module_args("msg={{ a"), Err(FreeFormError::Unbalanced));
    assert_eq!(module_args("{{ apt_params }}"), Ok(Parsed::Variable));
    assert_eq!(
        module_args("{{ a }} name=x"),
        Err(FreeFormError::NotKeyValue("{{ a }}".into()))
    );
}

#[test]
fn command_options_come_out_of_the_command_wherever_they_are() {
    assert_eq!(
        command("make install creates=/usr/local/bin/app chdir=/src"),
        (
            "make install".to_owned(),
            json!({"creates": "/usr/local/bin/app", "chdir": "/src"})
        )
    );
    assert_eq!(
        command("creates=/x chdir=/srv ls -l"),
        (
            "ls -l".to_owned(),
            json!({"creates": "/x", "chdir": "/srv"})
        )
    );
    assert_eq!(
        command("chdir=/srv ls -l"),
        ("ls -l".to_owned(), json!({"chdir": "/srv"}))
    );
    assert_eq!(
        command(r#"echo "a  b" removes='/tmp/x y' c"#),
        (
            r#"echo "a  b" c"#.to_owned(),
            json!({"removes": "/tmp/x y"})
        )
    );
    assert_eq!(
        command("executable=/bin/bash echo $0"),
        ("echo $0".to_owned(), json!({"executable": "/bin/bash"}))
    );
}

#[test]
fn other_key_value_words_stay_in_the_command_as_written() {
    assert_eq!(
        command("FOO=bar env name='x y' --opt=1 chdir\\=/x"),
        (
            "FOO=bar env name='x y' --opt=1 chdir\\=/x".to_owned(),
            json!({})
        )
    );
    let script = "set -e\ncd /srv\nmake   all  \n";
    assert_eq!(command(script), (script.to_owned(), json!({})));
    let script = "make all creates=/x\necho done\n";
    assert_eq!(
        command(script),
        ("make all\necho done\n".to_owned(), json!({"creates": "/x"}))
    );
}

#[test]
fn a_command_whose_quotes_do_not_balance_is_all_command() {
    let text = "echo it's # creates=/x";
    assert_eq!(command(text), (text.to_owned(), json!({})));
    let text = "echo ${#list[@]} creates=/x";
    assert_eq!(command(text), (text.to_owned(), json!({})));
}

#[test]
fn jinja_blocks_keep_their_spaces() {
    assert_eq!(
        command("echo {{ items | join(' ') }} chdir={{ dir }}"),
        (
            "echo {{ items | join(' ') }}".to_owned(),
            json!({"chdir": "{{ dir }}"})
        )
    );
    assert_eq!(
        params("msg={% if a %}yes{% else %}no{% endif %} x=1"),
        json!({"msg": "{% if a %}yes{% else %}no{% endif %}", "x": "1"})
    );
}
