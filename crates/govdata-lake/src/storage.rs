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

use deltalake::logstore::object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{ObjectStore, ObjectStoreExt};
use deltalake::logstore::{
    default_logstore, logstore_factories, LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig,
};
use deltalake::{DeltaResult, DeltaTableBuilder};
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
    /// Set when the lake is on local disk: copies are synced to disk.
    local: Option<Arc<LocalFileSystem>>,
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
        let local = Arc::new(LocalFileSystem::new());
        Ok(LakeStorage { root: url, store: local.clone(), local: Some(local), scratch: root })
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
        Ok(LakeStorage { root, store: Arc::new(store), local: None, scratch: scratch.to_owned() })
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
        if let Some(local) = &self.local {
            let file = local.path_to_filesystem(to).map_err(storage)?;
            tokio::task::spawn_blocking(move || std::fs::File::open(file)?.sync_all())
                .await
                .map_err(|e| LakeError::Io(std::io::Error::other(e)))??;
        }
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
