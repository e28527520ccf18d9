//! Several hubs on one store: wake-ups for nodes another hub queued for,
//! sessions that moved to another hub, and the nodes the others have seen.

use std::sync::Arc;
use std::time::Duration;

use crate::server::Shared;
use crate::store::HubStore;
use crate::store::postgres::Wake;

/// Other hubs queued something for these nodes (or, `None`, maybe for
/// anyone): wake their connections here, and the release loop for embargoes.
pub(crate) async fn wakeup_loop(
    shared: Arc<Shared>,
    mut rx: tokio::sync::broadcast::Receiver<Wake>,
) {
    loop {
        match rx.recv().await {
            Ok(Wake::Queued(Some(nodes))) => {
                for n in &nodes {
                    shared.wake(n);
                }
            }
            Ok(Wake::Session {
                node,
                instance,
                addr,
            }) => {
                if instance != shared.instance {
                    shared.session_moved(&node, &addr);
                    if !shared.directory().nodes.contains_key(&node) {
                        learn_recent(&shared).await;
                    }
                }
            }
            Ok(Wake::Queued(None)) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                shared.wake_all();
                shared.release_wake.notify_one();
                check_sessions(&shared).await;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Close the sessions here of nodes another hub serves now (what a lost
/// announcement would have said).
async fn check_sessions(shared: &Shared) {
    let nodes = shared.live_nodes();
    if nodes.is_empty() {
        return;
    }
    if let Ok(owners) = shared.store.session_hubs(nodes).await {
        for (node, instance, addr) in owners {
            if instance != shared.instance {
                shared.session_moved(&node, &addr);
            }
        }
    }
}

/// Learn the nodes other hubs of the cluster saw in the last minutes (a
/// margin for clocks that differ between hubs).
async fn learn_recent(shared: &Shared) {
    let since = crate::now_ms() / 1000 - 300;
    match shared.store.node_certs_since(since).await {
        Ok(certs) => shared.learn(certs),
        Err(e) => tracing::warn!(error = %e, "cannot read the nodes other hubs saw"),
    }
}

/// With other hubs on the store: look now and then which hub serves the
/// nodes connected here, and which nodes the other hubs have seen.
pub(crate) async fn cluster_loop(shared: Arc<Shared>) {
    let Some(every) = shared.store.poll_interval() else {
        return;
    };
    loop {
        tokio::time::sleep(every.max(Duration::from_millis(100))).await;
        check_sessions(&shared).await;
        learn_recent(&shared).await;
    }
}
