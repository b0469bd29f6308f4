//! The fake metadata service *inside* a guest: the same server as `tests/imds.rs`
//! ([`crate::common::imds`]), its listener bound on 127.0.0.1 in the guest's network namespace
//! by a short-lived thread that first joins that namespace (`setns(2)`). Connections are served
//! from the test process, so the test can change what the service says (add a secondary IP)
//! while the guest runs.
//!
//! The listener belongs to one boot's namespace: start a new server after every boot.

use std::fs::File;
use std::net::TcpListener;
use std::os::fd::AsRawFd as _;

use crate::common::imds::{Server, State};

/// Serves `state` on `127.0.0.1:PORT` inside the network namespace of process `leader`; the
/// returned server's `url` is valid inside the guest.
pub fn serve_in(leader: u32, state: State) -> Server {
    serve_in_at(leader, state, 0)
}

/// [`serve_in`] on a fixed port (0: any), for settings that must stay valid across reboots.
pub fn serve_in_at(leader: u32, state: State, port: u16) -> Server {
    let ns = File::open(format!("/proc/{leader}/ns/net"))
        .unwrap_or_else(|e| panic!("cannot open the guest's network namespace: {e}"));
    let listener = std::thread::spawn(move || -> std::io::Result<TcpListener> {
        // SAFETY: setns(2) on an fd we own; it only changes this thread's network namespace,
        // and the thread ends right after binding.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        TcpListener::bind(("127.0.0.1", port))
    })
    .join()
    .expect("the binding thread panicked")
    .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1 inside the guest: {e}"));
    Server::start_on(listener, state)
}
