//! The throwaway PostgreSQL server the PostgreSQL tests run on: it starts
//! from the distribution's packages on a private socket, takes a durable
//! write, survives an immediate (crash) restart with the write kept, and is
//! gone on drop.

#![allow(clippy::unwrap_used)]

mod common;

use common::pg::Pg;

async fn connect(pg: &Pg) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn a_private_server_starts_keeps_commits_across_a_crash_and_stops() {
    let Some(pg) = Pg::start() else {
        return;
    };
    let c = connect(&pg).await;
    c.batch_execute("CREATE TABLE t(x INT PRIMARY KEY); INSERT INTO t VALUES (42);")
        .await
        .unwrap();
    let fsync: String = c.query_one("SHOW fsync", &[]).await.unwrap().get(0);
    assert_eq!(fsync, "on");
    drop(c);
    pg.restart_immediate();
    let c = connect(&pg).await;
    let x: i32 = c.query_one("SELECT x FROM t", &[]).await.unwrap().get(0);
    assert_eq!(x, 42, "a committed row survives an immediate restart");
    let socket = pg.socket_dir();
    drop(c);
    drop(pg);
    assert!(!socket.exists(), "the server's directory is removed");
}
