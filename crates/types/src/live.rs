//! The events of the live streams (Server-Sent Events), one name each for the server that sends them and
//! the browser that listens.

/// An event of a live stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum StreamEvent {
    /// An execution's whole view, as JSON, whenever it changes.
    Snapshot,
    /// A pipeline's list changed: its new version number.
    Changed,
    /// New lines of a log, as JSON.
    Lines,
    /// Refreshing failed; what is shown stays valid (a `Problem`, as JSON).
    Problem,
    /// Refreshing works again.
    Resumed,
    /// The server is shutting down: connect again.
    Reconnect,
    /// The person may no longer see this (logged out, session expired, role lowered).
    Revoked,
    /// Nothing more will come.
    End,
}

impl StreamEvent {
    /// The event's name on the wire.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct() {
        use strum::IntoEnumIterator;
        let names: std::collections::HashSet<_> = StreamEvent::iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), StreamEvent::iter().count());
        assert_eq!(StreamEvent::Snapshot.name(), "snapshot");
    }
}
