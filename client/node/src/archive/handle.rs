//! Runs an [`Archive`] on a dedicated thread so that no SQLite call ever blocks
//! an async task or the UI's render loop.

use std::path::Path;

use lianxi_shared::{ErrorCode, ProtoError};
use tokio::sync::oneshot;

use super::Archive;

type Job = Box<dyn FnOnce(&mut Archive) + Send>;

#[derive(Clone)]
pub struct ArchiveHandle {
    tx: std::sync::mpsc::Sender<Job>,
}

impl ArchiveHandle {
    /// Open the archive on its own thread. Errors opening it are returned here.
    pub fn open(path: &Path) -> Result<ArchiveHandle, ProtoError> {
        let archive = Archive::open(path)?;
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("archive".into())
            .spawn(move || {
                let mut archive = archive;
                while let Ok(job) = rx.recv() {
                    job(&mut archive);
                }
            })
            .map_err(|e| {
                ProtoError::new(ErrorCode::Io, format!("cannot start archive thread: {e}"))
            })?;
        Ok(ArchiveHandle { tx })
    }

    /// Run `f` on the archive thread and await its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Archive) -> Result<T, ProtoError> + Send + 'static,
    ) -> Result<T, ProtoError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Box::new(move |a| {
                let _ = reply.send(f(a));
            }))
            .map_err(|_| ProtoError::new(ErrorCode::Internal, "the archive thread has stopped"))?;
        rx.await
            .map_err(|_| ProtoError::new(ErrorCode::Internal, "the archive thread has stopped"))?
    }
}
