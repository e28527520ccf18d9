//! Several hubs on one PostgreSQL database: relay and latency across two
//! hubs, failover time, and the same run's PostgreSQL baseline (batched
//! durable inserts). The server is a throwaway one from the distribution's
//! packages (initdb + pg_ctl in a temp directory, fsync and synchronous
//! commit on), as in the tests.

use std::time::{Duration, Instant};

use lianxi_shared::Tier;
use tokio_postgres::NoTls;

use crate::fed::Fed;
use crate::scenarios::{self, Latency, Relay};

#[path = "../../hub/tests/common/pg.rs"]
mod pg;

pub use pg::Pg;

/// A new, empty database on `pg` for one scenario; its URL. The server
/// settles first: the earlier scenarios' databases are dropped (and their
/// autovacuum work with them) and a checkpoint is taken, so that a scenario
/// is not timed through the flush of the one before, as each SQLite
/// scenario starts on a hub of its own.
async fn database(pg: &Pg, name: &str) -> anyhow::Result<String> {
    let (c, conn) = tokio_postgres::connect(&pg.url(), NoTls).await?;
    tokio::spawn(conn);
    let earlier = c
        .query(
            "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')",
            &[],
        )
        .await?;
    for row in earlier {
        let db: String = row.get(0);
        c.batch_execute(&format!("DROP DATABASE \"{db}\" WITH (FORCE)"))
            .await?;
    }
    c.batch_execute("CHECKPOINT").await?;
    c.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    Ok(pg.url_of(name))
}

/// Two hubs sharing a fresh database.
async fn two_hubs(pg: &Pg, name: &str) -> anyhow::Result<Fed> {
    let url = database(pg, name).await?;
    let mut fed = Fed::with_config(&format!("[storage]\ndatabase = \"{url}\"\n"))?;
    fed.add_hub()?;
    Ok(fed)
}

/// Rows of 1 KiB per second, inserted by `clients` connections at once, 32
/// rows per durable transaction in one statement: what the database does at
/// all with batches like those the hub's writer commits.
pub async fn pg_baseline(pg: &Pg, clients: usize, secs: f64) -> anyhow::Result<f64> {
    let url = database(pg, "baseline").await?;
    let (c, conn) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(conn);
    c.batch_execute("CREATE TABLE rows(id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL)")
        .await?;
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let (mut c, conn) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(conn);
            let insert = c
                .prepare("INSERT INTO rows(body) SELECT unnest($1::bytea[])")
                .await?;
            let batch = vec![vec![7u8; 1024]; 32];
            let mut n = 0u64;
            while Instant::now() < until {
                let tx = c.transaction().await?;
                tx.execute(&insert, &[&batch]).await?;
                tx.commit().await?;
                n += 32;
            }
            anyhow::Ok(n)
        }));
    }
    let start = Instant::now();
    let mut n = 0;
    for t in tasks {
        n += t.await??;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// [`scenarios::relay`] with the senders on hub 1 and the receivers on hub 2.
pub async fn relay(pg: &Pg, pairs: usize, per: usize, limit: Duration) -> anyhow::Result<Relay> {
    let fed = two_hubs(pg, "relay").await?;
    let (h1, h2) = ([fed.addrs[0].clone()], [fed.addrs[1].clone()]);
    explained(
        &fed,
        scenarios::relay_in(&fed, &h1, &h2, pairs, per, limit).await,
    )
}

/// [`scenarios::latency`] from a node on hub 1 to a node on hub 2.
pub async fn latency(pg: &Pg, rate: u32, secs: f64) -> anyhow::Result<Latency> {
    let fed = two_hubs(pg, "latency").await?;
    let (h1, h2) = ([fed.addrs[0].clone()], [fed.addrs[1].clone()]);
    explained(
        &fed,
        scenarios::latency_in(&fed, &h1, &h2, rate, secs).await,
    )
}

/// On failure, the hubs' last warnings and errors, before their logs go.
fn explained<T>(fed: &Fed, r: anyhow::Result<T>) -> anyhow::Result<T> {
    if r.is_err() {
        for k in 0..fed.addrs.len() {
            let log = std::fs::read_to_string(fed.dir.path().join(format!("hub-{k}.log")))
                .unwrap_or_default();
            let bad: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .collect();
            eprintln!("hub {k}: {}", bad[bad.len().saturating_sub(5)..].join("\n"));
        }
    }
    r
}

/// From SIGKILL of the hub a node is on to that node's next acknowledged
/// send (through the other hub), as `lianxi send` does it: connect with its
/// 5 s budget (the dead hub first, then the next), then send. Seconds, for
/// each of `rounds` kills.
pub async fn failover(pg: &Pg, rounds: usize) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::new();
    for r in 0..rounds {
        let mut fed = two_hubs(pg, &format!("failover{r}")).await?;
        let hubs = fed.addrs.clone();
        let a = fed.node_on("a", Tier::Provincial, &hubs)?;
        let b = fed.node_on("b", Tier::Prefecture, &hubs[1..])?;
        // b says hello once, so the hubs know it.
        b.node
            .connect(Duration::from_secs(10))
            .await?
            .0
            .close()
            .await;
        let send = async |k: u64| -> anyhow::Result<()> {
            let (s, _ev) = a.node.connect(Duration::from_secs(5)).await?;
            let x = scenarios::seal_to(&a, &b, k)?;
            s.send_envelope(x.envelope, x.wraps).await?;
            s.close().await;
            Ok(())
        };
        send(0).await?;
        fed.kill_hub(0);
        let killed = Instant::now();
        let mut k = 1;
        loop {
            match send(k).await {
                Ok(()) => break,
                Err(e) if killed.elapsed() < Duration::from_secs(60) => {
                    eprintln!("failover: send {k} failed ({e}); again");
                    k += 1;
                }
                Err(e) => return Err(e),
            }
        }
        out.push(killed.elapsed().as_secs_f64());
    }
    Ok(out)
}
