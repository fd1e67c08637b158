use super::*;
use serde_json::json;

fn filter(toml_text: &str) -> Result<Filter, FilterError> {
    Filter::new(&toml::from_str::<FilterSpec>(toml_text).unwrap())
}

fn build(
    kind: EventKind,
    builder: &str,
    tags: &[&str],
    results: Option<i64>,
    prev: Option<Option<i64>>,
) -> SourceEvent {
    let mut b = json!({
        "buildid": 1, "number": 2, "buildrequestid": 3, "results": results,
        "properties": {"scheduler": ["force", "Scheduler"], "branch": ["main", "Build"]},
        "builder": {"name": builder, "tags": tags},
    });
    if let Some(p) = prev {
        b["prev_build"] = match p {
            Some(r) => json!({"buildid": 0, "results": r}),
            None => Value::Null,
        };
    }
    SourceEvent::new(kind, b)
}

fn finished(results: i64) -> SourceEvent {
    build(EventKind::BuildFinished, "pass", &["demo"], Some(results), None)
}

fn passes(f: &Filter, e: &SourceEvent) -> bool {
    f.apply(e).is_some()
}

#[test]
fn default_mode_reports_failing_passing_warnings_only() {
    let f = filter("").unwrap();
    let got: Vec<bool> = (0..=6).map(|r| passes(&f, &finished(r))).collect();
    assert_eq!(got, [true, true, true, false, false, false, false]);
}

#[test]
fn all_means_what_the_code_does_not_what_the_docs_say() {
    let f = filter("mode = \"all\"").unwrap();
    let got: Vec<bool> = (0..=6).map(|r| passes(&f, &finished(r))).collect();
    // failing, passing, warnings, exception, cancelled; never skipped or retry.
    assert_eq!(got, [true, true, true, false, true, false, true]);
}

#[test]
fn warnings_shortcut_is_failing_and_warnings() {
    let f = filter("mode = \"warnings\"").unwrap();
    let got: Vec<bool> = (0..=6).map(|r| passes(&f, &finished(r))).collect();
    assert_eq!(got, [false, true, true, false, false, false, false]);
}

#[test]
fn single_mode_strings_and_lists() {
    let f = filter("mode = \"exception\"").unwrap();
    assert!(passes(&f, &finished(EXCEPTION)) && !passes(&f, &finished(FAILURE)));
    let f = filter("mode = [\"cancelled\", \"passing\"]").unwrap();
    assert!(passes(&f, &finished(CANCELLED)) && passes(&f, &finished(SUCCESS)) && !passes(&f, &finished(WARNINGS)));
}

#[test]
fn change_and_problem_need_a_previous_build() {
    let f = filter("mode = [\"change\"]").unwrap();
    assert!(f.needs_previous_build());
    let ev = |r, p| build(EventKind::BuildFinished, "b", &[], Some(r), p);
    assert!(!passes(&f, &ev(SUCCESS, None)), "no prev_build key: first build never matches");
    assert!(!passes(&f, &ev(SUCCESS, Some(None))), "prev_build null");
    assert!(!passes(&f, &ev(SUCCESS, Some(Some(SUCCESS)))));
    assert!(passes(&f, &ev(SUCCESS, Some(Some(FAILURE)))));
    let f = filter("mode = [\"problem\"]").unwrap();
    assert!(passes(&f, &ev(FAILURE, Some(Some(SUCCESS)))));
    assert!(!passes(&f, &ev(FAILURE, Some(Some(FAILURE)))));
    assert!(!passes(&f, &ev(FAILURE, Some(None))));
    assert!(!filter("mode = \"all\"").unwrap().needs_previous_build());
}

#[test]
fn report_new_skips_the_results_check_and_can_be_turned_off() {
    let new = build(EventKind::BuildNew, "pass", &[], None, None);
    assert!(passes(&filter("").unwrap(), &new));
    assert!(passes(&filter("mode = \"exception\"").unwrap(), &new));
    let f = filter("report_new = false").unwrap();
    assert!(!passes(&f, &new));
    assert_eq!(f.events(), [EventKind::BuildFinished]);
}

#[test]
fn start_end_reports_every_finished_build() {
    let f = filter("kind = \"build-start-end\"").unwrap();
    assert!((0..=6).all(|r| passes(&f, &finished(r))));
    assert!(passes(&f, &build(EventKind::BuildNew, "x", &[], None, None)));
    assert_eq!(
        filter("kind = \"build-start-end\"\nmode = \"all\"").unwrap_err(),
        FilterError::NotForKind { key: "mode", kind: "build-start-end" }
    );
}

#[test]
fn property_filters_are_anded() {
    let f = filter("builders = [\"pass\"]\nbranches = [\"main\"]\nschedulers = [\"force\"]").unwrap();
    assert!(passes(&f, &finished(SUCCESS)));
    assert!(!passes(&f, &build(EventKind::BuildFinished, "other", &[], Some(SUCCESS), None)));
    let f = filter("builders = [\"pass\"]\nbranches = [\"release\"]").unwrap();
    assert!(!passes(&f, &finished(SUCCESS)));
    let f = filter("schedulers = [\"nightly\"]").unwrap();
    assert!(!passes(&f, &finished(SUCCESS)));
    let f = filter("tags = [\"green\", \"demo\"]").unwrap();
    assert!(passes(&f, &finished(SUCCESS)));
    assert!(!passes(&f, &build(EventKind::BuildFinished, "pass", &["red"], Some(SUCCESS), None)));
}

#[test]
fn invalid_combinations_are_config_errors() {
    assert_eq!(filter("builders = [\"a\"]\ntags = [\"b\"]").unwrap_err(), FilterError::BuildersWithTags);
    assert_eq!(filter("mode = [\"all\"]").unwrap_err(), FilterError::AllInList);
    assert_eq!(filter("mode = \"sometimes\"").unwrap_err(), FilterError::UnknownMode("sometimes".into()));
    assert!(matches!(
        filter("kind = \"buildset\"\nreport_new = true").unwrap_err(),
        FilterError::NotForKind { key: "report_new", .. }
    ));
    assert!(matches!(
        filter("kind = \"buildset-combined\"\nbuilders = [\"a\"]").unwrap_err(),
        FilterError::NotForKind { .. }
    ));
}

fn buildset_event(results: &[(&str, i64)]) -> SourceEvent {
    let builds: Vec<Value> =
        results.iter().map(|(n, r)| json!({"buildid": 1, "results": r, "builder": {"name": n, "tags": []}})).collect();
    SourceEvent::new(EventKind::BuildsetComplete, json!({"buildset": {"bsid": 7}, "builds": builds}))
}

#[test]
fn buildset_keeps_only_builds_that_pass() {
    let f = filter("kind = \"buildset\"\nmode = \"failing\"").unwrap();
    let out = f.apply(&buildset_event(&[("a", SUCCESS), ("b", FAILURE)])).unwrap();
    assert_eq!(out["builds"].as_array().unwrap().len(), 1);
    assert_eq!(out["builds"][0]["builder"]["name"], "b");
    assert!(f.apply(&buildset_event(&[("a", SUCCESS)])).is_none());
    // Not a build event kind.
    assert!(f.apply(&finished(FAILURE)).is_none());
}

#[test]
fn buildset_combined_fires_always() {
    let f = filter("kind = \"buildset-combined\"").unwrap();
    assert!(f.apply(&buildset_event(&[])).is_some());
    assert!(f.apply(&buildset_event(&[("a", RETRY)])).is_some());
}
