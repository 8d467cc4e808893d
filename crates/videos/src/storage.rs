//! Where video files live: an [`ObjectStore`] — the data dir's `files/` folder by default,
//! S3 or an S3-compatible server when `[videos] storage_url = "s3://bucket"`.
//!
//! Keys are `videos/{id}/…` for a video's files and `uploads/{id}/…` for the chunks of a
//! resumable upload. Uploads stream through [`Files::put_stream`]: bytes go to the store
//! as they arrive (a multipart upload of 5 MiB parts on S3, a staging file on disk), the
//! size limit is checked on every chunk, and anything that fails half-way is aborted so
//! no partial object is left behind.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResult, ObjectMeta, ObjectStore, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::VideoSettings;

/// Size of the parts a streamed upload is cut into (S3's minimum is 5 MiB).
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts in flight at once during a streamed upload.
const PARTS_IN_FLIGHT: usize = 2;

/// The file store. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    /// The same store when it is local disk: whole-file copies then go through the
    /// kernel (`copy_file_range`) instead of object_store's 8 KiB reads.
    local: Option<Arc<LocalFileSystem>>,
    /// What the store is, for logs: `local:/path` or `s3://bucket`.
    describe: String,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("store", &self.describe)
            .finish()
    }
}

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The body grew past the limit; nothing was kept.
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    /// The body stream failed (the client went away, or sent a broken body).
    #[error("reading the upload failed: {0}")]
    Body(String),
    /// The store refused.
    #[error("storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
}

impl Files {
    /// The store `settings` describe: local files under `files_dir` unless `storage_url`
    /// is an `s3://bucket` URL.
    pub fn from_settings(settings: &VideoSettings) -> Result<Files, String> {
        let url = settings.storage_url.trim();
        if url.is_empty() || url.starts_with("file:") {
            let dir = match url.strip_prefix("file://") {
                Some(path) if !path.is_empty() => std::path::PathBuf::from(path),
                _ => settings.files_dir.clone(),
            };
            return Files::local(&dir);
        }
        let Some(bucket) = url.strip_prefix("s3://") else {
            return Err(format!(
                "[videos] storage_url {url:?} is neither empty (local files) nor s3://bucket"
            ));
        };
        let bucket = bucket.trim_end_matches('/');
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(&settings.s3_region);
        if !settings.s3_endpoint.is_empty() {
            builder = builder
                .with_endpoint(&settings.s3_endpoint)
                .with_allow_http(settings.s3_endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if !settings.s3_access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&settings.s3_access_key_id)
                .with_secret_access_key(&settings.s3_secret_access_key);
        }
        let store = builder
            .build()
            .map_err(|e| format!("[videos] S3 storage {url}: {e}"))?;
        Ok(Files {
            store: Arc::new(store),
            local: None,
            describe: url.to_owned(),
        })
    }

    /// Files under `dir` on local disk (created if missing).
    pub fn local(dir: &FsPath) -> Result<Files, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the files dir {}: {e}", dir.display()))?;
        let store = Arc::new(
            LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| format!("files dir {}: {e}", dir.display()))?,
        );
        Ok(Files {
            store: store.clone(),
            local: Some(store),
            describe: format!("local:{}", dir.display()),
        })
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Streams `body` into `key`, refusing it once it passes `limit` bytes. Returns the
    /// size stored. On any error the partial object is aborted: nothing stays behind.
    pub async fn put_stream(
        &self,
        key: &str,
        mut body: BoxStream<'_, Result<Bytes, String>>,
        limit: u64,
    ) -> Result<u64, PutError> {
        let upload = self.store.put_multipart(&Path::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut size = 0u64;
        let outcome = loop {
            match body.next().await {
                None => break Ok(()),
                Some(Err(e)) => break Err(PutError::Body(e)),
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > limit {
                        break Err(PutError::TooLarge(limit));
                    }
                    if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                        break Err(e.into());
                    }
                    writer.write(&chunk);
                }
            }
        };
        match outcome {
            Ok(()) => {
                writer.finish().await?;
                Ok(size)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key, error = %abort, "could not abort a failed upload");
                }
                Err(e)
            }
        }
    }

    /// Stores a local file (a processing output) under `key`.
    pub async fn put_file(&self, key: &str, path: &FsPath) -> Result<u64, PutError> {
        let file = tokio::fs::File::open(path).await?;
        let chunks = futures::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        self.put_stream(key, chunks.map_err(|e| e.to_string()).boxed(), u64::MAX)
            .await
    }

    /// Stores `bytes` under `key` in one request (small objects).
    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> Result<(), PutError> {
        self.store.put(&Path::from(key), bytes.into()).await?;
        Ok(())
    }

    /// Copies the objects `keys`, in order, into a local file at `path`.
    pub async fn download_all(&self, keys: &[String], path: &FsPath) -> Result<u64, PutError> {
        if let Some(paths) = self.local_paths(keys)? {
            let target = path.to_path_buf();
            return blocking(move || join_files(&paths, &target)).await;
        }
        let mut out = tokio::fs::File::create(path).await?;
        let mut size = 0u64;
        for key in keys {
            let mut stream = self
                .store
                .get(&Path::from(key.as_str()))
                .await?
                .into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                out.write_all(&chunk).await?;
            }
        }
        out.flush().await?;
        Ok(size)
    }

    /// Streams the objects `keys`, in order, into one object `key` (a resumable upload's
    /// chunks into its file).
    pub async fn concat(&self, keys: &[String], key: &str) -> Result<u64, PutError> {
        if let (Some(paths), Some(local)) = (self.local_paths(keys)?, &self.local) {
            let dest = local.path_to_filesystem(&Path::from(key))?;
            return blocking(move || {
                // Joined beside the destination, then renamed: never half a file.
                let dir = dest
                    .parent()
                    .ok_or_else(|| std::io::Error::other("no parent"))?;
                std::fs::create_dir_all(dir)?;
                let staging = dir.join(format!(".join-{}", super::random_token()));
                let joined = join_files(&paths, &staging).and_then(|n| {
                    std::fs::rename(&staging, &dest)
                        .map(|()| n)
                        .map_err(PutError::Io)
                });
                if joined.is_err() {
                    let _ = std::fs::remove_file(&staging);
                }
                joined
            })
            .await;
        }
        let store = self.store.clone();
        let keys: Vec<Path> = keys.iter().map(|k| Path::from(k.as_str())).collect();
        let body = futures::stream::iter(keys)
            .then(move |k| {
                let store = store.clone();
                async move { store.get(&k).await.map(GetResult::into_stream) }
            })
            .map(|r| match r {
                Ok(s) => s.boxed(),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten()
            .map_err(|e| e.to_string())
            .boxed();
        self.put_stream(key, body, u64::MAX).await
    }

    /// Size, time and entity tag of `key`, or `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, object_store::Error> {
        match self.store.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `key`, whole or the byte range `range` of it.
    pub async fn get(
        &self,
        key: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<GetResult, object_store::Error> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        self.store.get_opts(&Path::from(key), opts).await
    }

    /// Removes `key`; a key that is already gone is fine.
    pub async fn delete(&self, key: &str) -> Result<(), object_store::Error> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes every object under `prefix` (`videos/12`). Returns how many there were.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, object_store::Error> {
        let prefix = Path::from(prefix);
        let metas: Vec<ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for meta in &metas {
            self.delete(meta.location.as_ref()).await?;
        }
        Ok(metas.len())
    }
}

impl Files {
    /// The files behind `keys` when the store is local disk.
    fn local_paths(&self, keys: &[String]) -> Result<Option<Vec<std::path::PathBuf>>, PutError> {
        let Some(local) = &self.local else {
            return Ok(None);
        };
        let paths = keys
            .iter()
            .map(|k| local.path_to_filesystem(&Path::from(k.as_str())))
            .collect::<Result<_, _>>()?;
        Ok(Some(paths))
    }
}

/// Copies `paths`, in order, into a new file at `target` (the kernel copies file to file).
fn join_files(paths: &[std::path::PathBuf], target: &FsPath) -> Result<u64, PutError> {
    let mut out = std::fs::File::create(target)?;
    let mut size = 0;
    for p in paths {
        let mut input = std::fs::File::open(p)?;
        size += std::io::copy(&mut input, &mut out)?;
    }
    Ok(size)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PutError> + Send + 'static,
) -> Result<T, PutError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PutError::Io(std::io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> BoxStream<'static, Result<Bytes, String>> {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
        .boxed()
    }

    #[tokio::test]
    async fn streamed_upload_is_stored_and_read_back_in_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::local(dir.path()).unwrap();
        let size = files
            .put_stream("videos/1/source", chunks(&[b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(size, 11);
        let part = files.get("videos/1/source", Some(6..11)).await.unwrap();
        assert_eq!(&part.bytes().await.unwrap()[..], b"world");
        assert_eq!(
            files.head("videos/1/source").await.unwrap().unwrap().size,
            11
        );
        assert!(files.head("videos/1/nothing").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_upload_over_the_limit_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::local(dir.path()).unwrap();
        let err = files
            .put_stream("videos/2/source", chunks(&[b"12345", b"67890"]), 7)
            .await
            .unwrap_err();
        assert!(matches!(err, PutError::TooLarge(7)));
        assert!(files.head("videos/2/source").await.unwrap().is_none());
        let left: Vec<_> = walk(dir.path());
        assert!(left.is_empty(), "partial files left: {left:?}");
    }

    #[tokio::test]
    async fn a_broken_body_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::local(dir.path()).unwrap();
        let body = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("client went away".to_owned()),
        ])
        .boxed();
        let err = files
            .put_stream("videos/3/source", body, 100)
            .await
            .unwrap_err();
        assert!(matches!(err, PutError::Body(_)));
        assert!(walk(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn chunks_concatenate_and_prefixes_delete() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::local(dir.path()).unwrap();
        files
            .put_bytes("uploads/u/0", Bytes::from_static(b"ab"))
            .await
            .unwrap();
        files
            .put_bytes("uploads/u/1", Bytes::from_static(b"cd"))
            .await
            .unwrap();
        let keys = vec!["uploads/u/0".to_owned(), "uploads/u/1".to_owned()];
        assert_eq!(files.concat(&keys, "videos/4/source").await.unwrap(), 4);
        let all = files.get("videos/4/source", None).await.unwrap();
        assert_eq!(&all.bytes().await.unwrap()[..], b"abcd");
        let local = dir.path().join("copy");
        assert_eq!(files.download_all(&keys, &local).await.unwrap(), 4);
        assert_eq!(std::fs::read(&local).unwrap(), b"abcd");
        assert_eq!(files.delete_prefix("uploads/u").await.unwrap(), 2);
        assert!(files.head("uploads/u/0").await.unwrap().is_none());
    }

    fn walk(dir: &FsPath) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
