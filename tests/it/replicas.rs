//! Several replicas, one upstream budget: three real `stepline` processes on one PostgreSQL (the test
//! script's, over TLS) and one SageMaker (the emulator), with 30 viewers spread over them. One replica
//! polls each watched execution; an action taken on one replica reaches the viewers of the others within a
//! poll; a replica killed with SIGKILL has its executions taken over by the others.
//!
//! Needs `STEPLINE_TEST_DATABASE_URL` (scripts/test.sh sets it); says SKIPPED without.

use std::time::{Duration, Instant};

use crate::fleet;

use fleet::*;

#[tokio::test]
async fn three_replicas_poll_each_execution_once_and_take_over_from_a_dead_one() {
    let Ok(database) = std::env::var("STEPLINE_TEST_DATABASE_URL") else {
        println!("SKIPPED: STEPLINE_TEST_DATABASE_URL is not set (scripts/test.sh starts PostgreSQL and sets it)");
        return;
    };
    // One SageMaker for all replicas, with three executions that run for an hour.
    let (emulator, ids) = sagemaker(3, false).await;
    let endpoint = emulator.endpoint_url();
    let data = std::env::temp_dir().join(format!("stepline-replicas-{}", std::process::id()));
    let mut replicas = vec![];
    for i in 0..3 {
        replicas.push(replica(&endpoint, Some(&database), &data.join(i.to_string())).await);
    }
    let http = reqwest::Client::new();
    // 30 viewers: every execution watched on every replica, ten viewers a replica.
    let mut viewers: Vec<(usize, usize, Seen)> = vec![];
    for v in 0..30 {
        let (r, e) = (v % 3, (v / 3) % 3);
        let url = format!("{}/events/pipelines/AbalonePipeline/executions/{}", replicas[r].url, ids[e]);
        viewers.push((r, e, watch(http.clone(), url)));
    }
    until("every viewer sees a snapshot", Duration::from_secs(20), || {
        viewers.iter().all(|(_, _, s)| last(s).is_some())
    })
    .await;

    // One poller per execution in all: three leases, and the executions described about once a round (2 s)
    // each; three uncoordinated replicas would describe each three times.
    let urls = |rs: &[Replica]| rs.iter().map(|r| r.url.clone()).collect::<Vec<_>>();
    assert_eq!(total(&http, &urls(&replicas), LEASES, "").await, 3.0, "one lease per watched execution");
    // Each knows there are three, and spends a third of the request budget.
    until_replicas(&http, &urls(&replicas), 3.0).await;
    let before = total(&http, &urls(&replicas), CALLS, DESCRIBE).await;
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let described = total(&http, &urls(&replicas), CALLS, DESCRIBE).await - before;
    let rounds = window.as_secs_f64() / 2.0;
    assert!(
        described <= 3.0 * (rounds + 2.0),
        "{described} DescribePipelineExecution calls in {window:?} for 3 executions: one poller each makes about {}",
        3.0 * rounds
    );
    assert!(described >= 3.0 * (rounds - 2.0), "the executions are still polled: {described} calls");

    // An action on replica 0 reaches the viewers of execution 0 on replicas 1 and 2 within a poll.
    stop(&http, &replicas[0], &ids[0], "first").await;
    let others: Vec<Seen> = viewers.iter().filter(|(r, e, _)| *r != 0 && *e == 0).map(|(_, _, s)| s.clone()).collect();
    until("the stop reaches the other replicas' viewers", Duration::from_secs(8), || {
        others.iter().all(|s| matches!(last(s).as_deref(), Some("Stopping" | "Stopped")))
    })
    .await;

    // Kill the replica that polls the most; the others take its executions over.
    let mut most = (0, -1.0);
    for (i, r) in replicas.iter().enumerate() {
        let n = total(&http, std::slice::from_ref(&r.url), LEASES, "").await;
        if n > most.1 {
            most = (i, n);
        }
    }
    assert!(most.1 >= 1.0, "some replica polls");
    let victim = replicas.remove(most.0);
    let killed_at = Instant::now();
    drop(victim);
    // Executions 1 and 2 run on: the survivors hold their leases again.
    let survivors = urls(&replicas);
    while total(&http, &survivors, LEASES, "").await < 2.0 {
        assert!(killed_at.elapsed() < Duration::from_secs(15), "the survivors did not take over within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("takeover after SIGKILL: {} ms", killed_at.elapsed().as_millis());
    // The survivors count two of them within a few heartbeats, and take half the budget each.
    until_replicas(&http, &survivors, 2.0).await;
    // Polling goes on: a stop through one survivor reaches the viewers of both.
    stop(&http, &replicas[0], &ids[1], "second").await;
    let on_survivors: Vec<Seen> =
        viewers.iter().filter(|(r, e, _)| *r != most.0 && *e == 1).map(|(_, _, s)| s.clone()).collect();
    assert_eq!(on_survivors.len(), 6);
    until("after the takeover, the stop reaches every surviving viewer", Duration::from_secs(8), || {
        on_survivors.iter().all(|s| matches!(last(s).as_deref(), Some("Stopping" | "Stopped")))
    })
    .await;
    std::fs::remove_dir_all(&data).ok();
}
