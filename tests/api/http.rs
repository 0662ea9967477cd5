//! The JSON API over HTTP: who may call each route, recording and reversing disbursements,
//! idempotent retries, every class of bad input, CSV import and export, paged lists, the
//! audit trail with `naptrack audit verify`, and users and tokens made on the command line.

use std::collections::BTreeSet;

use naptrack::api::openapi::{self, Access};
use naptrack::domain::Role;
use naptrack::domain::records::RecordKind;
use naptrack::service::records::key_columns;
use naptrack::service::users;
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::LocalResponse;
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::Value;

use crate::helpers::{
    TestApp, TestDb, export_everything, naptrack, naptrack_with_input, samples_dir, stderr, stdout,
};

/// The number of disbursements in the sample plan.
const SAMPLE_DISBURSEMENTS: u64 = 397;

/// One API token per role, for users created on the app's database.
struct Tokens {
    admin: String,
    recorder: String,
    donor: String,
    auditor: String,
    /// A recorder bound to MIA, the Ministry of Internal Affairs.
    bound_recorder: String,
}

impl Tokens {
    fn of(&self, role: Role) -> &str {
        match role {
            Role::Admin => &self.admin,
            Role::Recorder => &self.recorder,
            Role::Donor => &self.donor,
            Role::Auditor => &self.auditor,
        }
    }
}

/// The app on a fresh database with the sample plan imported and one user of each role.
async fn sample_app() -> (TestApp, Tokens) {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let tokens = Tokens {
        admin: app.token_for("admin@example.org", Role::Admin).await,
        recorder: app.token_for("recorder@example.org", Role::Recorder).await,
        donor: app.token_for("donor@example.org", Role::Donor).await,
        auditor: app.token_for("auditor@example.org", Role::Auditor).await,
        bound_recorder: naptrack::service::users::add_user(
            &app.db,
            "clerk@mia.example",
            Role::Recorder,
            Some("MIA"),
            None,
            "test",
        )
        .await
        .expect("the bound recorder is created")
        .1,
    };
    (app, tokens)
}

/// The status and the JSON body of a response; a body that is not JSON fails the test.
async fn json_of(response: LocalResponse<'_>) -> (Status, Value) {
    let status = response.status();
    let text = response.into_string().await.unwrap_or_default();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a {status} answer is not JSON ({e}): {text:?}"));
    (status, body)
}

/// Checks the contract's error shape, `{"error": {"code", "message", "details": [..]}}`,
/// and returns the columns its details name.
fn error_columns(body: &Value) -> Vec<String> {
    let error = &body["error"];
    assert!(
        error["code"].as_str().is_some_and(|c| !c.is_empty()),
        "no error code: {body}"
    );
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no error message: {body}"
    );
    let details = error["details"]
        .as_array()
        .unwrap_or_else(|| panic!("the details are not an array: {body}"));
    details
        .iter()
        .map(|detail| {
            assert!(
                detail["message"].as_str().is_some_and(|m| !m.is_empty()),
                "a detail without a message: {body}"
            );
            detail["column"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// A disbursement on budget line BL-2015-036 (EUR) with `amount` written into the JSON as
/// it is given: `"\"12.50\""` is a string, `12.50` a number.
fn disbursement_body(reference: &str, amount: &str) -> String {
    format!(
        r#"{{"reference": "{reference}", "budget_line_code": "BL-2015-036", "date": "2015-06-01", "amount": {amount}, "currency": "EUR", "payee_code": "SHELTER-A", "description": "Shelter subsidy, extra instalment"}}"#
    )
}

/// The stored disbursement `disbursement_body` describes, as the API shows it.
fn stored_disbursement(reference: &str, amount: &str) -> Value {
    serde_json::json!({
        "plan_code": "NAP-2015",
        "reference": reference,
        "budget_line_code": "BL-2015-036",
        "date": "2015-06-01",
        "amount": amount,
        "currency": "EUR",
        "payee_code": "SHELTER-A",
        "description": "Shelter subsidy, extra instalment",
        "reverses": null
    })
}

/// How many disbursements the API lists with `query` (`reference=D-1`, or empty).
async fn disbursement_total(app: &TestApp, token: &str, query: &str) -> u64 {
    let (status, body) = json_of(app.list_disbursements(token, query).await).await;
    assert_eq!(status, Status::Ok, "{body}");
    body["total"].as_u64().expect("a total")
}

/// The sample disbursements' references, budget lines and dates, in file order.
fn sample_disbursements() -> Vec<(String, String, String)> {
    let mut reader = csv::Reader::from_path(samples_dir().join("disbursements.csv"))
        .expect("the sample disbursements");
    let headers = reader.headers().expect("a header").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .expect("a contract column")
    };
    let (reference, line, date) = (
        column("reference"),
        column("budget_line_code"),
        column("date"),
    );
    reader
        .records()
        .map(|record| {
            let record = record.expect("a sample row");
            (
                record[reference].to_owned(),
                record[line].to_owned(),
                record[date].to_owned(),
            )
        })
        .collect()
}

// --- Who may call what -------------------------------------------------------------------

/// A key of the sample plan for each kind with a one-column key.
fn sample_key(kind: &str) -> &'static str {
    match kind {
        "institutions" => "MIA",
        "funding-sources" => "SB",
        "plans" => "NAP-2015",
        "objectives" => "PREV",
        "activities" => "PREV-01",
        "obligations" => "VCF",
        "budget-lines" => "BL-2015-001",
        "commitments" => "C-2015-001",
        "disbursements" => "D-2015-0001",
        "indicators" => "IND-VICTIMS",
        other => panic!("the test has no sample key for {other}"),
    }
}

/// A value for a required query parameter, so that an allowed caller's read succeeds.
fn sample_query_value(name: &str) -> &'static str {
    match name {
        "by" => "activity",
        other => panic!("the test has no sample value for the query parameter {other}"),
    }
}

/// A documented path with each `{parameter}` replaced by a record of the sample plan.
fn concrete_uri(path: &str) -> String {
    let segments: Vec<&str> = path
        .strip_prefix("/api/v1/")
        .unwrap_or_else(|| panic!("{path} is not under /api/v1"))
        .split('/')
        .collect();
    let kind = segments[0];
    let concrete: Vec<&str> = segments
        .iter()
        .map(|segment| match *segment {
            "{entity}" => "institutions",
            "{code}" | "{reference}" => sample_key(kind),
            other if other.starts_with('{') => {
                panic!("the test has no sample value for {other} in {path}")
            }
            other => other,
        })
        .collect();
    format!("/api/v1/{}", concrete.join("/"))
}

/// One caller of the role matrix: a name for messages, a token, and the role behind it.
struct Caller<'a> {
    name: String,
    token: Option<&'a str>,
    role: Option<Role>,
    /// A recorder bound to an institution.
    bound: bool,
}

/// Callers without a valid token (none, garbage, well-formed but unknown), then one caller
/// per role.
fn callers<'a>(tokens: &'a Tokens, unknown_token: &'a str) -> Vec<Caller<'a>> {
    let mut callers = vec![
        Caller {
            name: "no token".to_owned(),
            token: None,
            role: None,
            bound: false,
        },
        Caller {
            name: "a garbage token".to_owned(),
            token: Some("garbage"),
            role: None,
            bound: false,
        },
        Caller {
            name: "a well-formed unknown token".to_owned(),
            token: Some(unknown_token),
            role: None,
            bound: false,
        },
    ];
    for role in [Role::Admin, Role::Recorder, Role::Donor, Role::Auditor] {
        callers.push(Caller {
            name: format!("the {} token", role.as_str()),
            token: Some(tokens.of(role)),
            role: Some(role),
            bound: false,
        });
    }
    callers.push(Caller {
        name: "the token of a recorder bound to MIA".to_owned(),
        token: Some(&tokens.bound_recorder),
        role: Some(Role::Recorder),
        bound: true,
    });
    callers
}

/// A token that looks like one `naptrack user add` prints but belongs to nobody.
fn unknown_token() -> String {
    format!("napt_{}", "0".repeat(64))
}

/// What one caller got from one route.
struct Answer {
    what: String,
    method: Method,
    status: Status,
    challenge: Option<String>,
    content_type: Option<ContentType>,
    text: String,
}

/// Calls `route` as `caller`, its path parameters naming sample records and its required
/// query parameters given. A body, where the method takes one, is the empty JSON object:
/// only who may call is checked here.
async fn call(app: &TestApp, route: &openapi::RouteDoc, caller: &Caller<'_>) -> Answer {
    let method: Method = route.method.to_uppercase().parse().expect("an HTTP method");
    let mut uri = concrete_uri(&route.path);
    let required_query: Vec<String> = route
        .params
        .iter()
        .filter(|param| param.location == "query" && param.required)
        .map(|param| format!("{}={}", param.name, sample_query_value(&param.name)))
        .collect();
    if !required_query.is_empty() {
        uri = format!("{uri}?{}", required_query.join("&"));
    }
    let body = matches!(method, Method::Post | Method::Put | Method::Patch).then_some("{}");
    let response = app
        .request(method, &uri, caller.token, body)
        .dispatch()
        .await;
    let status = response.status();
    let challenge = response
        .headers()
        .get_one("WWW-Authenticate")
        .map(str::to_owned);
    let content_type = response.content_type();
    let text = response.into_string().await.unwrap_or_default();
    Answer {
        what: format!("{method} {uri} with {}", caller.name),
        method,
        status,
        challenge,
        content_type,
        text,
    }
}

/// What the route table promises for one route and one caller; `None` when it holds.
fn check_access(route: &openapi::RouteDoc, caller: &Caller<'_>, answer: &Answer) -> Option<String> {
    let Answer {
        what, status, text, ..
    } = answer;
    let json_error = |code: &str| -> Option<String> {
        let body: Option<Value> = serde_json::from_str(text).ok();
        let shaped = answer.content_type == Some(ContentType::JSON)
            && body.is_some_and(|body| {
                body["error"]["code"] == code
                    && body["error"]["message"].is_string()
                    && body["error"]["details"].is_array()
            });
        (!shaped).then(|| format!("{what}: not a JSON {code} error: {text}"))
    };
    match (route.access, caller.role) {
        (Access::Anyone, _) => {
            (*status != Status::Ok).then(|| format!("{what}: {status}, expected 200"))
        }
        (Access::Roles(_), None) => {
            if *status != Status::Unauthorized {
                Some(format!("{what}: {status}, expected 401"))
            } else {
                json_error("unauthenticated")
            }
        }
        (Access::Roles(roles), Some(role)) if !roles.contains(&role) => {
            if *status != Status::Forbidden {
                Some(format!("{what}: {status}, expected 403"))
            } else {
                json_error("forbidden")
            }
        }
        (Access::Roles(_), Some(_)) if caller.bound && writes_beyond_an_institution(answer) => {
            if *status != Status::Forbidden {
                Some(format!(
                    "{what}: {status}, expected 403 for a bound recorder"
                ))
            } else {
                json_error("forbidden")
            }
        }
        (Access::Roles(_), Some(_)) if caller.bound && answer.method != Method::Get => {
            // Money and values on a sample record: allowed or not, by whose activity it is.
            (status.code == 401 || status.code >= 500)
                .then(|| format!("{what}: {status}, expected the route to run: {text}"))
        }
        (Access::Roles(_), Some(_)) => {
            if matches!(status.code, 401 | 403) || status.code >= 500 {
                Some(format!(
                    "{what}: {status}, expected the route to run: {text}"
                ))
            } else if answer.method == Method::Get && *status == Status::NotFound {
                // Every path parameter names a record of the sample plan, so a read finds it.
                // (A read may still be a 400 for a filter the route table cannot mark as
                // required, such as one of `donor` or `funding_source`.)
                Some(format!("{what}: 404, expected the sample record: {text}"))
            } else {
                None
            }
        }
    }
}

/// Whether the call writes records that a recorder bound to an institution may not write at
/// all: anything but budget lines, commitments, disbursements (and reversals) and indicator
/// values. (The matrix imports into `institutions`.)
fn writes_beyond_an_institution(answer: &Answer) -> bool {
    let path = answer.what.split(' ').nth(1).unwrap_or_default();
    let segments: Vec<&str> = path
        .trim_start_matches("/api/v1/")
        .split(['/', '?'])
        .collect();
    let kind = match segments.as_slice() {
        ["import", kind, ..] => *kind,
        [kind, ..] => *kind,
        [] => "",
    };
    answer.method != Method::Get
        && ![
            "budget-lines",
            "commitments",
            "disbursements",
            "indicator-values",
        ]
        .contains(&kind)
}

#[rocket::async_test]
async fn every_route_admits_exactly_the_roles_its_route_table_entry_names() {
    let (app, tokens) = sample_app().await;
    let unknown = unknown_token();
    let callers = callers(&tokens, &unknown);
    let routes = openapi::routes();

    let mut failures = Vec::new();
    for route in &routes {
        for caller in &callers {
            let answer = call(&app, route, caller).await;
            failures.extend(check_access(route, caller, &answer));
        }
    }

    assert!(routes.len() > 30, "only {} routes", routes.len());
    assert!(
        failures.is_empty(),
        "{} of {} calls broke the role table:\n{}",
        failures.len(),
        routes.len() * callers.len(),
        failures.join("\n")
    );
}

#[rocket::async_test]
async fn no_get_of_any_route_by_any_caller_changes_what_is_stored() {
    use naptrack::service::audit::{Verification, verify};
    let (app, tokens) = sample_app().await;
    let unknown = unknown_token();
    let callers = callers(&tokens, &unknown);
    let before = crate::helpers::export_everything(&app.db).await;
    let trail = verify(&app.db).await.unwrap();

    let reads: Vec<_> = openapi::routes()
        .into_iter()
        .filter(|r| r.method.eq_ignore_ascii_case("get"))
        .collect();
    for route in &reads {
        for caller in &callers {
            call(&app, route, caller).await;
        }
    }

    assert!(reads.len() > 15, "only {} reads", reads.len());
    assert!(crate::helpers::export_everything(&app.db).await == before);
    assert!(matches!(trail, Verification::Intact { .. }));
    assert_eq!(
        verify(&app.db).await.unwrap(),
        trail,
        "a GET wrote to the audit trail"
    );
}

#[rocket::async_test]
async fn every_401_of_a_role_protected_route_says_to_send_a_bearer_token() {
    let (app, tokens) = sample_app().await;
    let unknown = unknown_token();
    let anonymous: Vec<Caller<'_>> = callers(&tokens, &unknown)
        .into_iter()
        .filter(|caller| caller.role.is_none())
        .collect();
    let routes = openapi::routes();

    let mut failures = Vec::new();
    for route in routes.iter().filter(|r| r.access != Access::Anyone) {
        for caller in &anonymous {
            let answer = call(&app, route, caller).await;
            if answer.status != Status::Unauthorized
                || answer.challenge.as_deref() != Some("Bearer")
            {
                failures.push(format!(
                    "{}: {} with WWW-Authenticate {:?}",
                    answer.what, answer.status, answer.challenge
                ));
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} calls without a valid token were not a 401 with WWW-Authenticate: Bearer:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The documented paths one mounted Rocket route serves. `/api/v1/<kind>` is one route for
/// every record kind, so it stands for one documented path per kind; `/api/v1/<kind>/<key>`
/// stands for one per kind with a one-column key, the parameter named after that column.
/// Elsewhere `<kind>` is the documented `{entity}` and `<_name>` is `{name}`.
fn documented_paths(mounted: &str) -> Vec<String> {
    let segments: Vec<&str> = mounted.trim_start_matches("/api/v1/").split('/').collect();
    match segments.as_slice() {
        ["<kind>"] => RecordKind::ALL
            .iter()
            .map(|kind| format!("/api/v1/{}", kind.name()))
            .collect(),
        ["<kind>", "<key>"] => RecordKind::ALL
            .iter()
            .filter_map(|kind| match key_columns(*kind) {
                [key] => Some(format!("/api/v1/{}/{{{key}}}", kind.name())),
                _ => None,
            })
            .collect(),
        other => {
            let renamed: Vec<String> = other
                .iter()
                .map(
                    |segment| match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                        Some("kind") => "{entity}".to_owned(),
                        Some(name) => format!("{{{}}}", name.trim_start_matches('_')),
                        None => (*segment).to_owned(),
                    },
                )
                .collect();
            vec![format!("/api/v1/{}", renamed.join("/"))]
        }
    }
}

#[rocket::async_test]
async fn every_mounted_api_route_is_in_the_route_table_and_every_table_entry_is_mounted() {
    let app = TestApp::spawn().await;
    let documented: BTreeSet<(String, String)> = openapi::routes()
        .iter()
        .map(|route| (route.method.to_owned(), route.path.clone()))
        .collect();

    let mut mounted = BTreeSet::new();
    for route in app.client.rocket().routes() {
        let path = route.uri.path();
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let method = route.method.as_str().to_lowercase();
        for documented_path in documented_paths(path) {
            mounted.insert((method.clone(), documented_path));
        }
    }

    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        undocumented.is_empty(),
        "mounted but not in routes(): {undocumented:?}"
    );
    assert!(
        unmounted.is_empty(),
        "in routes() but not mounted: {unmounted:?}"
    );
    assert!(mounted.contains(&("post".to_owned(), "/api/v1/disbursements".to_owned())));
}

#[rocket::async_test]
async fn the_openapi_document_is_openapi_3_with_an_operation_for_every_route() {
    let app = TestApp::spawn().await;

    let (status, document) = json_of(app.get("/api/v1/openapi.json").await).await;

    assert_eq!(status, Status::Ok);
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        document["openapi"]
    );
    let routes = openapi::routes();
    for route in &routes {
        let operation = &document["paths"][&route.path][route.method];
        assert!(
            operation["responses"].is_object(),
            "no {} {} in the document",
            route.method,
            route.path
        );
        // Every parameter of the path template is declared as a required path parameter.
        for name in route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            let declared = operation["parameters"].as_array().is_some_and(|params| {
                params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
            });
            assert!(
                declared,
                "{} {} does not declare {{{name}}}",
                route.method, route.path
            );
        }
    }
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |methods| methods.len()))
        .sum();
    assert_eq!(operations, routes.len());
}

/// The media types the document names for `status` of `method path`.
fn documented_media_types(document: &Value, method: &str, path: &str, status: u16) -> Vec<String> {
    document["paths"][path][method]["responses"][status.to_string()]["content"]
        .as_object()
        .map(|content| content.keys().cloned().collect())
        .unwrap_or_default()
}

#[rocket::async_test]
async fn a_report_asked_for_as_csv_answers_with_a_media_type_its_document_names() {
    let (app, tokens) = sample_app().await;
    let (_, document) = json_of(app.get("/api/v1/openapi.json").await).await;

    for (path, query) in [
        ("/api/v1/reports/execution", "by=activity&fiscal_year=2016"),
        ("/api/v1/reports/donor", "donor=PGATO"),
    ] {
        let documented = documented_media_types(&document, "get", path, 200);
        for format in ["json", "csv"] {
            let uri = format!("{path}?{query}&format={format}");
            let response = app.get_with(Some(&tokens.donor), &uri).await;
            assert_eq!(response.status(), Status::Ok, "{uri}");
            let media_type = response
                .content_type()
                .map(|ct| format!("{}/{}", ct.top(), ct.sub()))
                .unwrap_or_default();
            assert!(
                documented.contains(&media_type),
                "{uri} answered {media_type}, the document names {documented:?}"
            );
        }
    }
}

/// The disbursed total of the report by activity, as the API answers it.
async fn reported_disbursed(app: &TestApp, token: &str) -> String {
    let (status, report) = json_of(
        app.get_with(Some(token), "/api/v1/reports/execution?by=activity")
            .await,
    )
    .await;
    assert_eq!(status, Status::Ok, "{report}");
    report["totals"]["disbursed"].as_str().unwrap().to_owned()
}

#[rocket::async_test]
async fn a_report_asked_for_again_shows_every_write_made_in_between_by_any_writer() {
    let (app, tokens) = sample_app().await;
    let first = reported_disbursed(&app, &tokens.donor).await;
    assert_eq!(reported_disbursed(&app, &tokens.donor).await, first);

    // A write through this app.
    let posted = app
        .post_disbursement(
            &tokens.recorder,
            &disbursement_body("D-AGAIN-1", "\"12.34\""),
        )
        .await;
    assert_eq!(posted.status(), Status::Created);
    let after_post = reported_disbursed(&app, &tokens.donor).await;
    assert_eq!(
        amount(&after_post),
        amount(&first).checked_add(amount("12.34")).unwrap()
    );

    // A write that another instance (or the command line) makes on the same database.
    crate::helpers::import_csv(
        &app.db,
        RecordKind::Disbursements,
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n\
         NAP-2015,D-AGAIN-2,BL-2015-036,2015-06-02,0.66,EUR,SHELTER-A,Elsewhere,\n",
    )
    .await;
    assert_eq!(
        amount(&reported_disbursed(&app, &tokens.donor).await),
        amount(&after_post).checked_add(amount("0.66")).unwrap()
    );
}

#[rocket::async_test]
async fn a_post_sees_the_budget_lines_another_writer_added_since_the_last_post() {
    let (app, tokens) = sample_app().await;
    let body = |reference: &str, line: &str| {
        format!(
            r#"{{"reference": "{reference}", "budget_line_code": "{line}", "date": "2015-06-01", "amount": "5.00", "currency": "EUR"}}"#
        )
    };
    let first = app
        .post_disbursement(&tokens.recorder, &body("D-CAT-1", "BL-2015-036"))
        .await;
    assert_eq!(first.status(), Status::Created);
    let unknown = app
        .post_disbursement(&tokens.recorder, &body("D-CAT-2", "BL-NEW"))
        .await;
    assert_eq!(unknown.status(), Status::UnprocessableEntity);

    // Another instance (or the command line) adds the line on the same database.
    crate::helpers::import_csv(
        &app.db,
        RecordKind::BudgetLines,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n\
         NAP-2015,BL-NEW,PROT-04,SB,2015,subsidies_and_transfers,100.00,EUR,\n",
    )
    .await;
    let second = app
        .post_disbursement(&tokens.recorder, &body("D-CAT-2", "BL-NEW"))
        .await;
    assert_eq!(second.status(), Status::Created);

    // A line this app adds is there for the next post too, and one that failed is not.
    let put = app
        .put_record_request(
            &tokens.admin,
            "budget-lines",
            "BL-NEW2",
            r#"{"plan_code": "NAP-2015", "code": "BL-NEW2", "activity_code": "PROT-04", "funding_source_code": "SB", "fiscal_year": "2015", "category": "wages", "amount": "1.00", "currency": "EUR"}"#,
        )
        .dispatch()
        .await;
    assert_eq!(put.status(), Status::NotFound, "a PUT does not create");
    let post = app
        .request(
            Method::Post,
            "/api/v1/budget-lines",
            Some(&tokens.admin),
            Some(r#"{"plan_code": "NAP-2015", "code": "BL-NEW3", "activity_code": "PROT-04", "funding_source_code": "SB", "fiscal_year": "2015", "category": "wages", "amount": "1.00", "currency": "EUR"}"#),
        )
        .dispatch()
        .await;
    assert_eq!(post.status(), Status::Created);
    for (reference, line, status) in [
        ("D-CAT-3", "BL-NEW3", Status::Created),
        ("D-CAT-4", "BL-NEW2", Status::UnprocessableEntity),
    ] {
        let answer = app
            .post_disbursement(&tokens.recorder, &body(reference, line))
            .await;
        assert_eq!(answer.status(), status, "{line}");
    }
}

fn amount(text: &str) -> naptrack::money::Amount {
    naptrack::money::Amount::parse(text).unwrap()
}

/// Every `oneOf` of the document, wherever it stands.
fn one_ofs<'a>(value: &'a Value, found: &mut Vec<&'a Vec<Value>>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(branches)) = object.get("oneOf") {
                found.push(branches);
            }
            object.values().for_each(|v| one_ofs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| one_ofs(v, found)),
        _ => {}
    }
}

#[rocket::async_test]
async fn no_one_of_in_the_openapi_document_offers_both_an_integer_and_a_number() {
    // Every integer is also a number, so such a `oneOf` matches two branches for every
    // integer and refuses it: a fiscal year could then never be sent.
    let app = TestApp::spawn().await;
    let (_, document) = json_of(app.get("/api/v1/openapi.json").await).await;

    let mut found = Vec::new();
    one_ofs(&document, &mut found);

    let types = |branches: &Vec<Value>| -> Vec<String> {
        branches
            .iter()
            .filter_map(|b| b["type"].as_str().map(str::to_owned))
            .collect()
    };
    let ambiguous: Vec<_> = found
        .iter()
        .filter(|branches| {
            let types = types(branches);
            types.iter().any(|t| t == "integer") && types.iter().any(|t| t == "number")
        })
        .collect();
    assert!(found.len() > 10, "only {} oneOf", found.len());
    assert!(ambiguous.is_empty(), "{ambiguous:?}");
    let fiscal_year =
        &document["components"]["schemas"]["BudgetLinesInput"]["properties"]["fiscal_year"];
    assert_eq!(fiscal_year["type"], "integer", "{fiscal_year}");
}

#[rocket::async_test]
async fn a_required_input_field_is_documented_as_not_nullable_and_null_is_a_422() {
    let (app, tokens) = sample_app().await;
    let (_, document) = json_of(app.get("/api/v1/openapi.json").await).await;
    let properties = &document["components"]["schemas"]["InstitutionsInput"]["properties"];

    let response = app
        .request(
            Method::Post,
            "/api/v1/institutions",
            Some(&tokens.recorder),
            Some(r#"{"code": "NEW-NGO", "name": null, "kind": "ngo"}"#),
        )
        .dispatch()
        .await;
    let (status, body) = json_of(response).await;

    assert_eq!(properties["name"]["type"], "string", "{properties}");
    assert!(
        properties["name"]["minLength"].as_u64() >= Some(1),
        "{properties}"
    );
    let nullable = properties["iati_ref"]["oneOf"]
        .as_array()
        .is_some_and(|branches| branches.iter().any(|b| b["type"] == "null"));
    assert!(
        nullable,
        "the optional iati_ref is not nullable: {properties}"
    );
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(error_columns(&body), ["name"]);
}

#[rocket::async_test]
async fn a_replacement_is_documented_without_its_key_and_a_put_without_the_key_updates_the_record()
{
    let (app, tokens) = sample_app().await;
    let (_, document) = json_of(app.get("/api/v1/openapi.json").await).await;
    let body_schema = &document["paths"]["/api/v1/institutions/{code}"]["put"]["requestBody"]["content"]
        ["application/json"]["schema"]["$ref"];
    let name = body_schema
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or_default();
    let required = &document["components"]["schemas"][name]["required"];

    let response = app
        .put_record_request(
            &tokens.recorder,
            "institutions",
            "SHELTER-A",
            r#"{"name": "Shelter A (renamed)", "kind": "ngo"}"#,
        )
        .dispatch()
        .await;
    let (status, body) = json_of(response).await;

    let required: Vec<&str> = required
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(required, ["name", "kind"], "{name}");
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["code"], "SHELTER-A");
    assert_eq!(body["name"], "Shelter A (renamed)");
}

#[rocket::async_test]
async fn every_link_of_the_openapi_document_names_an_operation_and_only_its_parameters() {
    let app = TestApp::spawn().await;
    let (_, document) = json_of(app.get("/api/v1/openapi.json").await).await;
    let mut operations = std::collections::BTreeMap::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("a path item").values() {
            operations.insert(
                operation["operationId"]
                    .as_str()
                    .expect("an operationId")
                    .to_owned(),
                operation.clone(),
            );
        }
    }

    let mut links = Vec::new();
    for operation in operations.values() {
        for response in operation["responses"]
            .as_object()
            .expect("responses")
            .values()
        {
            if let Some(found) = response["links"].as_object() {
                links.extend(found.values().cloned());
            }
        }
    }

    assert!(links.len() >= 20, "only {} links", links.len());
    for link in &links {
        let target = &operations[link["operationId"].as_str().expect("an operationId")];
        let declared: Vec<&str> = target["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for (name, expression) in link["parameters"].as_object().expect("link parameters") {
            assert!(declared.contains(&name.as_str()), "{link}");
            assert!(
                expression
                    .as_str()
                    .is_some_and(|e| e.starts_with("$response.body#/")),
                "{link}"
            );
        }
    }
    let reverse =
        &document["paths"]["/api/v1/disbursements"]["post"]["responses"]["201"]["links"]["Reverse"];
    assert_eq!(
        reverse["operationId"], "post_disbursements__reference__reversal",
        "{reverse}"
    );
    assert_eq!(
        reverse["parameters"]["reference"],
        "$response.body#/reference"
    );
    assert_eq!(reverse["parameters"]["plan"], "$response.body#/plan_code");
}

#[rocket::async_test]
async fn a_donor_posting_a_disbursement_is_forbidden_and_nothing_is_stored() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    let response = app
        .post_disbursement(&tokens.donor, &disbursement_body("D-DONOR-1", "\"10.00\""))
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn a_revoked_token_is_unauthenticated() {
    let (app, tokens) = sample_app().await;
    let token_id = users::list_tokens(&app.db, Some("recorder@example.org"))
        .await
        .unwrap()[0]
        .id;
    assert_eq!(
        app.list_disbursements(&tokens.recorder, "").await.status(),
        Status::Ok
    );

    users::revoke_token(&app.db, token_id, "test")
        .await
        .unwrap();

    let read = app.list_disbursements(&tokens.recorder, "").await;
    assert_eq!(read.status(), Status::Unauthorized);
    let write = app
        .post_disbursement(
            &tokens.recorder,
            &disbursement_body("D-REVOKED-1", "\"10.00\""),
        )
        .await;
    assert_eq!(write.status(), Status::Unauthorized);
    assert_eq!(
        disbursement_total(&app, &tokens.admin, "reference=D-REVOKED-1").await,
        0
    );
}

// --- Disbursements ----------------------------------------------------------------------

#[rocket::async_test]
async fn a_recorder_posts_a_disbursement_with_a_string_amount_and_gets_the_stored_record() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_disbursement(
            &tokens.recorder,
            &disbursement_body("D-TEST-1", "\"1234.5678\""),
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body, stored_disbursement("D-TEST-1", "1234.5678"));
    let (status, stored) = json_of(app.get_disbursement(&tokens.donor, "D-TEST-1").await).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(stored, body);
}

#[rocket::async_test]
async fn a_disbursement_amount_sent_as_a_json_number_is_stored_exactly() {
    let (app, tokens) = sample_app().await;

    let small = app
        .post_disbursement(&tokens.recorder, &disbursement_body("D-NUM-1", "1234.5678"))
        .await;
    let (small_status, small_body) = json_of(small).await;
    // 17 significant digits: an f64 anywhere on the way would round it.
    let large = app
        .post_disbursement(
            &tokens.recorder,
            &disbursement_body("D-NUM-2", "12345678901234.5678"),
        )
        .await;
    let (large_status, large_body) = json_of(large).await;

    assert_eq!(small_status, Status::Created, "{small_body}");
    assert_eq!(small_body["amount"], "1234.5678");
    assert_eq!(large_status, Status::Created, "{large_body}");
    assert_eq!(large_body["amount"], "12345678901234.5678");
    let (_, stored) = json_of(app.get_disbursement(&tokens.recorder, "D-NUM-2").await).await;
    assert_eq!(stored["amount"], "12345678901234.5678");
}

#[rocket::async_test]
async fn a_recorded_disbursement_cannot_be_put_patched_or_deleted() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;
    let change = r#"{"amount": "1.00", "description": "changed"}"#;

    for method in [Method::Put, Method::Patch, Method::Delete] {
        for token in [&tokens.recorder, &tokens.admin] {
            let response = app
                .change_disbursement(method, token, "D-2015-0001", change)
                .await;

            let (status, body) = json_of(response).await;
            assert_eq!(status, Status::MethodNotAllowed, "{method}: {body}");
            assert_eq!(body["error"]["code"], "method_not_allowed");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("reversal")),
                "{body}"
            );
        }
    }
    assert_eq!(export_everything(&app.db).await, before);
    let (_, stored) = json_of(app.get_disbursement(&tokens.recorder, "D-2015-0001").await).await;
    assert_eq!(stored["amount"], "16854.44");
}

// --- Idempotency ------------------------------------------------------------------------

#[rocket::async_test]
async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_stores_once() {
    let (app, tokens) = sample_app().await;
    let body = disbursement_body("D-IDEM-1", "\"250.00\"");

    let first = app
        .post_disbursement_with_key(&tokens.recorder, "retry-1", &body)
        .await;
    let (first_status, first_body) = (first.status(), first.into_string().await);
    let retry = app
        .post_disbursement_with_key(&tokens.recorder, "retry-1", &body)
        .await;
    let (retry_status, retry_body) = (retry.status(), retry.into_string().await);

    assert_eq!(first_status, Status::Created);
    assert_eq!(retry_status, first_status);
    assert_eq!(retry_body, first_body);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-IDEM-1").await,
        1
    );
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "").await,
        SAMPLE_DISBURSEMENTS + 1
    );
}

#[rocket::async_test]
async fn the_same_idempotency_key_with_a_different_body_is_a_conflict() {
    let (app, tokens) = sample_app().await;
    app.post_disbursement_with_key(
        &tokens.recorder,
        "key-2",
        &disbursement_body("D-IDEM-2", "\"250.00\""),
    )
    .await;

    let response = app
        .post_disbursement_with_key(
            &tokens.recorder,
            "key-2",
            &disbursement_body("D-IDEM-3", "\"250.00\""),
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Conflict, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-IDEM-3").await,
        0
    );
}

#[rocket::async_test]
async fn a_failed_request_releases_its_idempotency_key_for_the_corrected_request() {
    let (app, tokens) = sample_app().await;
    let refused = app
        .post_disbursement_with_key(
            &tokens.recorder,
            "key-fix",
            &disbursement_body("D-IDEM-4", "\"1.00001\""),
        )
        .await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);

    let corrected = app
        .post_disbursement_with_key(
            &tokens.recorder,
            "key-fix",
            &disbursement_body("D-IDEM-4", "\"1.00\""),
        )
        .await;

    assert_eq!(corrected.status(), Status::Created);
}

#[rocket::async_test]
async fn an_idempotency_key_that_is_not_visible_ascii_is_a_422_naming_the_header() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_disbursement_with_key(
            &tokens.recorder,
            "two words",
            &disbursement_body("D-IDEM-5", "\"1.00\""),
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(error_columns(&body), ["Idempotency-Key"]);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-IDEM-5").await,
        0
    );
}

#[rocket::async_test]
async fn posting_a_recorded_reference_again_without_a_key_is_a_conflict() {
    let (app, tokens) = sample_app().await;
    let body = disbursement_body("D-DUP-1", "\"75.00\"");
    let first = app.post_disbursement(&tokens.recorder, &body).await;
    assert_eq!(first.status(), Status::Created);

    let again = app.post_disbursement(&tokens.recorder, &body).await;

    let (status, error) = json_of(again).await;
    assert_eq!(status, Status::Conflict, "{error}");
    error_columns(&error);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-DUP-1").await,
        1
    );
}

#[rocket::async_test]
async fn two_concurrent_requests_with_one_idempotency_key_store_one_record_and_answer_alike() {
    let (app, tokens) = sample_app().await;
    let body = disbursement_body("D-CONC-1", "\"500.00\"");
    let first = app.post_disbursement_request(&tokens.recorder, Some("concurrent"), &body);
    let second = app.post_disbursement_request(&tokens.recorder, Some("concurrent"), &body);

    let (first, second) = tokio::join!(first.dispatch(), second.dispatch());

    let (first_status, second_status) = (first.status(), second.status());
    let (first_body, second_body) = tokio::join!(first.into_string(), second.into_string());
    assert_eq!(first_status, Status::Created, "{first_body:?}");
    assert_eq!(second_status, Status::Created, "{second_body:?}");
    assert_eq!(first_body, second_body);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-CONC-1").await,
        1
    );
}

// --- Reversals --------------------------------------------------------------------------

#[rocket::async_test]
async fn a_partial_reversal_is_a_negative_disbursement_that_names_the_original() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Unspent subsidy refunded", "amount": "100.00"}"#,
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body["amount"], "-100.00");
    assert_eq!(body["reverses"], "D-2015-0002");
    assert_eq!(body["budget_line_code"], "BL-2015-036");
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["description"], "Unspent subsidy refunded");
    let reference = body["reference"].as_str().expect("a reference");
    let (_, stored) = json_of(app.get_disbursement(&tokens.donor, reference).await).await;
    assert_eq!(stored, body);
}

#[rocket::async_test]
async fn a_reversal_without_an_amount_takes_back_the_rest_and_then_nothing_is_left() {
    let (app, tokens) = sample_app().await;
    let partial = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Part refunded", "amount": "100.00"}"#,
        )
        .await;
    assert_eq!(partial.status(), Status::Created);

    let rest = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Paid twice"}"#,
        )
        .await;
    let (rest_status, rest_body) = json_of(rest).await;
    let third = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Once more"}"#,
        )
        .await;
    let (third_status, third_body) = json_of(third).await;

    assert_eq!(rest_status, Status::Created, "{rest_body}");
    assert_eq!(rest_body["amount"], "-11900.00");
    assert_eq!(rest_body["reverses"], "D-2015-0002");
    assert_eq!(third_status, Status::Conflict, "{third_body}");
    error_columns(&third_body);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reverses=D-2015-0002").await,
        2
    );
}

#[rocket::async_test]
async fn a_reversal_of_more_than_remains_is_a_422_naming_amount() {
    let (app, tokens) = sample_app().await;
    app.post_reversal(
        &tokens.recorder,
        "D-2015-0002",
        r#"{"reason": "Part refunded", "amount": "100.00"}"#,
    )
    .await;
    let before = export_everything(&app.db).await;

    let response = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Too much", "amount": "11900.01"}"#,
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert!(
        error_columns(&body).contains(&"amount".to_owned()),
        "{body}"
    );
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn a_reversal_of_zero_is_a_422_naming_amount_and_stores_nothing() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    for amount in [r#""0""#, r#""-0.00""#, "0"] {
        let body = format!(r#"{{"reason": "Nothing to take back", "amount": {amount}}}"#);
        let response = app
            .post_reversal(&tokens.recorder, "D-2015-0002", &body)
            .await;

        let (status, error) = json_of(response).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}: {error}");
        assert_eq!(error_columns(&error), ["amount"], "{body}");
        assert!(
            error["error"]["details"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("reverses nothing")),
            "{body}: {error}"
        );
    }
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn a_reversal_of_an_unknown_disbursement_is_a_404() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_reversal(&tokens.recorder, "D-NO-SUCH", r#"{"reason": "Never paid"}"#)
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::NotFound, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[rocket::async_test]
async fn a_reversal_without_a_reason_is_a_422_naming_reason() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    for body in [
        r#"{"amount": "100.00"}"#,
        r#"{"reason": "   ", "amount": "1"}"#,
    ] {
        let response = app
            .post_reversal(&tokens.recorder, "D-2015-0002", body)
            .await;

        let (status, error) = json_of(response).await;
        assert_eq!(status, Status::UnprocessableEntity, "{body}: {error}");
        assert_eq!(error_columns(&error), ["reason"], "{body}");
    }
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn a_reversal_with_an_unknown_field_is_a_422_naming_the_field() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Refund", "amont": "100.00"}"#,
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(error_columns(&body), ["amont"]);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reverses=D-2015-0002").await,
        0
    );
}

#[rocket::async_test]
async fn a_reversal_of_a_reversal_is_a_422_naming_reverses() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    // D-2016-0034 is itself a reversal of D-2016-0025 in the sample plan.
    let response = app
        .post_reversal(
            &tokens.recorder,
            "D-2016-0034",
            r#"{"reason": "Undo the refund", "amount": "1.00"}"#,
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(error_columns(&body), ["reverses"]);
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn a_reversal_dated_before_the_original_is_a_422_naming_date() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_reversal(
            &tokens.recorder,
            "D-2015-0002",
            r#"{"reason": "Refund", "date": "2015-01-20"}"#,
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(error_columns(&body), ["date"]);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reverses=D-2015-0002").await,
        0
    );
}

#[rocket::async_test]
async fn two_concurrent_full_reversals_never_take_back_more_than_was_paid() {
    let (app, tokens) = sample_app().await;
    // A race is a matter of timing, so it is run on several disbursements.
    let originals: Vec<String> = (1..=8).map(|n| format!("D-2015-{n:04}")).collect();

    let mut over_reversed = Vec::new();
    for original in &originals {
        let (_, paid) = json_of(app.get_disbursement(&tokens.recorder, original).await).await;
        let amount = paid["amount"].as_str().expect("an amount");
        let body = |suffix: &str| {
            format!(
                r#"{{"reason": "Paid twice", "amount": "{amount}", "reference": "{original}-{suffix}"}}"#
            )
        };
        let first = app.post_reversal_request(&tokens.recorder, original, &body("A"));
        let second = app.post_reversal_request(&tokens.recorder, original, &body("B"));

        let (first, second) = tokio::join!(first.dispatch(), second.dispatch());

        let mut statuses = [first.status().code, second.status().code];
        statuses.sort_unstable();
        let reversals =
            disbursement_total(&app, &tokens.recorder, &format!("reverses={original}")).await;
        if statuses[0] != 201 || !matches!(statuses[1], 409 | 422) || reversals != 1 {
            over_reversed.push(format!(
                "{original} paid {amount}: answers {statuses:?}, {reversals} reversals stored"
            ));
        }
    }

    assert!(over_reversed.is_empty(), "{}", over_reversed.join("\n"));
}

// --- Bad input --------------------------------------------------------------------------

#[rocket::async_test]
async fn malformed_json_is_a_400_in_the_contract_shape() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    let response = app
        .post_disbursement(&tokens.recorder, r#"{"reference": "D-BAD-1", "amount": "#)
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::BadRequest, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    error_columns(&body);
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn a_json_array_instead_of_an_object_is_a_422() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_disbursement(
            &tokens.recorder,
            &format!("[{}]", disbursement_body("D-BAD-2", "\"1.00\"")),
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(body["error"]["code"], "invalid");
    error_columns(&body);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-BAD-2").await,
        0
    );
}

#[rocket::async_test]
async fn an_unknown_field_is_a_422_whose_details_name_it() {
    let (app, tokens) = sample_app().await;
    let body = disbursement_body("D-BAD-3", "\"1.00\"").replacen('{', r#"{"payee": "NCO", "#, 1);

    let response = app.post_disbursement(&tokens.recorder, &body).await;

    let (status, error) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{error}");
    assert_eq!(error_columns(&error), ["payee"]);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-BAD-3").await,
        0
    );
}

#[rocket::async_test]
async fn an_amount_of_the_wrong_json_type_is_a_422_naming_amount() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    for amount in ["true", r#"{"value": "1.00"}"#, r#"["1.00"]"#] {
        let response = app
            .post_disbursement(&tokens.recorder, &disbursement_body("D-BAD-4", amount))
            .await;

        let (status, body) = json_of(response).await;
        assert_eq!(status, Status::UnprocessableEntity, "{amount}: {body}");
        assert_eq!(error_columns(&body), ["amount"], "{amount}");
    }
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn an_amount_that_is_not_a_plain_decimal_of_four_places_is_a_422_naming_amount() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    for amount in [
        "\"1.00001\"",
        "\"1e3\"",
        "\"1,234.50\"",
        "\"12.5 EUR\"",
        "\"\"",
        "\"123456789012345.00\"",
        "1.00001",
        "1e3",
    ] {
        let response = app
            .post_disbursement(&tokens.recorder, &disbursement_body("D-BAD-5", amount))
            .await;

        let (status, body) = json_of(response).await;
        assert_eq!(status, Status::UnprocessableEntity, "{amount}: {body}");
        assert!(
            error_columns(&body).contains(&"amount".to_owned()),
            "{amount}: {body}"
        );
    }
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn an_unknown_budget_line_is_a_422_naming_budget_line_code() {
    let (app, tokens) = sample_app().await;
    let body = disbursement_body("D-BAD-6", "\"1.00\"").replace("BL-2015-036", "BL-NO-SUCH");

    let response = app.post_disbursement(&tokens.recorder, &body).await;

    let (status, error) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{error}");
    assert_eq!(error_columns(&error), ["budget_line_code"]);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-BAD-6").await,
        0
    );
}

#[rocket::async_test]
async fn a_body_over_the_json_limit_is_a_413() {
    let (app, tokens) = sample_app().await;
    // Rocket.toml's `json` limit is 1 MiB.
    let description = "x".repeat(1024 * 1024 + 1024);
    let body = disbursement_body("D-BIG-1", "\"1.00\"")
        .replace("Shelter subsidy, extra instalment", &description);

    let response = app.post_disbursement(&tokens.recorder, &body).await;

    let (status, error) = json_of(response).await;
    assert_eq!(status, Status::PayloadTooLarge);
    assert_eq!(error["error"]["code"], "payload_too_large");
    error_columns(&error);
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-BIG-1").await,
        0
    );
}

#[rocket::async_test]
async fn bad_query_parameters_are_400s_in_the_contract_shape() {
    let (app, tokens) = sample_app().await;
    let csv = "code,name,kind,iati_ref\nNEW-1,New institution,ngo,\n";

    let mut answers = Vec::new();
    for query in [
        "limit=abc",
        "offset=-1",
        "from=2016-13-01",
        "budget_line=BL-2015-036",
    ] {
        let (status, body) = json_of(app.list_disbursements(&tokens.donor, query).await).await;
        answers.push((format!("GET /api/v1/disbursements?{query}"), status, body));
    }
    for query in ["dry_run=maybe", "dryrun=true"] {
        let response = app
            .post_import(&tokens.recorder, "institutions", query, csv)
            .await;
        let (status, body) = json_of(response).await;
        answers.push((
            format!("POST /api/v1/import/institutions?{query}"),
            status,
            body,
        ));
    }
    let (status, body) = json_of(
        app.get_with(
            Some(&tokens.donor),
            "/api/v1/export/institutions?format=xml",
        )
        .await,
    )
    .await;
    answers.push((
        "GET /api/v1/export/institutions?format=xml".to_owned(),
        status,
        body,
    ));

    for (request, status, body) in answers {
        assert_eq!(status, Status::BadRequest, "{request}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{request}");
        error_columns(&body);
    }
    let (status, _) = json_of(
        app.get_with(Some(&tokens.donor), "/api/v1/institutions/NEW-1")
            .await,
    )
    .await;
    assert_eq!(status, Status::NotFound, "an import with a bad query wrote");
}

#[rocket::async_test]
async fn an_empty_record_is_a_422_naming_each_required_field_and_nothing_else() {
    let (app, tokens) = sample_app().await;

    let response = app.post_disbursement(&tokens.recorder, "{}").await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    assert_eq!(
        error_columns(&body),
        [
            "reference",
            "budget_line_code",
            "date",
            "amount",
            "currency"
        ],
        "{body}"
    );
}

#[rocket::async_test]
async fn an_offset_too_large_for_the_database_is_a_400_not_a_500() {
    let (app, tokens) = sample_app().await;

    let mut answers = Vec::new();
    for uri in [
        "/api/v1/disbursements?offset=9223372036854775808",
        "/api/v1/disbursements?offset=18446744073709551615",
        "/api/v1/audit?offset=18446744073709551615",
    ] {
        let (status, body) = json_of(app.get_with(Some(&tokens.auditor), uri).await).await;
        answers.push((uri, status, body));
    }

    for (uri, status, body) in answers {
        assert_eq!(status, Status::BadRequest, "{uri}: {body}");
        error_columns(&body);
    }
}

#[rocket::async_test]
async fn an_unknown_query_parameter_on_a_record_post_is_a_400_and_nothing_is_written() {
    let (app, tokens) = sample_app().await;
    let request = app.request(
        Method::Post,
        "/api/v1/disbursements?dry_run=true",
        Some(&tokens.recorder),
        Some(&disbursement_body("D-DRY-1", "\"1.00\"")),
    );

    let (status, body) = json_of(request.dispatch().await).await;

    assert_eq!(status, Status::BadRequest, "{body}");
    assert_eq!(
        disbursement_total(&app, &tokens.recorder, "reference=D-DRY-1").await,
        0
    );
}

// --- Import and export over HTTP --------------------------------------------------------

const INSTITUTIONS_CSV: &str = "code,name,kind,iati_ref\n\
    NEW-1,New shelter operator,ngo,\n\
    MIA,Ministry of Internal Affairs,government,\n";

#[rocket::async_test]
async fn a_csv_import_over_http_answers_with_its_counts_and_writes_the_rows() {
    let (app, tokens) = sample_app().await;

    let response = app
        .post_import(&tokens.recorder, "institutions", "", INSTITUTIONS_CSV)
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(
        body,
        serde_json::json!({
            "entity": "institutions",
            "rows": 2,
            "created": 1,
            "updated": 0,
            "unchanged": 1,
            "dry_run": false,
            "warnings": []
        })
    );
    let (status, stored) = json_of(
        app.get_with(Some(&tokens.donor), "/api/v1/institutions/NEW-1")
            .await,
    )
    .await;
    assert_eq!(status, Status::Ok);
    assert_eq!(stored["name"], "New shelter operator");
}

#[rocket::async_test]
async fn a_dry_run_import_over_http_reports_the_same_counts_and_writes_nothing() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;

    let response = app
        .post_import(
            &tokens.recorder,
            "institutions",
            "dry_run=true",
            INSTITUTIONS_CSV,
        )
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["created"], 1);
    assert_eq!(body["unchanged"], 1);
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn an_import_reusing_an_idempotency_key_for_another_file_is_a_conflict() {
    let (app, tokens) = sample_app().await;
    let (_, document) = json_of(app.get("/api/v1/openapi.json").await).await;
    let offered = document["paths"]["/api/v1/import/{entity}"]["post"]["parameters"]
        .as_array()
        .is_some_and(|params| params.iter().any(|p| p["name"] == "Idempotency-Key"));
    assert!(
        offered,
        "the document no longer offers Idempotency-Key on imports"
    );
    let other_file = "code,name,kind,iati_ref\nNEW-9,Another operator,ngo,\n";
    let first = app
        .post_import_request(&tokens.recorder, "institutions", "", INSTITUTIONS_CSV)
        .header(rocket::http::Header::new("Idempotency-Key", "import-1"))
        .dispatch()
        .await;
    assert_eq!(first.status(), Status::Ok);

    let second = app
        .post_import_request(&tokens.recorder, "institutions", "", other_file)
        .header(rocket::http::Header::new("Idempotency-Key", "import-1"))
        .dispatch()
        .await;

    assert_eq!(second.status(), Status::Conflict);
    let (status, _) = json_of(
        app.get_with(Some(&tokens.donor), "/api/v1/institutions/NEW-9")
            .await,
    )
    .await;
    assert_eq!(status, Status::NotFound);
}

#[rocket::async_test]
async fn a_bad_csv_over_http_is_a_422_listing_every_error_by_line_and_column() {
    let (app, tokens) = sample_app().await;
    let before = export_everything(&app.db).await;
    let csv = "code,name,kind,iati_ref\n\
        NEW-1,New shelter operator,ngo,\n\
        NEW-2,Spaceport,spaceship,\n\
        ,Nameless,ngo,\n";

    let response = app
        .post_import(&tokens.recorder, "institutions", "", csv)
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::UnprocessableEntity, "{body}");
    error_columns(&body);
    let found: Vec<(u64, &str)> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(found, [(3, "kind"), (4, "code")], "{body}");
    assert_eq!(export_everything(&app.db).await, before);
}

#[rocket::async_test]
async fn an_export_over_http_is_the_contract_csv() {
    let (app, tokens) = sample_app().await;
    let mut expected = Vec::new();
    naptrack::service::export::export_csv(&app.db, RecordKind::Disbursements, None, &mut expected)
        .await
        .unwrap();

    let response = app.get_export(&tokens.donor, "disbursements").await;

    assert_eq!(response.status(), Status::Ok);
    let content_type = response.content_type().expect("a content type");
    assert_eq!(
        (content_type.top().as_str(), content_type.sub().as_str()),
        ("text", "csv")
    );
    let text = response.into_string().await.unwrap();
    assert_eq!(
        text.lines().next(),
        Some(
            "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses"
        )
    );
    assert_eq!(text.as_bytes(), expected.as_slice());
}

// --- Lists ------------------------------------------------------------------------------

#[rocket::async_test]
async fn a_page_of_disbursements_holds_limit_records_in_reference_order_with_the_total() {
    let (app, tokens) = sample_app().await;
    let mut references: Vec<String> = sample_disbursements().into_iter().map(|d| d.0).collect();
    references.sort();

    let (status, body) = json_of(
        app.list_disbursements(&tokens.donor, "limit=5&offset=5")
            .await,
    )
    .await;

    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["total"], SAMPLE_DISBURSEMENTS);
    assert_eq!(references.len() as u64, SAMPLE_DISBURSEMENTS);
    assert_eq!(body["limit"], 5);
    assert_eq!(body["offset"], 5);
    let listed: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["reference"].as_str().unwrap())
        .collect();
    assert_eq!(listed, references[5..10]);
}

#[rocket::async_test]
async fn disbursements_are_filtered_by_budget_line_and_by_date_range() {
    let (app, tokens) = sample_app().await;
    let samples = sample_disbursements();
    let on_line = samples.iter().filter(|d| d.1 == "BL-2015-036").count();
    let in_quarter = samples
        .iter()
        .filter(|d| ("2016-01-01".."2016-04-01").contains(&d.2.as_str()))
        .count();

    let (_, by_line) = json_of(
        app.list_disbursements(&tokens.donor, "budget_line_code=BL-2015-036")
            .await,
    )
    .await;
    let (_, by_date) = json_of(
        app.list_disbursements(&tokens.donor, "from=2016-01-01&to=2016-03-31")
            .await,
    )
    .await;

    assert!(on_line > 1 && in_quarter > 1);
    assert_eq!(by_line["total"], on_line as u64, "{by_line}");
    assert!(
        by_line["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["budget_line_code"] == "BL-2015-036")
    );
    assert_eq!(by_date["total"], in_quarter as u64, "{by_date}");
    let dates: Vec<&str> = by_date["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), in_quarter);
    assert!(
        dates
            .iter()
            .all(|d| ("2016-01-01"..="2016-03-31").contains(d)),
        "{dates:?}"
    );
}

#[rocket::async_test]
async fn a_page_limit_outside_1_to_1000_is_a_400() {
    let (app, tokens) = sample_app().await;

    let zero = app
        .list_disbursements(&tokens.donor, "limit=0")
        .await
        .status();
    let too_many = app
        .list_disbursements(&tokens.donor, "limit=1001")
        .await
        .status();
    let (most_status, most) =
        json_of(app.list_disbursements(&tokens.donor, "limit=1000").await).await;
    let (one_status, one) = json_of(app.list_disbursements(&tokens.donor, "limit=1").await).await;

    assert_eq!(zero, Status::BadRequest);
    assert_eq!(too_many, Status::BadRequest);
    assert_eq!(most_status, Status::Ok);
    assert_eq!(
        most["items"].as_array().unwrap().len() as u64,
        SAMPLE_DISBURSEMENTS
    );
    assert_eq!(one_status, Status::Ok);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
}

// --- The audit trail --------------------------------------------------------------------

/// The number of audit entries, as an auditor reads it over the API.
async fn audit_total(app: &TestApp, auditor: &str) -> u64 {
    let (status, body) = json_of(app.get_audit(auditor, "limit=1").await).await;
    assert_eq!(status, Status::Ok, "{body}");
    body["total"].as_u64().expect("a total")
}

/// The newest audit entry.
async fn last_audit_entry(app: &TestApp, auditor: &str) -> Value {
    let total = audit_total(app, auditor).await;
    let (_, body) = json_of(
        app.get_audit(auditor, &format!("offset={}", total - 1))
            .await,
    )
    .await;
    body["items"][0].clone()
}

#[rocket::async_test]
async fn every_write_through_the_api_appends_one_audit_entry_naming_the_user() {
    let (app, tokens) = sample_app().await;
    let recorder = tokens.recorder.as_str();
    let writes = [
        (
            "disbursements",
            "create",
            app.post_disbursement_request(
                recorder,
                None,
                &disbursement_body("D-AUDIT-1", "\"1234.5678\""),
            ),
        ),
        (
            "disbursements",
            "create",
            app.post_reversal_request(
                recorder,
                "D-2015-0002",
                r#"{"reason": "Refund", "amount": "10.00"}"#,
            ),
        ),
        (
            "institutions",
            "create",
            app.request(
                Method::Post,
                "/api/v1/institutions",
                Some(recorder),
                Some(r#"{"code": "NEW-1", "name": "New shelter operator", "kind": "ngo"}"#),
            ),
        ),
        (
            "institutions",
            "update",
            app.put_record_request(
                recorder,
                "institutions",
                "NEW-1",
                r#"{"name": "Renamed shelter operator", "kind": "ngo"}"#,
            ),
        ),
        (
            "institutions",
            "import",
            app.post_import_request(recorder, "institutions", "", INSTITUTIONS_CSV),
        ),
    ];

    for (entity, action, request) in writes {
        let before = audit_total(&app, &tokens.auditor).await;

        let response = request.dispatch().await;

        let status = response.status();
        assert!(status.class().is_success(), "{entity} {action}: {status}");
        assert_eq!(
            audit_total(&app, &tokens.auditor).await,
            before + 1,
            "{entity} {action}"
        );
        let entry = last_audit_entry(&app, &tokens.auditor).await;
        assert_eq!(entry["actor"], "user:recorder@example.org", "{entry}");
        assert_eq!(entry["action"], action, "{entry}");
        assert_eq!(entry["entity"], entity, "{entry}");
    }
}

#[rocket::async_test]
async fn the_audit_entry_of_a_posted_disbursement_holds_the_record_after_the_write() {
    let (app, tokens) = sample_app().await;
    let before = audit_total(&app, &tokens.auditor).await;

    let response = app
        .post_disbursement(
            &tokens.recorder,
            &disbursement_body("D-AUDIT-2", "\"1234.5678\""),
        )
        .await;

    assert_eq!(response.status(), Status::Created);
    assert_eq!(audit_total(&app, &tokens.auditor).await, before + 1);
    let entry = last_audit_entry(&app, &tokens.auditor).await;
    assert_eq!(entry["actor"], "user:recorder@example.org");
    assert_eq!(entry["action"], "create");
    assert_eq!(entry["key"], "NAP-2015/D-AUDIT-2");
    assert_eq!(entry["details"]["before"], Value::Null);
    assert_eq!(entry["details"]["after"]["amount"], "1234.5678");
}

#[rocket::async_test]
async fn the_audit_entry_of_an_update_with_an_empty_plan_code_holds_the_record_before_the_write() {
    let (app, tokens) = sample_app().await;

    // An empty plan_code names no plan: the record is the one of the plan in ?plan=.
    let response = app
        .request(
            Method::Put,
            "/api/v1/objectives/PREV?plan=NAP-2015",
            Some(&tokens.recorder),
            Some(r#"{"plan_code": "", "title": "Prevention, renamed"}"#),
        )
        .dispatch()
        .await;

    let (status, body) = json_of(response).await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["title"], "Prevention, renamed");
    let entry = last_audit_entry(&app, &tokens.auditor).await;
    assert_eq!(entry["action"], "update", "{entry}");
    assert_eq!(entry["key"], "NAP-2015/PREV", "{entry}");
    assert_eq!(
        entry["details"]["before"]["title"], "Prevention of trafficking in human beings",
        "{entry}"
    );
    assert_eq!(
        entry["details"]["after"]["title"], "Prevention, renamed",
        "{entry}"
    );
}

#[rocket::async_test]
async fn a_donor_cannot_read_the_audit_trail_and_an_auditor_can() {
    let (app, tokens) = sample_app().await;

    let donor = app.get_audit(&tokens.donor, "").await;
    let auditor = app.get_audit(&tokens.auditor, "").await;

    let (status, body) = json_of(donor).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(auditor.status(), Status::Ok);
}

/// The sample plan with a few writes through the API on it, and the number of audit entries.
async fn audited_app() -> (TestApp, u64) {
    let (app, tokens) = sample_app().await;
    for reference in ["D-AUDIT-1", "D-AUDIT-2"] {
        let response = app
            .post_disbursement(&tokens.recorder, &disbursement_body(reference, "\"10.00\""))
            .await;
        assert_eq!(response.status(), Status::Created);
    }
    let reversal = app
        .post_reversal(
            &tokens.recorder,
            "D-AUDIT-1",
            r#"{"reason": "Paid twice", "date": "2015-07-01"}"#,
        )
        .await
        .status();
    assert_eq!(reversal, Status::Created);
    let entries = audit_total(&app, &tokens.auditor).await;
    assert!(entries >= 10, "only {entries} audit entries");
    (app, entries)
}

/// Drops the triggers that keep the audit trail append-only, as someone with the database's
/// owner rights could.
async fn drop_append_only_triggers(app: &TestApp) {
    let statements: &[&str] = match app.db.get_database_backend() {
        DbBackend::Postgres => &["DROP TRIGGER audit_log_append_only ON audit_log"],
        _ => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
    };
    for sql in statements {
        app.db.execute_unprepared(sql).await.unwrap();
    }
}

fn audit_verify(app: &TestApp) -> std::process::Output {
    naptrack(app.test_db(), &["audit", "verify"])
}

/// Asserts that `naptrack audit verify` fails and names `entry`.
fn assert_broken_at(app: &TestApp, entry: u64) {
    let output = audit_verify(app);
    assert!(!output.status.success(), "{}", stdout(&output));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("broken at entry {entry}:")),
        "{message}"
    );
}

#[rocket::async_test]
async fn audit_verify_passes_on_an_untouched_trail_with_api_writes() {
    let (app, entries) = audited_app().await;

    let output = audit_verify(&app);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!("intact: {entries} entries")),
        "{}",
        stdout(&output)
    );
}

#[rocket::async_test]
async fn audit_verify_names_an_entry_whose_details_were_changed_in_sql() {
    let (app, entries) = audited_app().await;
    let middle = entries / 2;
    drop_append_only_triggers(&app).await;

    app.db
        .execute_unprepared(&format!(
            r#"UPDATE audit_log SET details = '{{"forged": true}}' WHERE id = {middle}"#
        ))
        .await
        .unwrap();

    assert_broken_at(&app, middle);
}

#[rocket::async_test]
async fn audit_verify_names_an_entry_deleted_in_sql_from_the_middle() {
    let (app, entries) = audited_app().await;
    let middle = entries / 2;
    drop_append_only_triggers(&app).await;

    app.db
        .execute_unprepared(&format!("DELETE FROM audit_log WHERE id = {middle}"))
        .await
        .unwrap();

    assert_broken_at(&app, middle);
}

#[rocket::async_test]
async fn audit_verify_names_a_forged_entry_inserted_in_sql_into_the_middle() {
    let (app, entries) = audited_app().await;
    let middle = entries / 2;
    drop_append_only_triggers(&app).await;

    // Make room by moving every later entry up one (through negative ids, so that no two
    // rows ever share an id), then insert the forged entry in the gap.
    for sql in [
        format!("UPDATE audit_log SET id = -id WHERE id >= {middle}"),
        "UPDATE audit_log SET id = 1 - id WHERE id < 0".to_owned(),
        format!(
            "INSERT INTO audit_log (id, recorded_at, actor, action, entity, entity_key, details, prev_hash, hash) \
             VALUES ({middle}, '2026-01-01T00:00:00.000000Z', 'user:forger@example.org', 'create', \
             'disbursements', 'NAP-2015/D-FORGED', '{{}}', '{}', '{}')",
            "f".repeat(64),
            "e".repeat(64)
        ),
    ] {
        app.db.execute_unprepared(&sql).await.unwrap();
    }

    assert_broken_at(&app, middle);
}

#[rocket::async_test]
async fn the_database_refuses_to_change_or_delete_an_audit_entry_while_its_triggers_stand() {
    let (app, entries) = audited_app().await;
    let middle = entries / 2;

    let update = app
        .db
        .execute_unprepared(&format!(
            "UPDATE audit_log SET details = '{{}}' WHERE id = {middle}"
        ))
        .await;
    let delete = app
        .db
        .execute_unprepared(&format!("DELETE FROM audit_log WHERE id = {middle}"))
        .await;

    assert!(update.is_err(), "the UPDATE went through");
    assert!(delete.is_err(), "the DELETE went through");
    let output = audit_verify(&app);
    assert!(output.status.success(), "{}", stderr(&output));
}

// --- Users and tokens on the command line -----------------------------------------------

/// The token `naptrack user add` printed: its last line of output.
fn printed_token(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    stdout(output)
        .lines()
        .last()
        .expect("some output")
        .trim()
        .to_owned()
}

#[rocket::async_test]
async fn the_token_user_add_prints_last_works_as_a_bearer_token_for_its_role() {
    let test_db = TestDb::new().await;
    let output = naptrack(
        &test_db,
        &["user", "add", "Clerk@Example.org", "--role", "recorder"],
    );
    let token = printed_token(&output);
    let app = TestApp::spawn_on(test_db).await;

    let read = app.get_with(Some(&token), "/api/v1/institutions").await;
    let write = app
        .post_import(&token, "institutions", "", INSTITUTIONS_CSV)
        .await;
    let audit = app.get_audit(&token, "").await;

    assert_eq!(read.status(), Status::Ok);
    assert_eq!(write.status(), Status::Ok);
    assert_eq!(audit.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn user_add_with_password_stdin_sets_the_password_for_the_web_sign_in() {
    let test_db = TestDb::new().await;

    let output = naptrack_with_input(
        &test_db,
        &[
            "user",
            "add",
            "clerk@example.org",
            "--role",
            "recorder",
            "--password-stdin",
        ],
        "correct horse battery staple\n",
    );

    printed_token(&output);
    let db = test_db.connect().await;
    let caller =
        users::authenticate_password(&db, "clerk@example.org", "correct horse battery staple")
            .await
            .unwrap();
    assert_eq!(caller.map(|c| c.role), Some(Role::Recorder));
    let wrong = users::authenticate_password(&db, "clerk@example.org", "correct horse battery")
        .await
        .unwrap();
    assert!(wrong.is_none());
}

#[rocket::async_test]
async fn user_add_refuses_a_short_password_from_stdin_and_creates_no_user() {
    let test_db = TestDb::new().await;

    let output = naptrack_with_input(
        &test_db,
        &[
            "user",
            "add",
            "clerk@example.org",
            "--role",
            "recorder",
            "--password-stdin",
        ],
        "short\n",
    );

    assert!(!output.status.success());
    assert!(stderr(&output).contains("password"), "{}", stderr(&output));
    let db = test_db.connect().await;
    assert!(
        users::list_tokens(&db, None).await.unwrap().is_empty(),
        "a token was issued"
    );
}

#[rocket::async_test]
async fn token_list_shows_the_id_but_never_the_token_and_revoke_makes_it_fail() {
    let test_db = TestDb::new().await;
    let token = printed_token(&naptrack(
        &test_db,
        &["user", "add", "clerk@example.org", "--role", "recorder"],
    ));
    let app = TestApp::spawn_on(test_db).await;
    let id = users::list_tokens(&app.db, Some("clerk@example.org"))
        .await
        .unwrap()[0]
        .id;
    assert_eq!(
        app.get_with(Some(&token), "/api/v1/institutions")
            .await
            .status(),
        Status::Ok
    );

    let list = naptrack(app.test_db(), &["user", "token", "list"]);
    let revoke = naptrack(app.test_db(), &["user", "token", "revoke", &id.to_string()]);

    assert!(list.status.success(), "{}", stderr(&list));
    let listed = stdout(&list);
    assert!(
        listed.lines().any(|line| {
            line.split_whitespace().next() == Some(id.to_string().as_str())
                && line.contains("clerk@example.org")
        }),
        "{listed}"
    );
    let secret = token.trim_start_matches("napt_");
    assert!(!listed.contains(secret), "the token is listed: {listed}");
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let after = app.get_with(Some(&token), "/api/v1/institutions").await;
    assert_eq!(after.status(), Status::Unauthorized);
    let again = naptrack(app.test_db(), &["user", "token", "revoke", &id.to_string()]);
    assert!(!again.status.success(), "a second revoke succeeded");
}

#[rocket::async_test]
async fn token_list_shows_when_a_token_was_last_used() {
    let test_db = TestDb::new().await;
    let token = printed_token(&naptrack(
        &test_db,
        &["user", "add", "clerk@example.org", "--role", "recorder"],
    ));
    let app = TestApp::spawn_on(test_db).await;

    let response = app.get_with(Some(&token), "/api/v1/institutions").await;

    assert_eq!(response.status(), Status::Ok);
    // The use is recorded in the background, so that no request waits for it.
    let mut tokens = Vec::new();
    for _ in 0..100 {
        tokens = users::list_tokens(&app.db, Some("clerk@example.org"))
            .await
            .unwrap();
        if tokens[0].last_used_at.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(tokens[0].last_used_at.is_some(), "{tokens:?}");
}

// --- Indicators and their values ----------------------------------------------------------

#[rocket::async_test]
async fn an_indicator_is_created_read_and_replaced_over_json_and_the_update_is_audited() {
    let (app, tokens) = sample_app().await;
    let recorder = tokens.recorder.as_str();

    let created = app
        .request(
            Method::Post,
            "/api/v1/indicators",
            Some(recorder),
            Some(
                r#"{"code": "IND-NEW", "title": "Referrals", "objective_code": "PROT.1",
                    "result_type": "output", "measure": "percentage", "ascending": "true",
                    "baseline_year": "2014", "baseline_value": 12.5}"#,
            ),
        )
        .dispatch()
        .await;
    let (created_status, created_body) = json_of(created).await;
    let (read_status, read_body) = json_of(
        app.get_with(Some(recorder), "/api/v1/indicators/IND-NEW")
            .await,
    )
    .await;
    let replaced = app
        .put_record_request(
            recorder,
            "indicators",
            "IND-NEW",
            r#"{"title": "Referrals made", "objective_code": "PROT.1",
                "result_type": "output", "measure": "percentage", "ascending": "true",
                "baseline_year": "2014", "baseline_value": "13"}"#,
        )
        .dispatch()
        .await;
    let (replaced_status, replaced_body) = json_of(replaced).await;

    assert_eq!(created_status, Status::Created, "{created_body}");
    assert_eq!(read_status, Status::Ok, "{read_body}");
    assert_eq!(read_body["baseline_value"], "12.5", "{read_body}");
    assert_eq!(read_body["ascending"], "true", "{read_body}");
    assert_eq!(read_body["activity_code"], Value::Null, "{read_body}");
    assert_eq!(replaced_status, Status::Ok, "{replaced_body}");
    assert_eq!(replaced_body["baseline_value"], "13", "{replaced_body}");
    let entry = last_audit_entry(&app, &tokens.auditor).await;
    assert_eq!(entry["action"], "update", "{entry}");
    assert_eq!(entry["details"]["before"]["title"], "Referrals", "{entry}");
    assert_eq!(
        entry["details"]["after"]["title"], "Referrals made",
        "{entry}"
    );
}

#[rocket::async_test]
async fn an_indicator_value_is_created_over_json_and_a_percentage_above_a_hundred_is_a_422() {
    let (app, tokens) = sample_app().await;
    let recorder = tokens.recorder.as_str();
    let post = |kind: &str, body: &'static str| {
        app.request(
            Method::Post,
            &format!("/api/v1/{kind}"),
            Some(recorder),
            Some(body),
        )
    };
    let (indicator_status, indicator) = json_of(
        post(
            "indicators",
            r#"{"code": "IND-PCT", "title": "Share of calls answered", "activity_code": "PREV-05",
                "result_type": "output", "measure": "percentage", "ascending": "true"}"#,
        )
        .dispatch()
        .await,
    )
    .await;

    let (too_much_status, too_much) = json_of(
        post(
            "indicator-values",
            r#"{"indicator_code": "IND-PCT", "fiscal_year": 2019, "actual": "100.5"}"#,
        )
        .dispatch()
        .await,
    )
    .await;
    let (created_status, created) = json_of(
        post(
            "indicator-values",
            r#"{"indicator_code": "IND-PCT", "fiscal_year": 2019, "actual": 71.25}"#,
        )
        .dispatch()
        .await,
    )
    .await;
    let (_, listed) = json_of(
        app.get_with(
            Some(recorder),
            "/api/v1/indicator-values?indicator_code=IND-PCT&fiscal_year=2019",
        )
        .await,
    )
    .await;

    assert_eq!(indicator_status, Status::Created, "{indicator}");
    assert_eq!(too_much_status, Status::UnprocessableEntity, "{too_much}");
    assert_eq!(error_columns(&too_much), ["actual"]);
    assert_eq!(created_status, Status::Created, "{created}");
    assert_eq!(listed["items"][0]["actual"], "71.25", "{listed}");
    assert_eq!(listed["items"][0]["target"], Value::Null, "{listed}");
}
