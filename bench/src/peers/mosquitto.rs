//! Informative peer: Mosquitto, QoS 1, persistence on. Not a durable peer:
//! it neither fsyncs per message nor checks signatures.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::{Server, free_port, install_deb};

/// Where Mosquitto is, installing the Debian package if it is missing.
fn mosquitto_binary() -> Option<std::path::PathBuf> {
    let find = || {
        [
            "/usr/sbin/mosquitto",
            "/usr/bin/mosquitto",
            "/usr/local/sbin/mosquitto",
        ]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return Some(p);
    }
    eprintln!("mosquitto is missing; installing the Debian package …");
    install_deb("mosquitto");
    find()
}

/// Mosquitto with persistence on, one QoS 1 publisher and one QoS 1
/// subscriber, `n` payloads of 1 KiB: delivered/s. `Ok(None)`: not installable.
pub async fn mosquitto_qos1(dir: &std::path::Path, n: usize) -> anyhow::Result<Option<f64>> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let Some(bin) = mosquitto_binary() else {
        return Ok(None);
    };
    let port = free_port()?;
    let data = dir.join("mosquitto");
    let guard = Server::start(
        &bin,
        &data,
        "mosquitto.conf",
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_inflight_messages 100\nmax_queued_messages 0\n",
            data.display()
        ),
    )?;
    // Wait for the listener.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let opts = |id: &str| {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(false);
        o.set_inflight(100);
        o
    };
    let (sub, mut sub_loop) = AsyncClient::new(opts("bench-sub"), 1024);
    sub.subscribe("lianxi/bench", QoS::AtLeastOnce).await?;
    let mut subscribed = false;
    while !subscribed {
        if let Event::Incoming(Packet::SubAck(_)) = sub_loop.poll().await? {
            subscribed = true;
        }
    }
    let received = tokio::spawn(async move {
        let mut got = 0usize;
        let mut first = None;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(30), sub_loop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                    first.get_or_insert_with(Instant::now);
                    got += 1;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(anyhow::anyhow!("subscriber: {e}")),
                Err(_) => break,
            }
        }
        Ok((got, first.map_or(1.0, |f| f.elapsed().as_secs_f64())))
    });
    let (publ, mut pub_loop) = AsyncClient::new(opts("bench-pub"), 1024);
    let pumping = tokio::spawn(async move {
        loop {
            if pub_loop.poll().await.is_err() {
                break;
            }
        }
    });
    let payload = vec![7u8; 1024];
    for _ in 0..n {
        publ.publish("lianxi/bench", QoS::AtLeastOnce, false, payload.clone())
            .await?;
    }
    let (got, secs) = received.await??;
    pumping.abort();
    drop(guard);
    if got < n {
        bail!("mosquitto delivered {got} of {n}");
    }
    Ok(Some(got as f64 / secs))
}
