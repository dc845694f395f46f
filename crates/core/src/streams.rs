//! Live streams counted: in all and by client (the person, else the address), so one person or address
//! cannot hold every stream the server allows; and told to end at shutdown.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// Live streams open at most, in all and from one client address.
pub const MAX_STREAMS: usize = 2_000;
pub const MAX_STREAMS_PER_CLIENT: usize = 32;

/// Who a stream is counted against: the person the access guard identified, else (no login) the
/// connection's address. Behind a proxy or a load balancer every stream comes from its few addresses, so
/// people are counted as themselves wherever they are identified.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Person(String),
    Address(Option<IpAddr>),
}

/// Open streams, counted in all and by client, so one person or address (or a runaway script) cannot hold
/// every stream the server allows.
#[derive(Default)]
pub struct StreamSlots {
    open: Mutex<(usize, HashMap<Client, usize>)>,
    /// Set once at shutdown: every stream says "reconnect" and ends.
    closing: tokio::sync::watch::Sender<bool>,
}

/// One open stream's place; given back when the stream ends.
pub struct Slot {
    slots: Arc<StreamSlots>,
    client: Client,
}

impl StreamSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<Client, usize>)> {
        self.open.locked()
    }

    pub fn take(self: &Arc<Self>, client: Client) -> Result<Slot, &'static str> {
        let mut open = self.lock();
        if open.0 >= MAX_STREAMS {
            return Err("This server has as many live streams open as it allows; reload the page to update it.");
        }
        // Unidentified clients on this machine (tests, a local proxy without login) are many people behind one
        // address: only the total counts for them.
        let shared = matches!(client, Client::Address(a) if a.is_none_or(|ip| ip.is_loopback()));
        let mine = open.1.entry(client.clone()).or_default();
        if !shared && *mine >= MAX_STREAMS_PER_CLIENT {
            return Err(match client {
                Client::Person(_) => "Too many live views are open for you; close some tabs of this dashboard.",
                Client::Address(_) => {
                    "Too many live views are open from this address; close some tabs of this dashboard."
                }
            });
        }
        *mine += 1;
        open.0 += 1;
        Ok(Slot { slots: self.clone(), client })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.lock().0
    }

    /// Tell every open stream to end with a `reconnect` event (at shutdown).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }
}

impl Slot {
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.slots.closing.subscribe()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

/// Who is asking, for the stream caps: the identified person, else the connection's address (tests that
/// drive the router directly have none: they count as one client).
pub struct Peer(pub Client);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let person = parts.extensions.get::<crate::access::Identity>().filter(|who| !who.is_anonymous());
        Ok(Peer(match person {
            Some(who) => Client::Person(who.user.clone()),
            None => Client::Address(parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
        }))
    }
}
