//! systemd readiness (`Type=notify`): tells the service manager when the
//! outbox is open and the sources run, and when a stop has begun.
//!
//! The protocol is one datagram to the socket named by `$NOTIFY_SOCKET`
//! (`@name` is an abstract socket); without the variable nothing happens,
//! so running outside systemd costs nothing. A failure to notify is logged,
//! never fatal: systemd then times the start out on its own and says so.

use std::os::unix::net::UnixDatagram;

/// `READY=1`: the service is accepting events.
pub fn ready() {
    send("READY=1\nSTATUS=accepting events");
}

/// `STOPPING=1`: draining before exit.
pub fn stopping() {
    send("STOPPING=1\nSTATUS=draining");
}

fn send(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let result = UnixDatagram::unbound().and_then(|socket| {
        let path = path.to_string_lossy();
        match path.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
                socket.send_to_addr(state.as_bytes(), &addr)
            }
            None => socket.send_to(state.as_bytes(), path.as_ref()),
        }
    });
    if let Err(e) = result {
        tracing::warn!(socket = %path.to_string_lossy(), "cannot notify systemd: {e}");
    }
}
