use super::out::{Query, csv_records, parse, typed};
use super::sql::{Args, adapt, leading_keyword, mogrify, py_float, split_statements};
use super::*;
use crate::modules::tests::NoFiles;

fn module(params: Value) -> PostgresqlQuery {
    PostgresqlQuery::new(params).unwrap()
}

#[test]
fn arguments_are_bound_as_psycopg2_binds_them() {
    let args = Args::Positional(
        [
            json!(1),
            json!("it's"),
            json!(null),
            json!(true),
            json!(1.5),
            json!([1, 2, 3]),
            json!(["a", "b"]),
        ]
        .iter()
        .map(|v| adapt(v).unwrap())
        .collect(),
    );
    assert_eq!(
        mogrify("select %s, %s, %s, %s, %s, %s, %s, '100%%'", &args).unwrap(),
        "select 1, 'it''s', NULL, true, 1.5, '{1, 2, 3}', '{''a'', ''b''}', '100%'"
    );
    assert_eq!(
        mogrify("select '%'", &Args::None).unwrap(),
        "select '%'",
        "without arguments, % is left alone"
    );
    let named = Args::Named(vec![("id".into(), "7".into())]);
    assert_eq!(
        mogrify("select %(id)s + %(id)s", &named).unwrap(),
        "select 7 + 7"
    );
    assert_eq!(mogrify("select %(x)s", &named).unwrap_err(), "'x'");
    assert_eq!(
        mogrify("select %s", &Args::Positional(vec!["1".into(), "2".into()])).unwrap_err(),
        "not all arguments converted during string formatting"
    );
    assert!(mogrify("select %s, %s", &Args::Positional(vec!["1".into()])).is_err());
    assert!(adapt(&json!({"a": 1})).is_err());
    assert_eq!(adapt(&json!("a\\b")).unwrap(), "'a\\b'");
    assert_eq!(py_float(2.0), "2.0");
    assert_eq!(py_float(1e20), "1e+20");
    assert_eq!(py_float(0.0001), "0.0001");
    assert_eq!(py_float(1e-5), "1e-05");
}

#[test]
fn statements_are_split_where_psql_splits_them() {
    assert_eq!(
        split_statements("create table t (a int); insert into t values (1);\n-- done\n"),
        vec!["create table t (a int)", "insert into t values (1)"]
    );
    assert_eq!(
        split_statements(
            "select ';', \"a;b\", $$x;y$$, $f$ ; $f$, E'\\';' /* ; /* ; */ */; select 2"
        ),
        vec![
            "select ';', \"a;b\", $$x;y$$, $f$ ; $f$, E'\\';' /* ; /* ; */ */",
            "select 2"
        ]
    );
    assert_eq!(
        split_statements(
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; select 3"
        )
        .len(),
        2
    );
    assert_eq!(split_statements("select $1; select a$b$ from t").len(), 2);
    assert!(split_statements("  ;\n-- nothing\n").is_empty());
    assert_eq!(leading_keyword("-- c\n(SELECT 1)"), "SELECT");
    assert_eq!(leading_keyword("show work_mem"), "SHOW");
}

#[test]
fn params_follow_community_postgresql() {
    assert!(
        build(
            json!({"query": "select 1", "as_single_query": true}),
            &NoFiles
        )
        .is_err()
    );
    assert!(
        build(
            json!({"query": "select 1", "login_password": "x"}),
            &NoFiles
        )
        .is_err()
    );
    assert!(build(json!({"query": 5}), &NoFiles).is_err());
    assert!(build(json!({"query": []}), &NoFiles).is_err());
    assert!(
        build(
            json!({"query": "select %s", "positional_args": [1], "named_args": {"a": 1}}),
            &NoFiles
        )
        .is_err()
    );
    assert!(
        build(
            json!({"query": "select 1", "encoding": "UTF8; x"}),
            &NoFiles
        )
        .is_err()
    );
    assert!(build(json!({"query": "select 1", "bogus": 1}), &NoFiles).is_err());
    let m =
        module(json!({"query": ["select %s", "select %s"], "positional_args": ["x"], "db": "app"}));
    assert_eq!(m.db, "app");
    assert_eq!(m.queries[1].text, "select 'x'");
    // Every query takes the same arguments: one without a placeholder fails.
    assert!(
        build(
            json!({"query": "select %s, %s", "positional_args": [1]}),
            &NoFiles
        )
        .is_err()
    );
}

#[test]
fn the_session_goes_on_stdin_and_ends_as_check_mode_needs() {
    let m = module(json!({
        "query": "insert into t values (1); select * from t",
        "session_role": "app", "search_path": ["app", " public"], "encoding": "UTF8",
    }));
    let plan = m.plan(&Probe::default()).unwrap();
    assert!(!plan.changed, "the run decides");
    let Step::Run { script, stdin } = &plan.steps[0] else {
        panic!("not a script")
    };
    assert!(!script.as_str().contains("insert"), "{}", script.as_str());
    assert!(
        script
            .as_str()
            .contains("runuser -u postgres -- psql -X -A")
    );
    let text = String::from_utf8(stdin.as_ref().unwrap().bytes().to_vec()).unwrap();
    let marker = &m.marker;
    assert_eq!(
        text,
        format!(
            "\\set ON_ERROR_STOP 1\n\\pset pager off\n\\pset format csv\n\\pset null {marker}null\n\\timing on\n\
             \\encoding 'UTF8'\nBEGIN;\nSET ROLE \"app\";\nSET search_path TO app,public;\n\
             \\echo {marker} b 0\ninsert into t values (1)\n;\n\\echo {marker} l\nselect * from t\n;\n\
             \\echo {marker} e :ROW_COUNT\n\\gdesc\n\\echo {marker} g\nCOMMIT;\n"
        )
    );
    let Some(Ok(check)) = m.check_mode_steps() else {
        panic!("check mode runs")
    };
    let Step::Run { stdin, .. } = &check[0] else {
        panic!()
    };
    assert!(String::from_utf8_lossy(stdin.as_ref().unwrap().bytes()).ends_with("ROLLBACK;\n"));
    let auto = module(json!({"query": "vacuum", "autocommit": true}));
    assert!(matches!(auto.check_mode_steps(), Some(Err(_))));
}

fn psql_output(marker: &str) -> String {
    // What psql 15 prints for the session of the test below.
    format!(
        "Pager usage is off.\nOutput format is csv.\nNull display is \"{marker}null\".\nTiming is on.\nBEGIN\nTime: 0.1 ms\n\
         {marker} b 0\n{marker} l\nCREATE TABLE\nTime: 2.5 ms\n{marker} e 0\n\
         The command has no result, or the result has no columns.\nTime: 0.2 ms\n{marker} g\n\
         {marker} b 1\n{marker} l\nid,name\n1,\"a, \"\"b\"\"\n2nd line\"\nTime: 0.4 ms\n{marker} e 1\nColumn,Type\nid,integer\nname,text\nTime: 0.1 ms\n{marker} g\n\
         {marker} b 2\nINSERT 0 1\nTime: 0.3 ms\n{marker} l\nid\n5\nINSERT 0 1\nTime: 0.3 ms\n{marker} e 1\nColumn,Type\nid,integer\nTime: 0.1 ms\n{marker} g\n\
         {marker} b 3\n{marker} l\nUPDATE 0\nTime: 0.3 ms\n{marker} e 0\nThe command has no result, or the result has no columns.\n{marker} g\n\
         {marker} b 4\n{marker} l\nok,n,at\nt,{marker}null,2024-01-02 03:04:05.5+00\nTime: 0.4 ms\n{marker} e 1\nColumn,Type\nok,boolean\nn,numeric\nat,timestamp with time zone\nTime: 0.1 ms\n{marker} g\nCOMMIT\n"
    )
}

#[test]
fn results_are_read_as_ansible_reports_them() {
    let m = module(json!({"query": [
        "create table t (id int, name text)",
        "select id, name from t",
        "insert into t values (4); insert into t values (5) returning id",
        "update t set id = 1 where false",
        "select true as ok, null::numeric as n, now() as at",
    ]}));
    let out = StepOutput {
        rc: 0,
        stdout: psql_output(&m.marker),
        stderr: String::new(),
    };
    m.outcome(std::slice::from_ref(&out)).unwrap();
    let applied = m.applied(&[out]).unwrap();
    assert!(applied.changed);
    let data = Value::Object(applied.data);
    assert_eq!(data["statusmessage"], "SELECT 1");
    assert_eq!(
        data["query_result"],
        json!([{"ok": true, "n": null, "at": "2024-01-02T03:04:05.500000+00:00"}])
    );
    assert_eq!(
        data["query_all_results"],
        json!([{}, [{"id": 1, "name": "a, \"b\"\n2nd line"}], [{"id": 5}], {}, [{"ok": true, "n": null, "at": "2024-01-02T03:04:05.500000+00:00"}]])
    );
    assert_eq!(
        data["rowcount"],
        1 + 1 + 1,
        "rows of the SELECTs and the INSERT"
    );
    assert_eq!(
        data["query"],
        "select true as ok, null::numeric as n, now() as at"
    );
    assert_eq!(data["execution_time_ms"], json!([2.5, 0.4, 0.6, 0.3, 0.4]));

    let select = module(json!({"query": "select 1 as one"}));
    let marker = &select.marker;
    let out = StepOutput {
        stdout: format!(
            "{marker} b 0\n{marker} l\none\n1\nTime: 0.1 ms\n{marker} e 1\nColumn,Type\none,integer\n{marker} g\n"
        ),
        ..StepOutput::default()
    };
    let applied = select.applied(&[out]).unwrap();
    assert!(!applied.changed, "a SELECT changes nothing");
    assert_eq!(applied.data["query_result"], json!([{"one": 1}]));
}

#[test]
fn statuses_decide_changed_as_ansible_does() {
    let result = |status: &str| QueryResult {
        statusmessage: status.into(),
        rows: None,
        rowcount: 0,
        time_ms: 0.0,
    };
    for (status, changed) in [
        ("SELECT 3", false),
        ("SHOW", false),
        ("INSERT 0 0", false),
        ("INSERT 0 2", true),
        ("UPDATE 0", false),
        ("DELETE 1", true),
        ("CREATE TABLE", true),
        ("EXPLAIN", true),
        ("SET", true),
    ] {
        assert_eq!(result(status).changed(), changed, "{status}");
    }
}

#[test]
fn values_are_typed_as_psycopg2_types_them() {
    assert_eq!(typed("42", "bigint", "N"), json!(42));
    assert_eq!(typed("3.50", "numeric(10,2)", "N"), json!(3.5));
    assert_eq!(typed("NaN", "double precision", "N"), json!("NaN"));
    assert_eq!(typed("f", "boolean", "N"), json!(false));
    assert_eq!(typed("{\"a\": [1]}", "jsonb", "N"), json!({"a": [1]}));
    assert_eq!(typed("{1,NULL,3}", "integer[]", "N"), json!([1, null, 3]));
    assert_eq!(
        typed("{a,\"b c\",\"d\\\"e\"}", "text[]", "N"),
        json!(["a", "b c", "d\"e"])
    );
    assert_eq!(
        typed("2024-01-02 03:04:05", "timestamp without time zone", "N"),
        json!("2024-01-02T03:04:05")
    );
    assert_eq!(
        typed("2024-01-02 03:04:05+05:30", "timestamp with time zone", "N"),
        json!("2024-01-02T03:04:05+05:30")
    );
    assert_eq!(typed("N", "text", "N"), Value::Null);
    assert_eq!(typed("", "text", "N"), json!(""));
    assert_eq!(csv_records("a,\"\"\nb"), vec![vec!["a", ""], vec!["b"]]);
    let q = Query::new("select 1".into());
    assert!(parse("", &[q], "M").is_err(), "no results is an error");
}
