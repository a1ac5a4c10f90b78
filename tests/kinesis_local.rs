//! A smoke test of the repository's kinesis-local (scripts/kinesis-local.sh): the AWS SDK
//! creates a stream, puts a record and reads it back over plain HTTP.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use eventosaurus_testkit::kinesis_local::{kinesis_endpoint, KinesisLocal};
use eventosaurus_testkit::local::unique_prefix;

fn client(endpoint: &str) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "kinesis-local",
        ))
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}

#[tokio::test]
async fn a_stream_is_created_written_and_read() {
    let kinesis = client(kinesis_endpoint());
    let stream = unique_prefix("smoke");
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .expect("CreateStream");
    // kinesis-mock makes a stream ACTIVE after CREATE_STREAM_DURATION (500 ms by default).
    let deadline = Instant::now() + Duration::from_secs(30);
    let shard_id = loop {
        let summary = kinesis
            .describe_stream_summary()
            .stream_name(&stream)
            .send()
            .await
            .expect("DescribeStreamSummary");
        let description = summary.stream_description_summary().expect("a summary");
        if description.stream_status() == &StreamStatus::Active {
            let shards = kinesis
                .list_shards()
                .stream_name(&stream)
                .send()
                .await
                .expect("ListShards");
            break shards.shards()[0].shard_id().to_owned();
        }
        assert!(Instant::now() < deadline, "the stream never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let put = kinesis
        .put_record()
        .stream_name(&stream)
        .partition_key("w-1138")
        .data(Blob::new(br#"{"event":"Classification"}"#.to_vec()))
        .send()
        .await
        .expect("PutRecord");
    assert_eq!(put.shard_id(), shard_id);
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(&shard_id)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator
        .expect("an iterator");
    let records = kinesis
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .expect("GetRecords");
    let records = records.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].partition_key(), Some("w-1138"));
    assert_eq!(records[0].sequence_number(), put.sequence_number());
    assert_eq!(records[0].data().as_ref(), br#"{"event":"Classification"}"#);
}

#[tokio::test]
async fn a_private_server_stops_with_its_handle() {
    let server = KinesisLocal::start(true);
    let pid = server.pid();
    let kinesis = client(&server.endpoint());
    let listed = kinesis.list_streams().send().await.expect("ListStreams");
    assert!(
        listed.stream_names().is_empty(),
        "a fresh server has no streams"
    );
    // The client's open connection would hold up a graceful shutdown: the script kills then.
    drop(server);
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = state
        .rsplit(") ")
        .next()
        .and_then(|rest| rest.split(' ').next());
    assert!(
        matches!(state, None | Some("Z") | Some("")),
        "the server it started is stopped, found state {state:?}"
    );
    drop(kinesis);
}
