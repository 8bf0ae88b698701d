//! HTTP JSON API connector: records from a paged REST endpoint.
//!
//! Each response is JSON; `records_path` points at the array of records in
//! it. Columns are the keys of the first page's records in first-seen order,
//! all Utf8, after [`ROW_NUMBER_COLUMN`](super::ROW_NUMBER_COLUMN), which
//! numbers records from 1 across pages. Pages are fetched as the stream is
//! read, so memory holds one page and one batch.

use std::collections::{BTreeMap, HashSet};
use std::error::Error as _;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use futures::TryStreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use url::Url;

use super::file::json::{keys_schema, JsonValue, KeyCollector, RecordColumns};
use super::file::text::{to_datafusion, TextBatchBuilder};
use crate::{LakeError, RejectSink};

/// Largest `page_size` accepted.
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// A source with more pages than this is taken to be looping.
pub const MAX_PAGES: u64 = 1_000_000;
/// Largest response body read for one page.
const MAX_PAGE_BYTES: usize = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries after a 5xx, a 429, a timeout or a failed connection.
const RETRIES: u32 = 3;
/// Delay before the first retry, doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const REDACTED: &str = "<redacted>";

/// Where a paged JSON API is and how to walk its pages.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct HttpSourceSpec {
    /// An `http` or `https` URL; its own query parameters are kept.
    pub url: String,
    /// Dot path to the array of records in each response (`data.items`);
    /// absent when the body is the array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_path: Option<String>,
    #[serde(default)]
    pub paging: HttpPaging,
    /// Sent with every request, e.g. `Authorization`. Secret: show
    /// [`HttpSourceSpec::redacted`] instead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Records asked for per page, 1 to 10000.
    #[serde(default = "default_page_size")]
    #[schema(default = 1000, minimum = 1, maximum = 10000)]
    pub page_size: u32,
}

/// How to ask for the next page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpPaging {
    /// One request answers everything.
    #[default]
    None,
    /// `?page=N&size=page_size` from `first_page`, until a page has fewer
    /// than `page_size` records.
    Page {
        #[serde(default = "default_page_param")]
        page_param: String,
        #[serde(default = "default_size_param")]
        size_param: String,
        #[serde(default = "default_first_page")]
        first_page: u64,
    },
    /// `?offset=N&limit=page_size` from 0, until a page has fewer than
    /// `page_size` records.
    Offset {
        #[serde(default = "default_offset_param")]
        offset_param: String,
        #[serde(default = "default_limit_param")]
        limit_param: String,
    },
    /// `?cursor=C` with the cursor found at `next_cursor_path` in the previous
    /// response, until it is missing, null or empty. `size_param`, when set,
    /// sends `page_size` as well.
    Cursor {
        #[serde(default = "default_cursor_param")]
        cursor_param: String,
        #[serde(default = "default_next_cursor_path")]
        next_cursor_path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_param: Option<String>,
    },
}

fn default_page_size() -> u32 {
    1000
}

fn default_page_param() -> String {
    "page".to_owned()
}

fn default_size_param() -> String {
    "size".to_owned()
}

fn default_first_page() -> u64 {
    1
}

fn default_offset_param() -> String {
    "offset".to_owned()
}

fn default_limit_param() -> String {
    "limit".to_owned()
}

fn default_cursor_param() -> String {
    "cursor".to_owned()
}

fn default_next_cursor_path() -> String {
    "next".to_owned()
}

impl HttpSourceSpec {
    /// Checks the spec without contacting the source.
    pub fn validate(&self) -> Result<(), LakeError> {
        parse_url(&self.url)?;
        if let Some(path) = &self.records_path {
            check_path("records_path", path)?;
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return Err(LakeError::invalid(
                "page_size",
                format!("the page size must be 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        header_map(&self.headers)?;
        self.paging.validate()
    }

    /// The spec with header values and any URL password replaced, for logs
    /// and for showing back to users.
    pub fn redacted(&self) -> HttpSourceSpec {
        let url = match Url::parse(&self.url) {
            Ok(mut url) if url.password().is_some() => {
                // Only a URL that cannot have a password refuses one, and this one has one.
                let _ = url.set_password(Some(REDACTED));
                url.to_string()
            }
            _ => self.url.clone(),
        };
        HttpSourceSpec {
            url,
            headers: self.headers.keys().map(|name| (name.clone(), REDACTED.to_owned())).collect(),
            ..self.clone()
        }
    }
}

/// Redacted, so that credentials stay out of logs.
impl fmt::Debug for HttpSourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.redacted();
        f.debug_struct("HttpSourceSpec")
            .field("url", &shown.url)
            .field("records_path", &shown.records_path)
            .field("paging", &shown.paging)
            .field("headers", &shown.headers)
            .field("page_size", &shown.page_size)
            .finish()
    }
}

impl HttpPaging {
    fn validate(&self) -> Result<(), LakeError> {
        let params: Vec<(&str, &str)> = match self {
            HttpPaging::None => Vec::new(),
            HttpPaging::Page { page_param, size_param, .. } => {
                vec![("paging.page_param", page_param.as_str()), ("paging.size_param", size_param.as_str())]
            }
            HttpPaging::Offset { offset_param, limit_param } => {
                vec![
                    ("paging.offset_param", offset_param.as_str()),
                    ("paging.limit_param", limit_param.as_str()),
                ]
            }
            HttpPaging::Cursor { cursor_param, next_cursor_path, size_param } => {
                check_path("paging.next_cursor_path", next_cursor_path)?;
                std::iter::once(("paging.cursor_param", cursor_param.as_str()))
                    .chain(size_param.as_deref().map(|param| ("paging.size_param", param)))
                    .collect()
            }
        };
        let mut seen = HashSet::new();
        for (field, param) in params {
            if param.trim().is_empty() {
                return Err(LakeError::invalid(field, "the parameter name is empty"));
            }
            if !seen.insert(param) {
                return Err(LakeError::invalid(field, format!("the parameter {param:?} is used twice")));
            }
        }
        Ok(())
    }
}

fn parse_url(text: &str) -> Result<Url, LakeError> {
    let url = Url::parse(text).map_err(|error| LakeError::invalid("url", format!("not a URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LakeError::invalid("url", "the URL must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(LakeError::invalid("url", "the URL has no host"));
    }
    Ok(url)
}

fn check_path(field: &str, path: &str) -> Result<(), LakeError> {
    if path.split('.').any(|segment| segment.trim().is_empty()) {
        return Err(LakeError::invalid(field, format!("{path:?} is not a dot path such as data.items")));
    }
    Ok(())
}

fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, LakeError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let field = format!("headers.{name}");
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| LakeError::invalid(field.as_str(), "not a valid header name"))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| LakeError::invalid(field.as_str(), "the value is not a valid header value"))?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    Ok(map)
}

/// A paged JSON API, read with one HTTP client.
#[derive(Clone)]
pub struct HttpSource {
    fetcher: Fetcher,
}

/// Through the redacted spec: the parsed URL and headers hold credentials.
impl fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSource").field("spec", &self.fetcher.spec).finish_non_exhaustive()
    }
}

impl HttpSource {
    /// Validates the spec and builds the client; contacts nothing yet.
    pub fn new(spec: HttpSourceSpec) -> Result<Self, LakeError> {
        spec.validate()?;
        let url = parse_url(&spec.url)?;
        let headers = header_map(&spec.headers)?;
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("govdata-lake/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| LakeError::Io(std::io::Error::other(error)))?;
        Ok(HttpSource { fetcher: Fetcher { client, url, headers, spec } })
    }

    pub fn spec(&self) -> &HttpSourceSpec {
        &self.fetcher.spec
    }

    /// The columns: keys of the first page's records, in first-seen order.
    pub async fn schema(&self) -> Result<SchemaRef, LakeError> {
        let page = self.fetcher.page(&self.fetcher.first_position()).await?;
        first_page_keys(&page).map(|keys| keys_schema(&keys))
    }

    /// Every record, in batches of at most `batch_size` rows with exactly the
    /// schema of [`HttpSource::schema`]; a record that is not an object goes
    /// to `rejects`. The first page is fetched here, so that a refusal or a
    /// wrong `records_path` is returned rather than streamed.
    pub async fn stream(
        &self,
        batch_size: usize,
        rejects: RejectSink,
    ) -> Result<SendableRecordBatchStream, LakeError> {
        let fetcher = self.fetcher.clone();
        let position = fetcher.first_position();
        let page = fetcher.page(&position).await?;
        let keys = first_page_keys(&page)?;
        let schema = keys_schema(&keys);
        let mut paging = PagingState::default();
        let next = fetcher.next_position(&position, &page, &mut paging)?;
        let state = PageStream {
            fetcher,
            columns: RecordColumns::new(&keys),
            batch: TextBatchBuilder::new(schema.clone(), batch_size),
            rejects,
            pending: page.records.into_iter(),
            next,
            paging,
            row: 0,
        };
        let batches = futures::stream::try_unfold(state, |mut state| async move {
            Ok::<_, LakeError>(state.next_batch().await?.map(|batch| (batch, state)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches.map_err(to_datafusion))))
    }
}

fn first_page_keys(page: &Page) -> Result<Vec<String>, LakeError> {
    let mut keys = KeyCollector::default();
    for record in &page.records {
        if let JsonValue::Object(fields) = record {
            keys.add(fields);
        }
    }
    let keys = keys.into_keys();
    if keys.is_empty() {
        let message = if page.records.is_empty() {
            "the first page has no records, so the columns are unknown".to_owned()
        } else {
            format!("none of the {} records of the first page is an object with keys", page.records.len())
        };
        return Err(LakeError::invalid("records_path", message));
    }
    Ok(keys)
}

/// Which page to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    Single,
    Page(u64),
    Offset(u64),
    Cursor(Option<String>),
}

/// One response: its records, the cursor it names, and a hash of its body.
struct Page {
    records: Vec<JsonValue>,
    next_cursor: Option<String>,
    fingerprint: u64,
}

/// What guards against a source that pages forever.
#[derive(Default)]
struct PagingState {
    pages: u64,
    cursors: HashSet<String>,
    last_fingerprint: Option<u64>,
}

#[derive(Clone)]
struct Fetcher {
    client: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    spec: HttpSourceSpec,
}

/// Why one attempt failed: worth retrying, or final.
enum Failure {
    Transient(String),
    Final(LakeError),
}

impl Fetcher {
    fn first_position(&self) -> Position {
        match &self.spec.paging {
            HttpPaging::None => Position::Single,
            HttpPaging::Page { first_page, .. } => Position::Page(*first_page),
            HttpPaging::Offset { .. } => Position::Offset(0),
            HttpPaging::Cursor { .. } => Position::Cursor(None),
        }
    }

    /// The page after `page`, or None when it was the last.
    fn next_position(
        &self,
        position: &Position,
        page: &Page,
        state: &mut PagingState,
    ) -> Result<Option<Position>, LakeError> {
        state.pages += 1;
        let count = page.records.len() as u64;
        let full = count >= u64::from(self.spec.page_size);
        let next = match position {
            Position::Single => None,
            Position::Page(number) => full.then(|| Position::Page(number + 1)),
            Position::Offset(offset) => full.then(|| Position::Offset(offset + count)),
            Position::Cursor(_) => match &page.next_cursor {
                None => None,
                Some(cursor) if !state.cursors.insert(cursor.clone()) => {
                    return Err(LakeError::invalid(
                        "paging.next_cursor_path",
                        format!("the source returned the cursor {cursor:?} a second time; stopping rather than looping"),
                    ));
                }
                Some(cursor) => Some(Position::Cursor(Some(cursor.clone()))),
            },
        };
        if next.is_some() {
            if state.pages >= MAX_PAGES {
                return Err(LakeError::invalid(
                    "paging",
                    format!("the source has more than {MAX_PAGES} pages"),
                ));
            }
            if state.last_fingerprint == Some(page.fingerprint) {
                return Err(LakeError::invalid(
                    "paging",
                    format!(
                        "page {} is the same as the page before: the source seems to ignore the paging parameters",
                        state.pages
                    ),
                ));
            }
        }
        state.last_fingerprint = Some(page.fingerprint);
        Ok(next)
    }

    fn page_url(&self, position: &Position) -> Url {
        let size = self.spec.page_size.to_string();
        let params: Vec<(&str, String)> = match (&self.spec.paging, position) {
            (HttpPaging::Page { page_param, size_param, .. }, Position::Page(number)) => {
                vec![(page_param.as_str(), number.to_string()), (size_param.as_str(), size)]
            }
            (HttpPaging::Offset { offset_param, limit_param }, Position::Offset(offset)) => {
                vec![(offset_param.as_str(), offset.to_string()), (limit_param.as_str(), size)]
            }
            (HttpPaging::Cursor { cursor_param, size_param, .. }, Position::Cursor(cursor)) => cursor
                .iter()
                .map(|cursor| (cursor_param.as_str(), cursor.clone()))
                .chain(size_param.iter().map(|param| (param.as_str(), size.clone())))
                .collect(),
            _ => Vec::new(),
        };
        let mut url = self.url.clone();
        if !params.is_empty() {
            // Ours replace any the URL already has of the same name.
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(name, _)| params.iter().all(|(param, _)| param != name))
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept).extend_pairs(params);
        }
        url
    }

    async fn page(&self, position: &Position) -> Result<Page, LakeError> {
        let url = self.page_url(position);
        let body = self.get(&url).await?;
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let value: JsonValue = serde_json::from_slice(&body).map_err(|error| {
            LakeError::invalid("url", format!("{} did not answer JSON: {error}", shown(&url)))
        })?;
        let next_cursor = match &self.spec.paging {
            HttpPaging::Cursor { next_cursor_path, .. } => cursor_text(value.get_path(next_cursor_path))?,
            _ => None,
        };
        let records = match &self.spec.records_path {
            None => value,
            Some(path) => value.at_path(path).ok_or_else(|| {
                LakeError::invalid("records_path", format!("the response has nothing at {path:?}"))
            })?,
        };
        let JsonValue::Array(records) = records else {
            let place = match &self.spec.records_path {
                Some(path) => format!("{path:?}"),
                None => "the response body; set records_path to the array, e.g. data.items".to_owned(),
            };
            return Err(LakeError::invalid(
                "records_path",
                format!("expected an array of records but found {} at {place}", records.kind()),
            ));
        };
        Ok(Page { records, next_cursor, fingerprint: hasher.finish() })
    }

    /// GET with retries on transient failures, backing off exponentially.
    async fn get(&self, url: &Url) -> Result<Vec<u8>, LakeError> {
        let mut attempt = 1;
        loop {
            match self.attempt(url).await {
                Ok(body) => return Ok(body),
                Err(Failure::Transient(reason)) if attempt <= RETRIES => {
                    tracing::warn!(url = %shown(url), attempt, %reason, "http source failed; retrying");
                    tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(Failure::Transient(reason)) => {
                    return Err(LakeError::SourceUnavailable(format!(
                        "{} {reason} ({attempt} attempts)",
                        shown(url)
                    )))
                }
                Err(Failure::Final(error)) => return Err(error),
            }
        }
    }

    async fn attempt(&self, url: &Url) -> Result<Vec<u8>, Failure> {
        let mut response =
            self.client.get(url.clone()).headers(self.headers.clone()).send().await.map_err(|error| {
                if error.is_connect() || error.is_timeout() {
                    Failure::Transient(format!("could not be reached: {}", describe(&error)))
                } else {
                    let message = format!("{} could not be read: {}", shown(url), describe(&error));
                    Failure::Final(LakeError::SourceUnavailable(message))
                }
            })?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            let message = format!("{} refused our credentials (HTTP {})", shown(url), status.as_u16());
            return Err(Failure::Final(LakeError::SourceUnavailable(message)));
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(Failure::Transient(format!("answered HTTP {status}")));
        }
        if !status.is_success() {
            let message = format!("{} answered HTTP {status}", shown(url));
            return Err(Failure::Final(LakeError::invalid("url", message)));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| Failure::Transient(format!("broke off its answer: {}", describe(&error))))?
        {
            if body.len() + chunk.len() > MAX_PAGE_BYTES {
                let message = format!("a page is larger than {} MiB; lower page_size", MAX_PAGE_BYTES >> 20);
                return Err(Failure::Final(LakeError::invalid("page_size", message)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The cursor at `next_cursor_path`: a string or a number; missing, null or
/// empty means there is no next page.
fn cursor_text(value: Option<&JsonValue>) -> Result<Option<String>, LakeError> {
    match value {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(text)) => Ok((!text.is_empty()).then(|| text.clone())),
        Some(JsonValue::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(LakeError::invalid(
            "paging.next_cursor_path",
            format!("the next cursor must be a string or a number, not {}", other.kind()),
        )),
    }
}

/// The URL without credentials, query or fragment, for messages.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    // Both only fail for URLs that cannot carry credentials, which then have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// An error with its causes, without the URL reqwest adds (it may carry a token).
fn describe(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut cause = error.source();
    while let Some(error) = cause {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&error.to_string());
        cause = error.source();
    }
    if text.is_empty() {
        text = if error.is_timeout() { "timed out".to_owned() } else { "request failed".to_owned() };
    }
    text
}

/// The state of one stream: the page being emptied and where the next one is.
struct PageStream {
    fetcher: Fetcher,
    columns: RecordColumns,
    batch: TextBatchBuilder,
    rejects: RejectSink,
    pending: std::vec::IntoIter<JsonValue>,
    next: Option<Position>,
    paging: PagingState,
    row: u64,
}

impl PageStream {
    async fn next_batch(&mut self) -> Result<Option<RecordBatch>, LakeError> {
        loop {
            for record in self.pending.by_ref() {
                self.row += 1;
                match record.into_record() {
                    Ok(fields) => self.batch.append(self.row, self.columns.cells(fields)),
                    Err(reason) => self.rejects.reject(self.row, None, reason),
                }
                if self.batch.is_full() {
                    return self.batch.finish().map(Some);
                }
            }
            match self.next.take() {
                Some(position) => {
                    let page = self.fetcher.page(&position).await?;
                    self.next = self.fetcher.next_position(&position, &page, &mut self.paging)?;
                    self.pending = page.records.into_iter();
                }
                None if self.batch.is_empty() => return Ok(None),
                None => return self.batch.finish().map(Some),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(paging: HttpPaging) -> HttpSourceSpec {
        HttpSourceSpec {
            url: "https://api.example.cn/v1/people?region=330100&page=9".to_owned(),
            records_path: Some("data.items".to_owned()),
            paging,
            headers: BTreeMap::from([("Authorization".to_owned(), "Bearer secret".to_owned())]),
            page_size: 50,
        }
    }

    #[test]
    fn paging_parameters_replace_the_urls_own() {
        let paging = HttpPaging::Page { page_param: "page".into(), size_param: "size".into(), first_page: 1 };
        let source = HttpSource::new(spec(paging)).expect("valid");
        let url = source.fetcher.page_url(&Position::Page(3));
        assert_eq!(url.query(), Some("region=330100&page=3&size=50"));
    }

    #[test]
    fn redacts_credentials() {
        let mut spec = spec(HttpPaging::None);
        spec.url = "https://user:pw@api.example.cn/x".to_owned();
        let redacted = spec.redacted();
        assert_eq!(redacted.headers["Authorization"], REDACTED);
        assert!(!redacted.url.contains("pw"));
        assert!(!format!("{spec:?}").contains("secret"));
    }

    #[test]
    fn validation_names_the_field() {
        let field = |spec: HttpSourceSpec| match spec.validate() {
            Err(LakeError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let mut bad = spec(HttpPaging::None);
        bad.url = "ftp://example.cn/".to_owned();
        assert_eq!(field(bad), "url");
        let mut bad = spec(HttpPaging::None);
        bad.page_size = 10_001;
        assert_eq!(field(bad), "page_size");
        let mut bad = spec(HttpPaging::None);
        bad.records_path = Some("data..items".to_owned());
        assert_eq!(field(bad), "records_path");
        let bad = spec(HttpPaging::Offset { offset_param: "n".into(), limit_param: "n".into() });
        assert_eq!(field(bad), "paging.limit_param");
        let mut bad = spec(HttpPaging::None);
        bad.headers.insert("Bad Header".to_owned(), "x".to_owned());
        assert_eq!(field(bad), "headers.Bad Header");
    }
}
