//! The fault proxy of the test helper does what the fault tests rely on, against a real
//! DynamoDB Local: pass-through, a lost response (written, but the client gets a reset),
//! a stall (no answer until the client gives up) and an injected 500.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use eventosaurus::{Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::PhoneCall;
use eventosaurus_testkit::fault_proxy::{Fault, FaultProxy, ProxyStats};
use eventosaurus_testkit::local::{
    count_items, create_example_tables, endpoint, store_at, unique_prefix,
};

const LIMIT: Duration = Duration::from_secs(120);

/// A raw client through the proxy: no SDK retries, a short attempt timeout.
fn raw_client(store: &Store) -> Client {
    let config = store
        .client()
        .expect("a DynamoDB store")
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(500))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_forwards_loses_stalls_and_fails_on_demand() {
    tokio::time::timeout(LIMIT, async {
        let proxy = FaultProxy::start(endpoint()).await;
        let store = store_at(&proxy.endpoint(), &unique_prefix("proxy")).await;
        create_example_tables(&store).await;
        let client = raw_client(&store);
        let table = store.table_name(PhoneCall::TABLE);
        let put = |id: &str| {
            client
                .put_item()
                .table_name(&table)
                .item("person_id", AttributeValue::N("1".into()))
                .item("event_uuid", AttributeValue::S(id.into()))
                .item(
                    "created_at",
                    AttributeValue::S("2020-01-01T00:00:00.000Z".into()),
                )
        };

        // Pass-through, several requests on one keep-alive connection.
        let before = proxy.stats();
        for i in 0..5 {
            put(&format!("pass-{i}"))
                .send()
                .await
                .expect("pass-through put");
        }
        let after = proxy.stats();
        assert_eq!(after.passed - before.passed, 5);
        assert_eq!(count_items(&store, PhoneCall::TABLE).await, 5);

        // A 500, answered by the proxy: the server never sees the request.
        proxy.inject(Fault::Error500, 1, |r| r.body_contains("err-1"));
        let err = put("err-1").send().await.expect_err("an injected 500");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
        assert_eq!(count_items(&store, PhoneCall::TABLE).await, 5);

        // A lost response: the write happens, the client sees a broken connection.
        proxy.inject(Fault::LoseResponse, 1, |r| r.operation() == "PutItem");
        let err = put("lost-1").send().await.expect_err("a lost response");
        eprintln!("lost response as the SDK sees it: {err:?}");
        assert_eq!(count_items(&store, PhoneCall::TABLE).await, 6);

        // A stall: the client's attempt timeout fires; nothing reaches the server.
        proxy.set_mode(Fault::Stall);
        let err = put("stall-1").send().await.expect_err("a stall");
        eprintln!("stall as the SDK sees it: {err:?}");
        proxy.set_mode(Fault::PassThrough);
        assert_eq!(count_items(&store, PhoneCall::TABLE).await, 6);

        let stats = proxy.stats();
        eprintln!("proxy stats: {stats:?}");
        assert_eq!(
            (stats.lost, stats.stalled, stats.errored),
            (1, 1, 1),
            "{stats:?}"
        );

        // A rule applies to exactly its count of requests, then the mode again.
        proxy.inject(Fault::Error500, 2, |r| r.operation() == "PutItem");
        assert!(put("rule-1").send().await.is_err());
        assert!(put("rule-2").send().await.is_err());
        put("rule-3").send().await.expect("the rule is used up");
        let end = proxy.wait_until(|s| s.errored == 3).await;
        assert_eq!(end.lost, 1);
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_retries_an_injected_500_and_the_store_succeeds() {
    tokio::time::timeout(LIMIT, async {
        let proxy = FaultProxy::start(endpoint()).await;
        let store = store_at(&proxy.endpoint(), &unique_prefix("proxy500")).await;
        create_example_tables(&store).await;
        proxy.inject(Fault::Error500, 1, |r| r.operation() == "PutItem");
        let outcome = PhoneCall {
            person_id: 3,
            phone_number: "555".into(),
            last_called: "now".into(),
        }
        .store(&store)
        .await
        .expect("the SDK retries a 500");
        assert!(
            matches!(outcome, StoreOutcome::Stored { .. }),
            "{outcome:?}"
        );
        let stats: ProxyStats = proxy.stats();
        assert_eq!(stats.errored, 1);
        assert_eq!(count_items(&store, PhoneCall::TABLE).await, 1);
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_ends_a_stalled_request() {
    tokio::time::timeout(LIMIT, async {
        let proxy = FaultProxy::start(endpoint()).await;
        let store = store_at(&proxy.endpoint(), &unique_prefix("proxydrop")).await;
        // A client that would wait far longer than this test may run.
        let config = store
            .client()
            .expect("a DynamoDB store")
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(3_600))
                    .build(),
            )
            .build();
        let client = Client::from_conf(config);
        proxy.set_mode(Fault::Stall);
        let request = tokio::spawn(async move { client.list_tables().send().await });
        proxy.wait_until(|s| s.stalled == 1).await;
        drop(proxy);
        // The stalled connection is closed with the proxy: the request fails now, not in an hour.
        let outcome = request.await.expect("the request task");
        eprintln!("a stalled request when the proxy is dropped: {outcome:?}");
        assert!(outcome.is_err());
    })
    .await
    .expect("the stalled request ended with the proxy");
}
