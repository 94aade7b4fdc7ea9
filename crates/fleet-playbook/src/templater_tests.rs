use super::*;
use serde_json::json;

fn vars() -> Value {
    json!({
        "app": "shop",
        "port": 8000,
        "debug": false,
        "flag": "yes",
        "dirs": ["releases", "shared"],
        "env": {"APP_ENV": "prod", "WORKERS": 4},
        "path": "/etc/nginx/sites-enabled/shop.conf",
        "empty": "",
        "nothing": null,
        "result": {"rc": 0, "stdout": "ok"},
    })
}

fn render(source: &str) -> String {
    Templater::new()
        .render_str(source, &vars())
        .unwrap_or_else(|err| panic!("{source}: {err}"))
}

fn render_err(source: &str) -> String {
    match Templater::new().render_str(source, &vars()) {
        Ok(out) => panic!("{source} rendered to {out:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn renders_strings_and_keeps_plain_text() {
    assert_eq!(render("/opt/{{ app }}/current"), "/opt/shop/current");
    assert_eq!(render("no template {here}"), "no template {here}");
    assert_eq!(render("a\n{{ app }}\n"), "a\nshop\n");
    assert_eq!(render("<{{ '&' }}>"), "<&>");
    assert_eq!(render("{% if port > 10 %}\nbig\n{% endif %}\n"), "big\n");
}

#[test]
fn undefined_variables_are_errors_naming_the_variable() {
    let err = render_err("/opt/{{ appp }}");
    assert!(err.contains("`appp` is undefined"), "{err}");
    assert!(err.contains("\"/opt/{{ appp }}\""), "{err}");
    let err = render_err("{{ missing.attr }}");
    assert!(err.contains("`missing` is undefined"), "{err}");
    assert!(matches!(
        Templater::new().render_str("{{ x }}", &json!({})),
        Err(TemplateError::Undefined { .. })
    ));
    assert!(matches!(
        Templater::new().render_str("{{ x ", &json!({})),
        Err(TemplateError::Syntax { .. })
    ));
}

#[test]
fn a_variable_named_like_a_minijinja_only_global_is_undefined_as_in_jinja2() {
    let templater = Templater::new();
    let off = templater.render_str("{{ debug | default(false) }}", &json!({}));
    assert_eq!(off.unwrap(), "False");
    assert_eq!(render("{{ debug }}"), "False");
    assert_eq!(
        render("{{ range(2) | list }} {{ dict(a=1).a }}"),
        "[0, 1] 1"
    );
}

#[test]
fn default_works_with_undefined_under_strict() {
    assert_eq!(render("{{ missing | default('x') }}"), "x");
    assert_eq!(render("{{ missing | d('y') }}"), "y");
    assert_eq!(render("{{ app | default('x') }}"), "shop");
    assert_eq!(render("{{ empty | default('e', true) }}"), "e");
    assert_eq!(render("{{ result.missing | default('m') }}"), "m");
    assert_eq!(render("{{ 'yes' if missing is defined else 'no' }}"), "no");
}

#[test]
fn filter_to_json_and_to_nice_json() {
    assert_eq!(
        render("{{ env | to_json }}"),
        r#"{"APP_ENV": "prod", "WORKERS": 4}"#
    );
    assert_eq!(
        render("{{ env | to_nice_json }}"),
        "{\n    \"APP_ENV\": \"prod\",\n    \"WORKERS\": 4\n}"
    );
    assert_eq!(
        render("{{ dirs | to_nice_json(indent=2) }}"),
        "[\n  \"releases\",\n  \"shared\"\n]"
    );
}

#[test]
fn filter_to_yaml() {
    assert_eq!(
        render("{{ env | to_yaml }}"),
        "{APP_ENV: prod, WORKERS: 4}\n"
    );
    assert_eq!(
        render("{{ dirs | to_nice_yaml }}"),
        "- releases\n- shared\n"
    );
}

#[test]
fn filter_ternary() {
    assert_eq!(render("{{ debug | ternary('on', 'off') }}"), "off");
    assert_eq!(render("{{ (port == 8000) | ternary('on', 'off') }}"), "on");
    assert_eq!(
        render("{{ nothing | ternary('on', 'off', 'unset') }}"),
        "unset"
    );
}

#[test]
fn filter_base64() {
    assert_eq!(
        render("{{ 'shop:secret' | b64encode }}"),
        "c2hvcDpzZWNyZXQ="
    );
    assert_eq!(
        render("{{ 'c2hvcDpzZWNyZXQ=' | b64decode }}"),
        "shop:secret"
    );
    assert!(render_err("{{ '%%%' | b64decode }}").contains("not valid base64"));
}

#[test]
fn filter_regex_replace() {
    assert_eq!(
        render("{{ 'app-1.2.3' | regex_replace('^app-(\\d+)\\..*$', '\\1') }}"),
        "1"
    );
    assert_eq!(render("{{ 'a-b-c' | regex_replace('-', '_') }}"), "a_b_c");
    assert_eq!(
        render("{{ 'a-b-c' | regex_replace('-', '_', count=1) }}"),
        "a_b-c"
    );
    assert_eq!(
        render("{{ 'ABC' | regex_replace('b', 'x', ignorecase=true) }}"),
        "AxC"
    );
    assert_eq!(
        render("{{ 'k=v' | regex_replace('(?P<key>\\w)=(\\w)', '\\g<key>:\\2') }}"),
        "k:v"
    );
    assert!(render_err("{{ 'a' | regex_replace('(', '') }}").contains("bad pattern"));
}

#[test]
fn filter_basename_and_dirname() {
    assert_eq!(render("{{ path | basename }}"), "shop.conf");
    assert_eq!(render("{{ path | dirname }}"), "/etc/nginx/sites-enabled");
    assert_eq!(
        render("{{ 'file' | dirname }}|{{ '/file' | dirname }}|{{ 'dir/' | basename }}"),
        "|/|"
    );
}

#[test]
fn filter_bool() {
    assert_eq!(
        render("{{ flag | bool }} {{ 'off' | bool }} {{ 1 | bool }} {{ debug | bool }}"),
        "True False True False"
    );
    assert!(render_err("{{ 'maybe' | bool }}").contains("cannot read `maybe`"));
}

#[test]
fn filter_int() {
    assert_eq!(render("{{ '42' | int + 1 }}"), "43");
    assert_eq!(render("{{ ' 0755 ' | int }}"), "755");
    assert_eq!(
        render("{{ 'abc' | int }} {{ 'abc' | int(7) }} {{ 3.9 | int }}"),
        "0 7 3"
    );
    assert_eq!(
        render("{{ '0x1F' | int(base=16) }} {{ true | int }}"),
        "31 1"
    );
}

#[test]
fn filter_join() {
    assert_eq!(render("{{ dirs | join(',') }}"), "releases,shared");
}

#[test]
fn filter_quote() {
    assert_eq!(render("{{ app | quote }}"), "shop");
    assert_eq!(render("{{ \"it's a b\" | quote }}"), "'it'\"'\"'s a b'");
    assert_eq!(render("{{ empty | quote }}"), "''");
}

#[test]
fn filter_mandatory() {
    assert_eq!(render("{{ app | mandatory }}"), "shop");
    assert!(render_err("{{ missing | mandatory }}").contains("mandatory variable"));
    assert!(render_err("{{ missing | mandatory('set app_key with -e') }}").contains("set app_key"));
}

#[test]
fn python_backrefs_become_regex_ones() {
    assert_eq!(
        crate::filters::python_replacement(r"\1-\g<name>-\\-$x"),
        "${1}-${name}-\\-$x"
    );
}

#[test]
fn render_value_keeps_native_types_of_single_expressions() {
    let t = Templater::new();
    let value = json!({
        "list": "{{ dirs }}",
        "number": "{{ port }}",
        "bool": "{{ port > 10 }}",
        "map": "{{ env }}",
        "text": "port {{ port }}",
        "nested": ["{{ app }}", {"deep": "{{ port + 1 }}"}],
        "untouched": 5,
        "padded": "  {{ port }}  ",
        "dropped": "{{ missing | default(omit) }}",
    });
    let mut vars = vars();
    vars["omit"] = json!(OMIT);
    let rendered = t.render_value(&value, &vars).unwrap();
    assert_eq!(
        rendered,
        json!({
            "list": ["releases", "shared"],
            "number": 8000,
            "bool": true,
            "map": {"APP_ENV": "prod", "WORKERS": 4},
            "text": "port 8000",
            "nested": ["shop", {"deep": 8001}],
            "untouched": 5,
            "padded": "  8000  ",
        })
    );
    let err = t.render_value(&json!(["{{ nope }}"]), &vars).unwrap_err();
    assert!(err.to_string().contains("`nope` is undefined"), "{err}");
}

#[test]
fn a_condition_with_a_template_inside_is_rendered_first() {
    let t = Templater::new();
    let vars = vars();
    assert!(t.eval_bool("{{ port }} == 8000", &vars).unwrap());
    assert!(!t.eval_bool("'{{ app }}' == 'mall'", &vars).unwrap());
}

#[test]
fn eval_value_gives_the_value_or_none_when_undefined() {
    let t = Templater::new();
    let vars = vars();
    assert_eq!(
        t.eval_value("env.WORKERS * 2", &vars).unwrap(),
        Some(json!(8))
    );
    assert_eq!(
        t.eval_value("{{ dirs }}", &vars).unwrap(),
        Some(json!(["releases", "shared"]))
    );
    assert_eq!(t.eval_value("missing", &vars).unwrap(), None);
    assert_eq!(t.eval_value("result.missing", &vars).unwrap(), None);
    assert!(t.eval_value("port | no_such_filter", &vars).is_err());
}

#[test]
fn eval_bool_takes_bare_expressions_bools_and_braces() {
    let t = Templater::new();
    let vars = vars();
    assert!(t.eval_bool("result.rc == 0", &vars).unwrap());
    assert!(!t.eval_bool("debug", &vars).unwrap());
    assert!(t.eval_bool("true", &vars).unwrap());
    assert!(!t.eval_bool("false", &vars).unwrap());
    assert!(t.eval_bool("{{ port == 8000 }}", &vars).unwrap());
    assert!(
        t.eval_bool("(port > 1) and (app == 'shop')", &vars)
            .unwrap()
    );
    assert!(!t.eval_bool("missing is defined", &vars).unwrap());
    assert!(t.eval_bool("'ok' in result.stdout", &vars).unwrap());
    let err = t.eval_bool("missing", &vars).unwrap_err();
    assert!(matches!(err, TemplateError::Undefined { .. }), "{err}");
    assert!(err.to_string().contains("`missing` is undefined"), "{err}");
    assert!(matches!(
        t.eval_bool("a ==", &vars),
        Err(TemplateError::Syntax { .. })
    ));
}

#[test]
fn render_file_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("fleet-playbook-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("unit.j2");
    std::fs::write(
        &good,
        "[Service]\nUser={{ app }}\n{% for d in dirs %}\nDir={{ d }}\n{% endfor %}\n",
    )
    .unwrap();
    let t = Templater::new();
    assert_eq!(
        t.render_file(&good, &vars()).unwrap(),
        "[Service]\nUser=shop\nDir=releases\nDir=shared\n"
    );
    let bad = dir.join("bad.j2");
    std::fs::write(&bad, "a\nb\n{{ appp }}\n").unwrap();
    let err = t.render_file(&bad, &vars()).unwrap_err();
    assert_eq!(err.line(), Some(3));
    assert_eq!(
        err.to_string(),
        format!("{}:3: undefined value: `appp` is undefined", bad.display())
    );
    let broken = dir.join("broken.j2");
    std::fs::write(&broken, "a\n{% if app %}\n").unwrap();
    let err = t.render_file(&broken, &vars()).unwrap_err();
    assert!(matches!(err, TemplateError::Syntax { .. }), "{err}");
    assert!(matches!(
        t.render_file(&dir.join("none.j2"), &vars()),
        Err(TemplateError::Read { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn undeclared_names_skip_globals_and_locals() {
    let t = Templater::new();
    let names = t
        .template_names("{% for x in dirs %}{{ x }}{{ loop.index }}{% endfor %}{% set y = 1 %}{{ y }}{{ range(2) }}{{ app }}")
        .unwrap();
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["app", "dirs"]);
    let names = t
        .expression_names("result.rc == 0 and item in dirs")
        .unwrap();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["dirs", "item", "result"]
    );
    assert!(t.template_names("{{ app ").is_err());
}

#[test]
fn conditions_with_redundant_or_embedded_templates_are_accepted() {
    let t = Templater::new();
    let vars = json!({"app_env": "prod", "flag": true, "result": {"changed": true}});
    assert!(t.eval_bool("{{ flag }}", &vars).unwrap());
    assert!(t.eval_bool("{{ result is changed }}", &vars).unwrap());
    assert!(t.eval_bool("  {{ app_env == 'prod' }}  ", &vars).unwrap());
    // Rendered first, then evaluated, as Ansible does.
    assert!(t.eval_bool("'{{ app_env }}' == 'prod'", &vars).unwrap());
    assert!(!t.eval_bool("'{{ app_env }}' == 'dev'", &vars).unwrap());
    let err = t.eval_bool("'{{ nope }}' == 'x'", &vars).unwrap_err();
    assert!(err.to_string().contains("`nope` is undefined"), "{err}");
    assert_eq!(
        t.expression_names("'{{ app_env }}' == 'prod'")
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["app_env"]
    );
}

#[test]
fn render_file_with_turns_trim_blocks_off_and_lstrip_blocks_on() {
    let dir = std::env::temp_dir().join(format!("fleet-playbook-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("list.j2");
    std::fs::write(
        &file,
        "x\n  {% for d in dirs %}\n{{ d }}\n  {% endfor %}\ny\n",
    )
    .unwrap();
    let t = Templater::new();
    let render = |trim_blocks, lstrip_blocks| {
        let whitespace = Whitespace {
            trim_blocks,
            lstrip_blocks,
        };
        t.render_file_with(&file, &vars(), whitespace).unwrap()
    };
    assert_eq!(render(true, false), "x\n  releases\n  shared\n  y\n");
    assert_eq!(render(true, true), "x\nreleases\nshared\ny\n");
    assert_eq!(render(false, true), "x\n\nreleases\n\nshared\n\ny\n");
    assert_eq!(render(false, false), "x\n  \nreleases\n  \nshared\n  \ny\n");
    // Jinja drops the source's final newline; Ansible gives back as many
    // final newlines as the rendering lacks.
    std::fs::write(&file, "v\n    {% if true %}\nw\n    {% endif %}\n").unwrap();
    assert_eq!(render(true, false), "v\n    w\n    \n");
    assert_eq!(render(false, true), "v\n\nw\n");
    std::fs::write(&file, "v\n\n\n").unwrap();
    assert_eq!(render(true, false), "v\n\n\n");
    std::fs::remove_dir_all(&dir).unwrap();
}
