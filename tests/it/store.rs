//! The activity log and sessions on both databases: SQLite in a scratch directory, and a real PostgreSQL
//! when `STEPLINE_TEST_DATABASE_URL` names one (the test script starts Debian's PostgreSQL on loopback and
//! sets it; where it cannot, the PostgreSQL half says why it did not run).

use stepline_core::config::Database;
use stepline_core::store::Db;
use stepline_core::store::SessionUser;
use stepline_core::store::{PlaceScope, Record, Scope};
use stepline_types::model::activity::{Action, Filter, Outcome};

fn record<'a>(user: &'a str, action: Action, pipeline: &'a str, arn: Option<&'a str>) -> Record<'a> {
    Record {
        place: Some(""),
        user,
        role: Some(stepline_types::model::access::Role::Operator),
        action,
        outcome: Outcome::Done,
        pipeline: Some(pipeline),
        execution_arn: arn,
        request_id: "req-1",
        error_code: None,
        detail: serde_json::json!({"parameters": {"Threshold": "0.5"}}),
    }
}

async fn exercise(db: &Db, tag: &str) {
    let u = |n: &str| format!("{n}-{tag}");
    let (ana, ben) = (u("ana"), u("ben"));
    let (p1, p2) = (u("Fraud"), u("Churn"));
    let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/{}/execution/abc{tag}", p1.to_lowercase());
    db.append(&record(&ana, Action::Start, &p1, Some(&arn))).await.unwrap();
    db.append(&record(&ben, Action::Stop, &p1, Some(&arn))).await.unwrap();
    let mut refused = record(&ben, Action::Start, &p2, None);
    refused.outcome = Outcome::Refused;
    refused.error_code = Some("ThrottlingException");
    db.append(&refused).await.unwrap();
    // Hostile strings are stored and read back as they were.
    let hostile = format!("'; DROP TABLE activity; -- {tag}");
    db.append(&record(&hostile, Action::Retry, &p2, None)).await.unwrap();

    let mine = |f: Filter| async move { db.page(&f, &Scope::Everything, 10).await.unwrap() };
    let by_ana = mine(Filter { user: Some(ana.clone()), ..Default::default() }).await;
    assert_eq!(by_ana.entries.len(), 1);
    assert_eq!(by_ana.entries[0].detail["parameters"]["Threshold"], "0.5");
    let refusals =
        mine(Filter { pipeline: Some(p2.clone()), outcome: Some(Outcome::Refused), ..Default::default() }).await;
    assert_eq!(refusals.entries.len(), 1);
    assert_eq!(refusals.entries[0].error_code.as_deref(), Some("ThrottlingException"));
    let hostile_rows = mine(Filter { user: Some(hostile.clone()), ..Default::default() }).await;
    assert_eq!(hostile_rows.entries[0].user, hostile);
    // Newest first, paged by id.
    let stops = mine(Filter { action: Some(Action::Stop), user: Some(ben.clone()), ..Default::default() }).await;
    assert_eq!(stops.entries.len(), 1);
    let all =
        db.page(&Filter { pipeline: Some(p1.clone()), ..Default::default() }, &Scope::Everything, 1).await.unwrap();
    assert_eq!(all.entries[0].user, ben, "newest first");
    let next = all.next.expect("a second page");
    let older = db
        .page(&Filter { pipeline: Some(p1.clone()), before: Some(next), ..Default::default() }, &Scope::Everything, 1)
        .await
        .unwrap();
    assert_eq!(older.entries[0].user, ana);
    assert!(older.next.is_none());
    // A reader sees their own records and those of the pipelines they may read, in their place.
    let here = |pipelines: Vec<String>| PlaceScope { place: String::new(), pipelines, with_unplaced: false };
    let scope = Scope::Readable { user: ben.clone(), places: vec![here(vec![])] };
    let seen = db.page(&Filter::default(), &scope, 100).await.unwrap();
    assert!(seen.entries.iter().all(|e| e.user == ben) && seen.entries.len() == 2);
    let scope = Scope::Readable { user: u("cy"), places: vec![here(vec![p1.clone()])] };
    let seen = db.page(&Filter::default(), &scope, 100).await.unwrap();
    assert_eq!(seen.entries.len(), 2, "the two records of {p1}");
    // A namesake in another account is another pipeline: its records are not read through this one's grant,
    // and records from before places were recorded only where there is one place.
    let elsewhere = format!("arn:aws:sagemaker:eu-west-1:222222222222:pipeline/{}/execution/x{tag}", p1.to_lowercase());
    let (dee, eve) = (u("dee"), u("eve"));
    let mut there = record(&dee, Action::Start, &p1, Some(&elsewhere));
    there.place = Some("/222222222222/eu-west-1");
    there.detail = serde_json::json!({"parameters": {"Secret": "B's"}});
    db.append(&there).await.unwrap();
    let mut unplaced = record(&eve, Action::Start, &p1, None);
    unplaced.place = None;
    db.append(&unplaced).await.unwrap();
    let in_a = |with_unplaced| Scope::Readable {
        user: u("cy"),
        places: vec![PlaceScope {
            place: "/111111111111/eu-west-1".into(),
            pipelines: vec![p1.clone()],
            with_unplaced,
        }],
    };
    let seen = db.page(&Filter::default(), &in_a(false), 100).await.unwrap();
    assert!(seen.entries.is_empty(), "{:?}", seen.entries.iter().map(|e| &e.user).collect::<Vec<_>>());
    let seen = db.page(&Filter::default(), &in_a(true), 100).await.unwrap();
    assert_eq!(seen.entries.iter().map(|e| e.user.clone()).collect::<Vec<_>>(), vec![u("eve")]);
    let in_b = Scope::Readable {
        user: u("cy"),
        places: vec![PlaceScope {
            place: "/222222222222/eu-west-1".into(),
            pipelines: vec![p1.clone()],
            with_unplaced: false,
        }],
    };
    let seen = db.page(&Filter::default(), &in_b, 100).await.unwrap();
    assert_eq!(seen.entries.iter().map(|e| e.user.clone()).collect::<Vec<_>>(), vec![u("dee")]);
    // History and "Started by".
    let history = db.history(&arn).await.unwrap();
    assert_eq!(history.iter().map(|e| e.action).collect::<Vec<_>>(), vec![Action::Start, Action::Stop]);
    let started = db.started_by(&[arn.clone(), "arn:other".into()]).await.unwrap();
    assert_eq!(started.get(&arn), Some(&ana));
    assert_eq!(started.len(), 1);
    // Append-only: the database itself refuses to change or remove a record.
    let update = sqlx::query("UPDATE activity SET user_name = 'mallory'").execute(db.pool()).await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM activity").execute(db.pool()).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));

    // Sessions: the id given out is not what is stored; expired or ended sessions are gone.
    let who = SessionUser { user: ana.clone(), groups: vec!["fraud-ds".into()] };
    let id = db.create_session(&who, 1).await.unwrap();
    assert_eq!(id.len(), 64);
    assert_eq!(db.session(&id).await.unwrap(), Some(who.clone()));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id_hash = $1")
        .bind(id.as_str())
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "the session id itself is not in the database");
    assert_eq!(db.session(&"0".repeat(64)).await.unwrap(), None);
    db.end_session(&id).await.unwrap();
    assert_eq!(db.session(&id).await.unwrap(), None);
    // A secret every replica shares is made once and then read back the same.
    let name = format!("test-{tag}");
    let first = db.secret(&name).await.unwrap();
    assert_eq!(first.len(), 32);
    assert_eq!(db.secret(&name).await.unwrap(), first);
    assert_ne!(db.secret(&format!("other-{tag}")).await.unwrap(), first);
    db.writable().await.unwrap();
}

fn tag() -> String {
    format!("{}{}", std::process::id(), chrono::Utc::now().timestamp_micros())
}

#[tokio::test]
async fn the_activity_log_and_sessions_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("stepline-store-{}", tag()));
    let path = dir.join("nested").join("stepline.db");
    let db = Db::open(&Database::Sqlite(path.clone())).await.unwrap();
    exercise(&db, &tag()).await;
    drop(db);
    // What was written is there after a restart.
    let again = Db::open(&Database::Sqlite(path)).await.unwrap();
    let all = again.page(&Filter::default(), &Scope::Everything, 100).await.unwrap();
    assert_eq!(all.entries.len(), 6, "the four records, and one in another place and one from before places");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn the_activity_log_and_sessions_on_postgresql() {
    let Ok(url) = std::env::var("STEPLINE_TEST_DATABASE_URL") else {
        println!("SKIPPED: STEPLINE_TEST_DATABASE_URL is not set (scripts/test.sh starts PostgreSQL and sets it)");
        return;
    };
    let db = Db::open(&Database::Postgres(url.clone())).await.unwrap();
    // The test script's server speaks TLS, and its URL asks for it verified against the test's own CA: the
    // connection is encrypted exactly when the URL says so.
    let asks_tls = url.contains("sslmode=verify-full");
    assert_eq!(db.encrypted().await.unwrap(), Some(asks_tls));
    if asks_tls {
        let plain = url.replace("sslmode=verify-full", "sslmode=disable");
        assert_eq!(Db::open(&Database::Postgres(plain)).await.unwrap().encrypted().await.unwrap(), Some(false));
        // A CA that did not sign the server's certificate: refused, saying so.
        let wrong = url.replace("ca.crt", "other-ca.crt");
        let e = match Db::open(&Database::Postgres(wrong)).await {
            Err(e) => e,
            Ok(_) => panic!("a server certificate from another CA was accepted"),
        };
        assert!(e.contains("cannot open the database") && e.to_lowercase().contains("certificate"), "{e}");
    }
    exercise(&db, &tag()).await;
    // Opening again (a second replica) finds the schema current.
    Db::open(&Database::Postgres(url)).await.unwrap();
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_says_where_without_a_password() {
    let e = match Db::open(&Database::Postgres("postgres://stepline:s3cret@127.0.0.1:1/stepline".into())).await {
        Err(e) => e,
        Ok(_) => panic!("nothing listens on port 1"),
    };
    assert!(e.contains("PostgreSQL at 127.0.0.1:1/stepline") && !e.contains("s3cret"), "{e}");
    let e = match Db::open(&Database::Sqlite("/proc/no/such/dir/stepline.db".into())).await {
        Err(e) => e,
        Ok(_) => panic!("/proc is not writable"),
    };
    assert!(e.contains("/proc/no/such/dir"), "{e}");
}
