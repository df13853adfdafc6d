//! The store on a real S3-compatible server (moto on loopback, from the test kit): every
//! operation the file store supports, and the conditional writes leases depend on.

use std::sync::Arc;

use bytes::Bytes;
use frameflow_store::{ObjectStorage, StoreError, TenantStore, WriteMode};

fn s3_tenant(name: &str) -> Option<TenantStore> {
    let server = frameflow_testkit::s3::server()?;
    let bucket = server.bucket(name);
    let env = server.env();
    let settings: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let downloads = frameflow_testkit::scratch_dir(&format!("store-s3/{bucket}"));
    let storage = ObjectStorage::open_with(&format!("s3://{bucket}/deployment"), &downloads, &settings).expect("S3 store opens");
    Some(Arc::new(storage).tenant("default").expect("tenant"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_hold_on_a_real_s3_server() {
    let Some(t) = s3_tenant("conditional") else { return };
    let first = t.put("jobs/j1/job.json", Bytes::from_static(b"1"), WriteMode::Create).await.expect("created");
    let again = t.put("jobs/j1/job.json", Bytes::from_static(b"2"), WriteMode::Create).await;
    assert!(matches!(again, Err(StoreError::PreconditionFailed(_))), "a second create-only write loses: {again:?}");
    let stale = t.put("jobs/j1/job.json", Bytes::from_static(b"3"), WriteMode::IfMatch("\"not-the-etag\"".into())).await;
    assert!(matches!(stale, Err(StoreError::PreconditionFailed(_))), "an if-match on a stale etag loses: {stale:?}");
    let etag = first.etag.expect("S3 returns etags");
    let won = t.put("jobs/j1/job.json", Bytes::from_static(b"4"), WriteMode::IfMatch(etag.clone())).await.expect("current etag wins");
    assert_ne!(won.etag.as_deref(), Some(etag.as_str()));
    let lost = t.put("jobs/j1/job.json", Bytes::from_static(b"5"), WriteMode::IfMatch(etag)).await;
    assert!(matches!(lost, Err(StoreError::PreconditionFailed(_))), "the old etag is stale now: {lost:?}");
    assert_eq!(t.get("jobs/j1/job.json").await.unwrap(), Bytes::from_static(b"4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_list_stream_and_delete_on_s3() {
    let Some(t) = s3_tenant("objects") else { return };
    for k in ["v/a.mp4", "v/b.mp4", "v/c.mp4", "w/x"] {
        t.put(k, Bytes::from(k.as_bytes().to_vec()), WriteMode::Overwrite).await.unwrap();
    }
    let page = t.list("v/", None, 2).await.unwrap();
    let keys: Vec<_> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["v/a.mp4", "v/b.mp4"], "keys are relative to the tenant, in order");
    let rest = t.list("v/", page.next_start_after.as_deref(), 2).await.unwrap();
    assert_eq!(rest.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["v/c.mp4"]);
    assert!(rest.next_start_after.is_none());

    // A streamed upload bigger than one multipart part.
    let big: Vec<u8> = (0..(12u32 << 20)).map(|i| (i % 251) as u8).collect();
    let mut up = t.upload("uploads/u1/big.bin", 64 << 20).unwrap();
    for chunk in big.chunks(1 << 20) {
        up.write(chunk).await.unwrap();
    }
    let meta = up.finish().await.unwrap();
    assert_eq!(meta.size, big.len() as u64);
    let local = t.local_path("uploads/u1/big.bin").await.unwrap();
    assert_eq!(std::fs::read(local).unwrap(), big, "the local copy FFmpeg reads is the object");

    t.delete("v/a.mp4").await.unwrap();
    t.delete("v/a.mp4").await.expect("deleting a missing key is not an error");
    assert!(matches!(t.head("v/a.mp4").await, Err(StoreError::NotFound(_))));
    assert!(matches!(t.get("../escape").await, Err(StoreError::InvalidKey { .. })));
}
