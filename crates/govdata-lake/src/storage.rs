//! Where the lake keeps its Delta tables: a local directory (the default) or
//! a prefix of an S3-compatible bucket. Both are reached through one
//! `object_store` handle, so tables, versions, change feeds and archives work
//! the same on either.
//!
//! A Delta commit is a put of `_delta_log/<version>.json` that must fail when
//! the file exists. On S3 that is a conditional put (`If-None-Match: *`),
//! which AWS S3 and the compatible stores (MinIO, Ceph RGW, R2, OSS…)
//! honour; two writers of one table therefore never overwrite each other's
//! version, and no lock table is needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Once};

use std::ops::Range;

use bytes::Bytes;
use deltalake::logstore::object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{
    self as object_store, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use deltalake::logstore::{
    default_logstore, logstore_factories, LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig,
};
use deltalake::{DeltaResult, DeltaTableBuilder};
use futures::stream::BoxStream;
use futures::StreamExt;
use url::Url;

use crate::LakeError;

/// The lake's root and the store that holds it.
#[derive(Debug, Clone)]
pub struct LakeStorage {
    /// The lake's root directory, ending in `/`.
    root: Url,
    /// The store, addressed from its own root (the file system or the bucket).
    store: Arc<dyn ObjectStore>,
    /// A local directory for files a job stages before its commit.
    scratch: PathBuf,
}

impl LakeStorage {
    /// A lake in the local directory `root` (created if missing).
    pub fn local(root: &Path) -> Result<LakeStorage, LakeError> {
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let url = Url::from_directory_path(&root).map_err(|()| {
            LakeError::invalid("lake.url", format!("{} is not an absolute path", root.display()))
        })?;
        let store = Arc::new(DurableLocal { inner: LocalFileSystem::new() });
        Ok(LakeStorage { root: url, store, scratch: root })
    }

    /// A lake under `url` (`s3://bucket/prefix`). `options` are object_store's
    /// S3 settings (`aws_endpoint`, `aws_region`, `aws_access_key_id`,
    /// `aws_secret_access_key`, `aws_allow_http`, …) and take precedence over
    /// the same settings in the environment (`AWS_ENDPOINT`, …). Jobs stage
    /// their files in the local directory `scratch`.
    pub fn s3(
        url: &str,
        options: &BTreeMap<String, String>,
        scratch: &Path,
    ) -> Result<LakeStorage, LakeError> {
        let mut root =
            Url::parse(url).map_err(|e| LakeError::invalid("lake.url", format!("not a URL: {e}")))?;
        if root.scheme() != "s3" {
            return Err(LakeError::invalid("lake.url", "a lake URL is s3://bucket/prefix"));
        }
        let bucket = root
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| LakeError::invalid("lake.url", "the URL names no bucket"))?
            .to_owned();
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in options {
            let config_key = AmazonS3ConfigKey::from_str(key).map_err(|_| {
                LakeError::invalid(
                    format!("lake.storage_options.{key}"),
                    "not an S3 setting (aws_endpoint, aws_region, aws_access_key_id, aws_secret_access_key, \
                     aws_allow_http, …)",
                )
            })?;
            builder = builder.with_config(config_key, value);
        }
        let store = builder.build().map_err(|e| LakeError::invalid("lake.storage_options", e.to_string()))?;
        register_s3_log_store();
        std::fs::create_dir_all(scratch)?;
        Ok(LakeStorage { root, store: Arc::new(store), scratch: scratch.to_owned() })
    }

    /// The lake's root, for messages and reports.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// Lists the lake's root once: a wrong bucket, endpoint or credential
    /// shows at start-up rather than at the first job.
    pub async fn check(&self) -> Result<(), LakeError> {
        self.store
            .list_with_delimiter(Some(&self.path(&self.root)?))
            .await
            .map(|_| ())
            .map_err(|e| LakeError::Storage(format!("{}: {e}", self.root)))
    }

    /// The directory `relative` (ending in `/`) under the lake's root.
    pub(crate) fn directory(&self, relative: &str) -> Result<Url, LakeError> {
        self.root.join(relative).map_err(|e| LakeError::invalid("id", e.to_string()))
    }

    /// The store's path of the directory `url`.
    pub(crate) fn path(&self, url: &Url) -> Result<ObjectPath, LakeError> {
        ObjectPath::from_url_path(url.path()).map_err(|e| LakeError::Storage(e.to_string()))
    }

    /// A Delta table builder for the table at `url`, over the shared store.
    pub(crate) fn builder(&self, url: &Url) -> Result<DeltaTableBuilder, LakeError> {
        Ok(DeltaTableBuilder::from_url(url.clone())?.with_storage_backend(self.store.clone(), url.clone()))
    }

    /// Whether anything is stored under `directory`.
    pub(crate) async fn has_any(&self, directory: &ObjectPath) -> Result<bool, LakeError> {
        match self.store.list(Some(directory)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(LakeError::Storage(e.to_string())),
        }
    }

    /// Copies `from` to `to` within the lake (server-side on S3), durably;
    /// returns the bytes copied.
    pub(crate) async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> Result<u64, LakeError> {
        let storage = |e: deltalake::logstore::object_store::Error| LakeError::Storage(e.to_string());
        self.store.copy(from, to).await.map_err(storage)?;
        Ok(self.store.head(to).await.map_err(storage)?.size)
    }

    /// Writes a small object (a manifest) at `to`.
    pub(crate) async fn put(&self, to: &ObjectPath, bytes: Vec<u8>) -> Result<(), LakeError> {
        self.store.put(to, bytes.into()).await.map_err(|e| LakeError::Storage(e.to_string()))?;
        Ok(())
    }

    /// The local file a job of table `id` stages its rows in.
    pub(crate) fn staging_file(&self, id: &str, job_id: &str) -> Result<PathBuf, LakeError> {
        let directory = self.scratch.join("staging");
        std::fs::create_dir_all(&directory)?;
        Ok(directory.join(format!("{id}.{job_id}.parquet")))
    }
}

/// object_store's `LocalFileSystem`, made durable. The local store never
/// syncs, so a power cut could take a Delta version whose job was already
/// reported done. Here a put is written to a staging file (named as the
/// local store names its own, so listings skip it), synced, then linked
/// into place — `PutMode::Create`, how a commit claims its version, fails
/// when the file exists — or renamed over it, and the directory synced. A
/// multipart upload (a large data file) and a copy are synced once done,
/// before any commit can refer to them.
#[derive(Debug)]
struct DurableLocal {
    inner: LocalFileSystem,
}

impl std::fmt::Display for DurableLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Durable{}", self.inner)
    }
}

fn local_error(error: std::io::Error, location: &ObjectPath) -> object_store::Error {
    if error.kind() == std::io::ErrorKind::AlreadyExists {
        object_store::Error::AlreadyExists { path: location.to_string(), source: Box::new(error) }
    } else {
        object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(error) }
    }
}

/// Runs file-system work off the async threads.
async fn on_disk(
    location: &ObjectPath,
    work: impl FnOnce() -> std::io::Result<()> + Send + 'static,
) -> object_store::Result<()> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| object_store::Error::Generic { store: "LocalFileSystem", source: Box::new(e) })?
        .map_err(|e| local_error(e, location))
}

/// Syncs `file` and the directory that names it.
fn sync_file(file: &Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    sync_parent(file)
}

fn sync_parent(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(directory) => std::fs::File::open(directory)?.sync_all(),
        None => Ok(()),
    }
}

/// Writes `payload` to `target` durably; with `create`, fails when it exists.
fn write_durably(target: &Path, payload: PutPayload, create: bool) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(directory) = target.parent() {
        std::fs::create_dir_all(directory)?;
    }
    let mut staging = target.as_os_str().to_owned();
    staging.push(format!("#{}", uuid::Uuid::new_v4().simple()));
    let staging = PathBuf::from(staging);
    let written = (|| {
        let mut file = std::fs::File::create_new(&staging)?;
        for chunk in &payload {
            file.write_all(chunk)?;
        }
        file.sync_all()?;
        if create {
            std::fs::hard_link(&staging, target)?;
            std::fs::remove_file(&staging)
        } else {
            std::fs::rename(&staging, target)
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    written?;
    sync_parent(target)
}

#[async_trait::async_trait]
impl ObjectStore for DurableLocal {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let create = match opts.mode {
            PutMode::Overwrite => false,
            PutMode::Create => true,
            // The local store refuses conditional updates: let it say so.
            PutMode::Update(_) => return self.inner.put_opts(location, payload, opts).await,
        };
        let target = self.inner.path_to_filesystem(location)?;
        on_disk(location, move || write_durably(&target, payload, create)).await?;
        let written = self.inner.head(location).await?;
        Ok(PutResult { e_tag: written.e_tag, version: written.version })
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        let target = self.inner.path_to_filesystem(location)?;
        Ok(Box::new(DurableUpload { upload, location: location.clone(), target }))
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &ObjectPath,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&ObjectPath>,
        offset: &ObjectPath,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await?;
        let target = self.inner.path_to_filesystem(to)?;
        on_disk(to, move || sync_file(&target)).await
    }
}

/// A local multipart upload, synced when completed.
#[derive(Debug)]
struct DurableUpload {
    upload: Box<dyn MultipartUpload>,
    location: ObjectPath,
    target: PathBuf,
}

#[async_trait::async_trait]
impl MultipartUpload for DurableUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let done = self.upload.complete().await?;
        let target = self.target.clone();
        on_disk(&self.location, move || sync_file(&target)).await?;
        Ok(done)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.upload.abort().await
    }
}

/// `relative` (a `/`-separated path inside a table) under `base`.
pub(crate) fn child(base: &ObjectPath, relative: &str) -> ObjectPath {
    relative.split('/').filter(|part| !part.is_empty()).fold(base.clone(), |path, part| path.join(part))
}

/// delta-rs knows log stores for local files only unless its `s3` feature
/// (the AWS SDK and a DynamoDB lock client) is built in. The default log
/// store is all S3 needs once puts are conditional.
fn register_s3_log_store() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        let scheme = Url::parse("s3://").expect("a valid scheme URL");
        logstore_factories().insert(scheme, Arc::new(ConditionalPutLogStore));
    });
}

struct ConditionalPutLogStore;

impl LogStoreFactory for ConditionalPutLogStore {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(prefixed_store, root_store, location, options))
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn local_writes_claim_once_replace_and_leave_no_staging_files() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LakeStorage::local(dir.path()).unwrap();
        let log = storage.path(storage.root()).unwrap().join("_delta_log");
        let commit = log.clone().join("00000000000000000000.json");
        let create = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        storage.store.put_opts(&commit, "first".into(), create.clone()).await.unwrap();
        let again = storage.store.put_opts(&commit, "second".into(), create).await.unwrap_err();
        assert!(matches!(again, object_store::Error::AlreadyExists { .. }), "{again}");
        let read = |path: ObjectPath| {
            let store = storage.store.clone();
            async move { store.get(&path).await.unwrap().bytes().await.unwrap() }
        };
        assert_eq!(read(commit.clone()).await, "first");

        let checkpoint = log.clone().join("_last_checkpoint");
        storage.store.put(&checkpoint, "a".into()).await.unwrap();
        storage.store.put(&checkpoint, "b".into()).await.unwrap();
        assert_eq!(read(checkpoint).await, "b");

        let data = storage.path(storage.root()).unwrap().join("part-0.parquet");
        let mut upload = storage.store.put_multipart(&data).await.unwrap();
        upload.put_part("rows".into()).await.unwrap();
        upload.complete().await.unwrap();
        assert_eq!(read(data.clone()).await, "rows");
        let copy = storage.path(storage.root()).unwrap().join("archive").join("part-0.parquet");
        assert_eq!(storage.copy(&data, &copy).await.unwrap(), 4);

        let names: Vec<String> = std::fs::read_dir(dir.path().join("_delta_log"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no staging file is left: {names:?}");
        let listed: Vec<_> = storage.store.list(Some(&log)).try_collect().await.unwrap();
        assert_eq!(listed.len(), 2);
    }
}
