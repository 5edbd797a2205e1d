//! The typed protocol (`aigc_label::protocol`) agrees with the published schemas
//! (`conformance/schema/`), and the reference called in-process passes the vectors it is given.

use aigc_conformance::implementation::{Implementation, InProcess};
use aigc_conformance::schema;
use aigc_conformance::session::{Filter, Session, Setup};
use aigc_label::protocol::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn check(name: &str, value: &impl serde::Serialize) -> Value {
    let v = serde_json::to_value(value).unwrap();
    let errors = schema::validate(schema::schema(name).unwrap(), &v);
    assert!(errors.is_empty(), "{name}: {v}: {errors:?}");
    v
}

fn fields() -> serde_json::Map<String, Value> {
    json!({"Label": "1", "ContentProducer": "p", "ProduceID": "1", "ReservedCode1": "",
           "ContentPropagator": "p", "PropagateID": "1", "ReservedCode2": ""})
    .as_object()
    .unwrap()
    .clone()
}

#[test]
fn typed_requests_match_the_request_schemas() {
    let bodies = [
        RequestBody::Info(InfoRequest {
            vector: "info".into(),
        }),
        RequestBody::Read(ReadRequest {
            vector: "v".into(),
            input: "/in.png".into(),
            media: None,
        }),
        RequestBody::Label(LabelRequest {
            vector: "v".into(),
            input: "/in.png".into(),
            media: Some("image/png".into()),
            output: "/out.png".into(),
            fields: fields(),
            explicit: None,
        }),
        RequestBody::Propagate(PropagateRequest {
            vector: "v".into(),
            input: "/in.png".into(),
            media: Some("image/png".into()),
            output: "/out.png".into(),
            platform: PlatformInfo::default(),
            user_declared: true,
        }),
    ];
    for body in bodies {
        let request = Request::new(body);
        let name = format!("request.{}.schema.json", request.op());
        let v = check(&name, &request);
        // And back: what the schema accepts, the types read.
        let again: Request = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), v);
    }
    // A request the schema refuses (no input) is refused by the types too.
    let bad = json!({"protocol": 1, "op": "read", "vector": "v", "media": null});
    assert!(
        !schema::validate(schema::schema("request.read.schema.json").unwrap(), &bad).is_empty()
    );
    assert!(serde_json::from_value::<Request>(bad).is_err());
}

#[test]
fn typed_responses_match_the_response_schemas() {
    let info = InfoResponse {
        status: Status::Ok,
        name: "x".into(),
        version: "1".into(),
        roles: vec![Role::Reader, Role::Generator, Role::Platform],
        media: BTreeMap::from([("read".to_string(), vec!["image/png".to_string()])]),
        persistent: false,
    };
    check("response.info.schema.json", &info);
    for verdict in [
        Verdict::Valid,
        Verdict::Invalid,
        Verdict::Conflict,
        Verdict::Unlabeled,
    ] {
        let read = ReadResponse {
            status: Status::Ok,
            labels: vec![FoundLabel {
                fields: fields(),
                carrier: "png/iTXt/XMP".into(),
                security: None,
                problems: Some(vec!["charset".into()]),
            }],
            verdict,
        };
        let v = check("response.read.schema.json", &read);
        assert_eq!(serde_json::from_value::<ReadResponse>(v).unwrap(), read);
    }
    for notice in [
        Notice::Is,
        Notice::Possibly,
        Notice::Suspected,
        Notice::None,
    ] {
        let p = PropagateResponse {
            status: Status::Ok,
            notice,
            reason: Some("why".into()),
        };
        check("response.propagate.schema.json", &p);
    }
    check("response.label.schema.json", &Head::ok());
    for status in [Status::Unsupported, Status::Rejected, Status::Error] {
        for op in ["info", "read", "label", "propagate"] {
            check(
                &format!("response.{op}.schema.json"),
                &Head::refusal(status, "because"),
            );
        }
    }
    // A refusal without its message breaks the schema; an ok read without a verdict too.
    let no_message = serde_json::to_value(Head {
        status: Status::Error,
        message: None,
    })
    .unwrap();
    assert!(!schema::validate(
        schema::schema("response.read.schema.json").unwrap(),
        &no_message
    )
    .is_empty());
}

#[test]
fn the_reference_in_process_passes_the_png_vectors() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    let session = Session::prepare_with(&vectors, &Setup::default(), |_, _| {
        let profile = aigc_label::Profile::load(&vectors.join("profile.yaml"))?;
        Ok(Box::new(InProcess::new(profile)) as Box<dyn Implementation>)
    })
    .unwrap();
    assert_eq!(session.implementation.mode(), "in-process");
    assert_eq!(session.info.name, "aigc-label (reference)");
    let session = Arc::new(session);
    let filter = Filter {
        text: Some("implicit-png".into()),
        ..Filter::default()
    };
    let selected = filter.select(&session.suite);
    assert!(selected.len() > 5, "{}", selected.len());
    let args = libtest_mimic::Arguments {
        quiet: true,
        ..Default::default()
    };
    let results = session.execute(&selected, &args);
    assert_eq!(results.len(), selected.len());
    for r in &results {
        assert_eq!(
            r.outcome.as_str(),
            "pass",
            "{}: {:?} {}",
            r.id,
            r.findings,
            r.diff
        );
    }
}
