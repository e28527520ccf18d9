//! The hub's one UDP socket, with buffers sized for many nodes at once.
//!
//! Every node's packets arrive on this socket. When thousands reconnect
//! together (after a hub restart, or a network coming back), handshakes keep
//! the hub's cores busy and the kernel's default receive buffer (about
//! 208 KiB on Linux) overflows: the bench's `connections` scenario lost a
//! quarter of its datagrams that way, keep-alives among them, and idle
//! sessions of nodes already connected timed out. A larger buffer rides out
//! those bursts.

use std::net::{SocketAddr, UdpSocket};

use anyhow::Context;

/// Bind `addr` and ask for `buffer` bytes of receive and send buffer. Returns
/// the socket and what the kernel granted, if less was granted than asked.
pub fn bind(addr: SocketAddr, buffer: usize) -> anyhow::Result<(UdpSocket, Option<Granted>)> {
    let socket = UdpSocket::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let sock = socket2::SockRef::from(&socket);
    // Refusals are not fatal: the kernel's default still works, only worse
    // under bursts, and the caller says so.
    let _ = sock.set_recv_buffer_size(buffer);
    let _ = sock.set_send_buffer_size(buffer);
    let granted = Granted {
        asked: buffer,
        recv: effective(sock.recv_buffer_size().unwrap_or(0)),
        send: effective(sock.send_buffer_size().unwrap_or(0)),
    };
    let short = granted.recv < buffer || granted.send < buffer;
    Ok((socket, short.then_some(granted)))
}

/// What the kernel gave when asked for more than its limit allows.
#[derive(Debug, Clone, Copy)]
pub struct Granted {
    pub asked: usize,
    pub recv: usize,
    pub send: usize,
}

/// Linux reports twice the size set (the other half is its bookkeeping).
fn effective(reported: usize) -> usize {
    if cfg!(target_os = "linux") {
        reported / 2
    } else {
        reported
    }
}

#[cfg(test)]
mod tests {
    /// A modest size is within every kernel's limit: granted in full. A size
    /// past any limit is reported as short, never an error.
    #[test]
    fn buffers_are_granted_or_reported_short() {
        let any = "127.0.0.1:0".parse().expect("address");
        let (socket, short) = super::bind(any, 64 * 1024).expect("bind");
        assert!(short.is_none(), "{short:?}");
        let buf = socket2::SockRef::from(&socket)
            .recv_buffer_size()
            .expect("getsockopt");
        assert!(super::effective(buf) >= 64 * 1024);

        let huge = i32::MAX as usize;
        let (_socket, short) = super::bind(any, huge).expect("bind");
        let short = short.expect("no unprivileged socket gets 2 GiB");
        assert_eq!(short.asked, huge);
        assert!(short.recv >= 64 * 1024 && short.recv < huge, "{short:?}");
    }
}
