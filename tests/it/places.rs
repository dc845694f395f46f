//! Several accounts and regions: two SageMakers (emulators playing account 111111111111 in eu-west-1 and
//! 222222222222 in us-east-1), each with the demo's pipelines, so both have an `AbalonePipeline`. They are
//! reached as AWS profiles (`endpoint_url` in an AWS config file of the test's own), so `stepline --aws
//! alpha,beta@us-east-1` runs as it would on real accounts: the SDK's profile loading, STS for the
//! accounts, and one gateway each.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fleet;

const ALPHA: &str = "111111111111";
const BETA: &str = "222222222222";

/// An emulator playing `account` in `region`, seeded, with one execution of AbalonePipeline that stays in
/// its first step for an hour: its ARN.
async fn account(account: &str, region: &str) -> (stepline_emulator::RunningEmulator, String) {
    let playing = stepline_emulator::Account { region: region.into(), account: account.into() };
    let (emulator, ids) = fleet::sagemaker_of(playing, 1, false).await;
    (emulator, format!("arn:aws:sagemaker:{region}:{account}:pipeline/abalonepipeline/execution/{}", ids[0]))
}

/// An AWS config file naming each emulator as a profile (beta's own region is overridden on the command
/// line), and `dead`, whose endpoint answers nothing.
fn aws_config(dir: &std::path::Path, alpha: &str, beta: &str) -> std::path::PathBuf {
    let path = dir.join("aws-config");
    std::fs::create_dir_all(dir).unwrap();
    let profile = |name: &str, region: &str, url: &str| {
        format!(
            "[profile {name}]\nregion = {region}\nendpoint_url = {url}\naws_access_key_id = AKIA{}\n\
             aws_secret_access_key = test-secret\n\n",
            name.to_uppercase()
        )
    };
    let text = profile("alpha", "eu-west-1", alpha)
        + &profile("beta", "eu-west-3", beta)
        + &profile("alphatoo", "eu-west-1", alpha)
        + &profile("dead", "eu-west-1", "http://127.0.0.1:9");
    std::fs::write(&path, text).unwrap();
    path
}

/// `stepline` with `args`, the AWS configuration `config` and nothing of the caller's AWS environment.
fn stepline(args: &[&str], config: &std::path::Path, data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stepline"));
    c.args(["--addr", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()]).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("STEPLINE_") {
            c.env_remove(k);
        }
    }
    c.env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", config.with_file_name("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LEPTOS_HASH_FILES", "false");
    c
}

struct Running(std::process::Child, String);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start(mut c: Command) -> Running {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let addr = fleet::listening(&mut child).await;
    Running(child, format!("http://{addr}"))
}

/// What a start that must fail says.
async fn refused(mut c: Command) -> String {
    let out = tokio::task::spawn_blocking(move || c.stdout(Stdio::piped()).stderr(Stdio::piped()).output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success(), "it started");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

/// The status of the demo's approval callback step in `arn`.
async fn callback_status(e: &stepline_emulator::RunningEmulator, region: &str, arn: &str) -> String {
    let client = stepline::demo::endpoint_client(&e.endpoint_url(), region);
    let steps = client.list_pipeline_execution_steps().pipeline_execution_arn(arn).send().await.unwrap();
    let step = steps.pipeline_execution_steps().iter().find(|s| s.step_name() == Some("ManualApproval"));
    step.and_then(|s| s.step_status()).map(|s| s.as_str().to_string()).unwrap_or_default()
}

/// The demo's execution waiting at its approval callback, once the step waits (it starts a moment after
/// the seed returns).
async fn until_callback_waits(e: &stepline_emulator::RunningEmulator, region: &str) -> String {
    let client = stepline::demo::endpoint_client(&e.endpoint_url(), region);
    let list = client.list_pipeline_executions().pipeline_name("ControlFlowPipeline").send().await.unwrap();
    let running = list
        .pipeline_execution_summaries()
        .iter()
        .find(|x| x.pipeline_execution_status() == Some(&aws_sdk_sagemaker::types::PipelineExecutionStatus::Executing));
    let arn = running.and_then(|x| x.pipeline_execution_arn()).unwrap().to_string();
    for _ in 0..600 {
        if callback_status(e, region, &arn).await == "Executing" {
            return arn;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the demo's callback never waited");
}

#[tokio::test]
async fn each_account_and_region_has_its_pages_and_arns_open_in_their_own() {
    let (a, arn_a) = account(ALPHA, "eu-west-1").await;
    let (b, arn_b) = account(BETA, "us-east-1").await;
    // Before any page: the top bar reads the inbox, and it is kept a while.
    let waiting_b = until_callback_waits(&b, "us-east-1").await;
    let waiting_a = until_callback_waits(&a, "eu-west-1").await;
    let dir = std::env::temp_dir().join(format!("stepline-places-{}", std::process::id()));
    let config = aws_config(&dir, &a.endpoint_url(), &b.endpoint_url());
    let s = start(stepline(&["--aws", "alpha,beta@us-east-1"], &config, &dir.join("data"))).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", s.1);
        async move {
            let res = http.get(&url).send().await.unwrap();
            let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
            (res.status().as_u16(), location, res.text().await.unwrap())
        }
    };
    let (home_a, home_b) = (format!("/{ALPHA}/eu-west-1"), format!("/{BETA}/us-east-1"));

    // The root is the first place's home; each home is its account's, and names both places.
    let (status, location, _) = get("/".into()).await;
    assert_eq!((status, location.as_deref()), (307, Some(home_a.as_str())));
    let (status, _, page) = get(home_a.clone()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!(r#"<meta name="stepline-base" content="{home_a}""#)), "{page}");
    assert!(page.contains("AbalonePipeline"));
    assert!(page.contains("alpha@eu-west-1 · 111111111111") && page.contains("us-east-1 · 222222222222"), "{page}");

    // An execution opens in its own account, and not in the other, where a pipeline of the same name is.
    let exec = |home: &str, arn: &str| format!("{home}/pipelines/AbalonePipeline/executions/{}", id_of(arn));
    let (status, _, page) = get(exec(&home_b, &arn_b)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(id_of(&arn_b)));
    assert_eq!(get(exec(&home_a, &arn_b)).await.0, 404);

    // A pasted ARN goes to its own account and region, from the root or from either home, with the
    // pipeline's name as created (ARNs carry it lower-cased).
    for from in ["/", home_a.as_str(), home_b.as_str()] {
        let (status, location, _) = get(format!("{from}?q={arn_b}")).await;
        assert_eq!((status, location), (302, Some(exec(&home_b, &arn_b))), "from {from}");
    }
    let pipeline_a = format!("arn:aws:sagemaker:eu-west-1:{ALPHA}:pipeline/abalonepipeline");
    let (_, location, _) = get(format!("{home_b}?q={pipeline_a}")).await;
    assert_eq!(location, Some(format!("{home_a}/pipelines/AbalonePipeline")));

    // An ARN or address of an account and region not shown says so, and opens nothing elsewhere.
    let foreign = [
        format!("/?q=arn:aws:sagemaker:eu-west-1:333333333333:pipeline/abalonepipeline/execution/{}", id_of(&arn_a)),
        // The same account, another region: another place.
        format!("{home_a}?q=arn:aws:sagemaker:us-east-1:{ALPHA}:pipeline/abalonepipeline"),
        "/333333333333/eu-west-1/pipelines/AbalonePipeline".into(),
    ];
    for path in foreign {
        let (status, location, page) = get(path.clone()).await;
        assert_eq!((status, location), (404, None), "{path}");
        assert!(page.contains("which this Stepline does not show"), "{path}: {page}");
        assert!(page.contains(&format!("account {ALPHA} in eu-west-1")), "{page}");
    }

    // A place-shaped prefix of no configured place is not taken off the path: `/…/healthz` is no probe, so
    // the Host check applies, and the list of accounts is not told to a rebound page.
    for path in ["/999999999999/us-east-1/healthz", "/999999999999/us-east-1/metrics", "/999999999999/us-east-1/x"] {
        let res = http.get(format!("{}{path}", s.1)).header("host", "evil.example").send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_eq!(status, 421, "{path}: {body}");
        assert!(!body.contains(ALPHA) && !body.contains(BETA), "{path}: {body}");
    }

    // A page's address without a place offers the page in each.
    let (status, _, page) = get("/pipelines/AbalonePipeline".into()).await;
    assert_eq!(status, 404);
    assert!(page.contains("names no account and region"), "{page}");
    assert!(page.contains(&format!(r#"href="{home_b}/pipelines/AbalonePipeline""#)), "{page}");

    // A server function acts in its page's account: a stop through beta's pages stops beta's execution.
    let token = format!("places-stop-{}-0123456789abcdef0123456789", std::process::id());
    let res = http
        .post(format!("{}{home_b}/api/stop", s.1))
        .form(&[("pipeline", "AbalonePipeline"), ("id", id_of(&arn_b)), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "stop: {}", res.text().await.unwrap());
    let status_of = |e: &stepline_emulator::RunningEmulator, region: &str, arn: &str| {
        let client = stepline::demo::endpoint_client(&e.endpoint_url(), region);
        let arn = arn.to_string();
        async move {
            let d = client.describe_pipeline_execution().pipeline_execution_arn(arn).send().await.unwrap();
            d.pipeline_execution_status().unwrap().as_str().to_string()
        }
    };
    assert!(["Stopping", "Stopped"].contains(&status_of(&b, "us-east-1", &arn_b).await.as_str()));
    assert_eq!(status_of(&a, "eu-west-1", &arn_a).await, "Executing");

    // A live stream of a place's execution.
    let mut res = http.get(format!("{}/events{}", s.1, &exec(&home_a, &arn_a)[home_a.len()..])).send().await.unwrap();
    assert_eq!(res.status(), 404, "streams are under their place too");
    res = http.get(format!("{}{home_a}/events{}", s.1, &exec("", &arn_a))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), res.chunk()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains(id_of(&arn_a)));

    // The activity log is one for all: each place's page of it exports from the root, where the export is.
    let (status, _, page) = get(format!("{home_b}/activity")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"href="/activity.csv""#), "{page}");
    let (status, _, csv) = get("/activity.csv".into()).await;
    assert_eq!(status, 200);
    assert!(csv.contains(id_of(&arn_b)), "the stop is on record: {csv}");
    // Seen from alpha's pages, the record of beta's stop links to beta's execution.
    let page = get(format!("{home_a}/activity")).await.2;
    assert!(page.contains(&format!(r#"href="{}""#, exec(&home_b, &arn_b))), "{page}");

    // The inbox gathers both places, the page's own first: each one's waiting approval and pending model
    // versions; an answer given there posts to its own place and comes back to the inbox.
    let (status, _, inbox) = get(format!("{home_a}/inbox")).await;
    assert_eq!(status, 200, "{inbox}");
    let sections: Vec<&str> = inbox.split("data-testid=\"inbox-place\"").skip(1).collect();
    assert_eq!(sections.len(), 2, "{inbox}");
    for (section, home) in sections.iter().zip([&home_a, &home_b]) {
        assert!(section.contains(&format!("data-base=\"{home}\"")), "{section}");
        assert_eq!(section.matches("data-testid=\"inbox-callback\"").count(), 1, "{section}");
        assert!(section.contains("data-testid=\"inbox-version\""), "the demo's pending versions: {section}");
        assert!(section.contains(&format!("action=\"{home}/api/callback\"")), "posts to its own place");
        assert!(section.contains(&format!("href=\"{home}/pipelines/ControlFlowPipeline/executions/")));
    }
    let token = format!("places-answer-{}-0123456789abcdef0123456789", std::process::id());
    let res = http
        .post(format!("{}{home_b}/api/callback", s.1))
        .header("accept", "text/html")
        .form(&[
            ("form[pipeline]", "ControlFlowPipeline"),
            ("form[id]", id_of(&waiting_b)),
            ("form[step]", "ManualApproval"),
            ("form[token]", token.as_str()),
            ("form[decision]", "approve"),
            ("form[outputs][approved]", "true"),
            ("form[back]", "inbox"),
        ])
        .send()
        .await
        .unwrap();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(location.starts_with(&format!("{home_b}/inbox?notice=approved")), "{location}");
    assert_eq!(callback_status(&b, "us-east-1", &waiting_b).await, "Succeeded", "beta's answered");
    assert_eq!(callback_status(&a, "eu-west-1", &waiting_a).await, "Executing", "alpha's still waits");

    // Ready when both answer; route labels are the same in every place.
    assert_eq!(get("/readyz".into()).await.0, 200);
    let metrics = get("/metrics".into()).await.2;
    assert!(metrics.contains(r#"route="/pipelines/{pipeline}/executions/{id}""#), "{metrics}");
    assert!(!metrics.contains(&format!("route=\"/{ALPHA}")), "place in a route label");
    // Each account's upstream calls are counted apart (its quota is its own).
    for place in [format!("{ALPHA}/eu-west-1"), format!("{BETA}/us-east-1")] {
        let stops = format!(r#"stepline_upstream_calls_total{{place="{place}",operation="DescribePipelineExecution""#);
        assert!(metrics.contains(&stops), "{place}: {metrics}");
    }
    let stop = format!(r#"{{place="{BETA}/us-east-1",operation="StopPipelineExecution",outcome="ok"}} 1"#);
    assert!(metrics.contains(&stop), "{metrics}");
}

#[tokio::test]
async fn one_account_refuses_arns_of_another_and_bad_sets_of_places_do_not_start() {
    let (a, arn_a) = account(ALPHA, "eu-west-1").await;
    let dir = std::env::temp_dir().join(format!("stepline-place-{}", std::process::id()));
    let config = aws_config(&dir, &a.endpoint_url(), "http://127.0.0.1:9");
    let data = dir.join("data");

    // One place: URLs as ever, and an ARN of another account is not opened as this one's namesake.
    let s = start(stepline(&["--aws", "alpha"], &config, &data)).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = http.get(format!("{}/?q={arn_a}", s.1)).send().await.unwrap();
    assert_eq!(
        res.headers().get("location").unwrap(),
        &format!("/pipelines/AbalonePipeline/executions/{}", id_of(&arn_a))
    );
    let foreign = arn_a.replace(ALPHA, BETA);
    let res = http.get(format!("{}/?q={foreign}", s.1)).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("account {BETA} in eu-west-1, which this Stepline does not show")), "{page}");
    drop(s);

    // Two names for one account and region; an account that cannot be told.
    let said = refused(stepline(&["--aws", "alpha,alphatoo"], &config, &data)).await;
    assert!(said.contains("--aws alpha@eu-west-1 and alphatoo@eu-west-1 are the same account and region"), "{said}");
    let said = refused(stepline(&["--aws", "alpha,dead"], &config, &data)).await;
    assert!(said.contains("--aws dead@eu-west-1: cannot tell its account"), "{said}");
    // An act role for one account of two.
    let role = format!("arn:aws:iam::{ALPHA}:role/stepline-actions");
    let b = account(BETA, "us-east-1").await.0;
    let config = aws_config(&dir, &a.endpoint_url(), &b.endpoint_url());
    let said = refused(stepline(&["--aws", "alpha,beta", "--act-role", &role], &config, &data)).await;
    assert!(said.contains(&format!("--act-role names no role of account {BETA}")), "{said}");
}
