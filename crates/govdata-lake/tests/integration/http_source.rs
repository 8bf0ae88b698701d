//! The HTTP connector against a small HTTP/1.1 server written on
//! `tokio::net::TcpListener`: every paging style, retries, refusals and
//! responses that do not fit the spec.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::TryStreamExt;
use govdata_lake::arrow::array::{Array, RecordBatch, StringArray, UInt64Array};
use govdata_lake::source::http::{HttpPaging, HttpSource, HttpSourceSpec};
use govdata_lake::source::ROW_NUMBER_COLUMN;
use govdata_lake::{LakeError, RejectSink, Rejects};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A request as the handler sees it: query parameters and lower-case headers.
struct Request {
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
}

impl Request {
    fn number(&self, name: &str) -> usize {
        self.query.get(name).and_then(|value| value.parse().ok()).unwrap_or(0)
    }
}

type Handler = Arc<dyn Fn(&Request) -> (u16, String) + Send + Sync>;

/// Serves `handler` on a local port; the URL of `/api`. Counts requests.
async fn serve(
    handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let handler: Handler = Arc::new(handler);
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (handler, counter) = (handler.clone(), counter.clone());
            tokio::spawn(async move {
                let (reader, mut writer) = socket.into_split();
                let mut reader = BufReader::new(reader);
                // Keep-alive: one connection carries several requests.
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut headers = HashMap::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                        }
                    }
                    let target = request_line.split(' ').nth(1).unwrap_or("/");
                    let url = url::Url::parse(&format!("http://test{target}")).expect("request target");
                    let query = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                    counter.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = handler(&Request { query, headers });
                    let response = format!(
                        "HTTP/1.1 {status} Test\r\ncontent-type: application/json; charset=utf-8\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if writer.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{address}/api"), requests)
}

fn spec(url: &str, records_path: Option<&str>, paging: HttpPaging, page_size: u32) -> HttpSourceSpec {
    HttpSourceSpec {
        url: url.to_owned(),
        records_path: records_path.map(str::to_owned),
        paging,
        headers: BTreeMap::new(),
        page_size,
    }
}

/// Record `i` of a test data set (from 1) as JSON text, keys in the order
/// written (serde_json's `json!` would sort them): Chinese values, a nested
/// object, and on record 15 a key the first page does not have.
fn person(i: usize) -> String {
    let late = if i == 15 { r#", "迟到的键": "ignored""# } else { "" };
    format!(r#"{{"编号": {i}, "姓名": "张{i}", "住址": {{"市": "杭州", "区": "上城"}}{late}}}"#)
}

/// Records `from`, `from + 1`, … (at most `count`, none past `total`) as a JSON array.
fn people(from: usize, count: usize, total: usize) -> String {
    let records: Vec<String> = (from..from + count).take_while(|i| *i <= total).map(person).collect();
    format!("[{}]", records.join(", "))
}

struct Read {
    names: Vec<String>,
    batches: Vec<RecordBatch>,
    rejects: Rejects,
}

impl Read {
    fn rows(&self) -> Vec<u64> {
        self.batches
            .iter()
            .flat_map(|batch| {
                batch.column(0).as_any().downcast_ref::<UInt64Array>().expect("row numbers").values().to_vec()
            })
            .collect()
    }

    fn column(&self, name: &str) -> Vec<Option<String>> {
        self.batches
            .iter()
            .flat_map(|batch| {
                let column = batch.column_by_name(name).expect("column");
                let column = column.as_any().downcast_ref::<StringArray>().expect("text");
                column.iter().map(|value| value.map(str::to_owned)).collect::<Vec<_>>()
            })
            .collect()
    }
}

async fn read(spec: HttpSourceSpec, batch_size: usize) -> Result<Read, LakeError> {
    let source = HttpSource::new(spec)?;
    let schema = source.schema().await?;
    let rejects = RejectSink::default();
    let batches: Vec<RecordBatch> =
        source.stream(batch_size, rejects.clone()).await?.try_collect().await.map_err(LakeError::from)?;
    for batch in &batches {
        assert_eq!(batch.schema(), schema);
        assert!(batch.num_rows() <= batch_size);
    }
    let names = schema.fields().iter().map(|field| field.name().clone()).collect();
    Ok(Read { names, batches, rejects: rejects.snapshot() })
}

fn refused_field<T>(result: Result<T, LakeError>) -> String {
    match result {
        Err(LakeError::Invalid { field, .. }) => field,
        Err(other) => panic!("expected an invalid-input refusal, got {other:?}"),
        Ok(_) => panic!("expected a refusal"),
    }
}

fn assert_people(read: &Read, total: usize) {
    assert_eq!(read.names, [ROW_NUMBER_COLUMN, "编号", "姓名", "住址"]);
    assert_eq!(read.rows(), (1..=total as u64).collect::<Vec<_>>());
    let names: Vec<Option<String>> = (1..=total).map(|i| Some(format!("张{i}"))).collect();
    assert_eq!(read.column("姓名"), names);
    assert_eq!(read.column("住址")[0].as_deref(), Some(r#"{"市":"杭州","区":"上城"}"#));
    assert_eq!(read.rejects.count, 0);
}

#[tokio::test]
async fn walks_numbered_pages_until_a_short_one() {
    let (url, requests) = serve(|request| {
        let (page, size) = (request.number("page"), request.number("size"));
        (200, people((page - 1) * size + 1, size, 25))
    })
    .await;
    let paging = HttpPaging::Page { page_param: "page".into(), size_param: "size".into(), first_page: 1 };

    let read = read(spec(&url, None, paging, 10), 7).await.expect("readable");
    assert_people(&read, 25);
    // One page for the schema, three for the stream.
    assert_eq!(requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn stops_on_an_empty_page_after_full_ones() {
    let (url, requests) = serve(|request| {
        let (page, size) = (request.number("p"), request.number("n"));
        (200, people(page * size + 1, size, 20))
    })
    .await;
    let paging = HttpPaging::Page { page_param: "p".into(), size_param: "n".into(), first_page: 0 };

    let read = read(spec(&url, None, paging, 10), 100).await.expect("readable");
    assert_people(&read, 20);
    assert_eq!(requests.load(Ordering::SeqCst), 1 + 3);
}

#[tokio::test]
async fn walks_offsets_under_a_records_path() {
    let (url, _) = serve(|request| {
        let (offset, limit) = (request.number("offset"), request.number("limit"));
        (
            200,
            format!(r#"{{"code": 0, "data": {{"total": 23, "items": {}}}}}"#, people(offset + 1, limit, 23)),
        )
    })
    .await;
    let paging = HttpPaging::Offset { offset_param: "offset".into(), limit_param: "limit".into() };

    let read = read(spec(&url, Some("data.items"), paging, 10), 10).await.expect("readable");
    assert_people(&read, 23);
}

#[tokio::test]
async fn follows_cursors_until_there_is_none() {
    let (url, _) = serve(|request| {
        assert_eq!(request.query.get("limit").map(String::as_str), Some("10"));
        let from = request
            .query
            .get("after")
            .map_or(1, |cursor| cursor.trim_start_matches("c").parse().unwrap_or(1));
        let next = if from + 10 <= 25 { json!(format!("c{}", from + 10)) } else { json!("") };
        (200, format!(r#"{{"result": {{"rows": {}}}, "paging": {{"next": {next}}}}}"#, people(from, 10, 25)))
    })
    .await;
    let paging = HttpPaging::Cursor {
        cursor_param: "after".into(),
        next_cursor_path: "paging.next".into(),
        size_param: Some("limit".into()),
    };

    let read = read(spec(&url, Some("result.rows"), paging, 10), 8).await.expect("readable");
    assert_people(&read, 25);
}

#[tokio::test]
async fn refuses_a_cursor_that_repeats() {
    let (url, _) = serve(|_| (200, format!(r#"{{"items": {}, "next": "same"}}"#, people(1, 10, 10)))).await;
    let paging = HttpPaging::Cursor {
        cursor_param: "cursor".into(),
        next_cursor_path: "next".into(),
        size_param: None,
    };
    let source = HttpSource::new(spec(&url, Some("items"), paging, 10)).expect("valid");

    let result: Result<Vec<RecordBatch>, _> =
        source.stream(100, RejectSink::default()).await.expect("first page").try_collect().await;
    let message = result.expect_err("a looping cursor").to_string();
    assert!(message.contains("second time"), "{message}");
}

#[tokio::test]
async fn refuses_a_source_that_ignores_paging() {
    let (url, _) = serve(|_| (200, people(1, 10, 10))).await;
    let paging = HttpPaging::Page { page_param: "page".into(), size_param: "size".into(), first_page: 1 };
    let source = HttpSource::new(spec(&url, None, paging, 10)).expect("valid");

    let result: Result<Vec<RecordBatch>, _> =
        source.stream(100, RejectSink::default()).await.expect("first page").try_collect().await;
    let message = result.expect_err("the same page forever").to_string();
    assert!(message.contains("ignore the paging"), "{message}");
}

#[tokio::test]
async fn rejects_records_that_are_not_objects() {
    let (url, _) =
        serve(|_| (200, r#"[{"名称": "甲"}, 5, "乙", null, {"名称": "丙", "数量": 2}]"#.to_owned())).await;

    let read = read(spec(&url, None, HttpPaging::None, 1000), 10).await.expect("readable");
    assert_eq!(read.names, [ROW_NUMBER_COLUMN, "名称", "数量"]);
    assert_eq!(read.rows(), [1, 5]);
    assert_eq!(read.column("数量"), [None, Some("2".to_owned())]);
    let rejected: Vec<u64> = read.rejects.sample.iter().map(|reject| reject.row).collect();
    assert_eq!(rejected, [2, 3, 4]);
}

#[tokio::test]
async fn retries_a_server_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let (url, requests) = serve(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => (500, r#"{"error": "busy"}"#.to_owned()),
        _ => (200, people(1, 3, 3)),
    })
    .await;
    let source = HttpSource::new(spec(&url, None, HttpPaging::None, 1000)).expect("valid");

    let schema = source.schema().await.expect("schema after a retry");
    assert_eq!(schema.fields().len(), 4);
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn gives_up_after_three_retries() {
    let (url, requests) = serve(|_| (503, "{}".to_owned())).await;
    let source = HttpSource::new(spec(&url, None, HttpPaging::None, 1000)).expect("valid");

    match source.schema().await {
        Err(LakeError::SourceUnavailable(message)) => assert!(message.contains("503"), "{message}"),
        other => panic!("expected the source to be unavailable, got {other:?}"),
    }
    assert_eq!(requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn sends_headers_and_reports_refused_credentials() {
    let (url, _) = serve(|request| match request.headers.get("authorization").map(String::as_str) {
        Some("Bearer good") => (200, r#"[{"a": "1"}]"#.to_owned()),
        _ => (401, r#"{"error": "unauthorized"}"#.to_owned()),
    })
    .await;
    let mut good = spec(&url, None, HttpPaging::None, 1000);
    good.headers.insert("Authorization".to_owned(), "Bearer good".to_owned());
    assert_eq!(read(good, 10).await.expect("accepted").column("a"), [Some("1".to_owned())]);

    let mut bad = spec(&url, None, HttpPaging::None, 1000);
    bad.headers.insert("Authorization".to_owned(), "Bearer stale".to_owned());
    let source = HttpSource::new(bad).expect("valid");
    for result in [source.schema().await.map(drop), source.stream(10, RejectSink::default()).await.map(drop)]
    {
        match result {
            Err(LakeError::SourceUnavailable(message)) => {
                assert!(message.contains("refused our credentials (HTTP 401)"), "{message}");
                assert!(!message.contains("stale"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn refuses_responses_that_do_not_fit_the_spec() {
    let (url, _) = serve(|request| match request.query.get("case").map(String::as_str) {
        Some("html") => (200, "<html>维护中</html>".to_owned()),
        Some("missing") => (404, r#"{"error": "no such API"}"#.to_owned()),
        _ => (200, json!({"data": {"items": [{"a": 1}], "count": 1}}).to_string()),
    })
    .await;
    let at = |case: &str, records_path: Option<&str>| {
        HttpSource::new(spec(&format!("{url}?case={case}"), records_path, HttpPaging::None, 1000))
            .expect("valid")
    };

    assert_eq!(refused_field(at("html", None).schema().await), "url");
    assert_eq!(refused_field(at("missing", None).schema().await), "url");
    assert_eq!(refused_field(at("json", None).schema().await), "records_path");
    assert_eq!(refused_field(at("json", Some("data.rows")).schema().await), "records_path");
    assert_eq!(
        refused_field(at("json", Some("data")).stream(10, RejectSink::default()).await),
        "records_path"
    );
    assert_eq!(refused_field(at("json", Some("data.count")).schema().await), "records_path");
    let read = read(spec(&format!("{url}?case=json"), Some("data.items"), HttpPaging::None, 1000), 10)
        .await
        .expect("the right path");
    assert_eq!(read.column("a"), [Some("1".to_owned())]);
}

#[tokio::test]
async fn an_unreachable_source_is_unavailable() {
    // A port that was just free: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let source =
        HttpSource::new(spec(&format!("http://{address}/api"), None, HttpPaging::None, 10)).expect("valid");
    assert!(matches!(source.schema().await, Err(LakeError::SourceUnavailable(_))));
}

#[test]
fn specs_parse_with_defaults() {
    let spec: HttpSourceSpec = serde_json::from_value(json!({
        "url": "https://data.example.gov.cn/api/v1/companies",
        "records_path": "data.items",
        "paging": {"kind": "page"},
        "headers": {"Authorization": "Bearer secret"}
    }))
    .expect("spec");
    assert_eq!(spec.page_size, 1000);
    assert_eq!(
        spec.paging,
        HttpPaging::Page { page_param: "page".into(), size_param: "size".into(), first_page: 1 }
    );
    assert_eq!(spec.redacted().headers["Authorization"], "<redacted>");
    spec.validate().expect("valid");

    assert!(serde_json::from_value::<HttpSourceSpec>(json!({"url": "https://x.cn", "pages": 3})).is_err());
    let bare: HttpSourceSpec = serde_json::from_value(json!({"url": "https://x.cn"})).expect("bare");
    assert_eq!(bare.paging, HttpPaging::None);
    let mut zero = bare.clone();
    zero.page_size = 0;
    assert_eq!(refused_field(zero.validate()), "page_size");
}
