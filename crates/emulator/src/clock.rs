//! The service's clock: the wall clock, or one a demo runs from the past at a higher rate, or one a test
//! pauses and moves on by hand.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::state::Epoch;

/// The wall clock as the wire carries it: seconds with a millisecond fraction.
pub fn wall_clock() -> Epoch {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    ms as f64 / 1000.0
}

/// The service's clock. Normally the wall clock; a demo can run it from a moment in the past at a higher
/// rate to record a history of executions that took realistic time, then return to the wall clock. A test
/// can pause it and move it on by hand (`/_emulator/clock`), so what it observes never depends on how fast
/// the machine running it is.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    anchor_wall: Epoch,
    anchor: Epoch,
    rate: f64,
    /// Stopped at `anchor` until resumed or moved on.
    paused: bool,
}

impl Clock {
    pub fn wall() -> Clock {
        let t = wall_clock();
        Clock { anchor_wall: t, anchor: t, rate: 1.0, paused: false }
    }

    /// Runs from `at` at `rate` clock seconds per real second.
    pub fn running(at: Epoch, rate: f64) -> Clock {
        Clock { anchor_wall: wall_clock(), anchor: at, rate, paused: false }
    }

    pub fn now(&self) -> Epoch {
        let t = if self.paused { self.anchor } else { self.anchor + (wall_clock() - self.anchor_wall) * self.rate };
        (t * 1000.0).round() / 1000.0
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Real seconds until the clock shows `t` (never, while it is paused).
    pub fn real_until(&self, t: Epoch) -> f64 {
        if self.paused {
            f64::INFINITY
        } else {
            (t - self.now()) / self.rate
        }
    }

    /// Stopped where it is now.
    pub fn pause(&mut self) {
        *self = Clock { anchor: self.now(), paused: true, ..*self };
    }

    /// Running again from where it stands, at its rate.
    pub fn resume(&mut self) {
        *self = Clock::running(self.now(), self.rate);
    }

    /// Moved `seconds` on at once, paused or running.
    pub fn advance(&mut self, seconds: f64) {
        self.anchor += seconds;
    }
}

/// What `/_emulator/clock` may do to the clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockChange {
    Pause,
    Resume,
    /// Move it on by this many seconds (finite, not negative).
    Advance(f64),
    /// Back to the wall clock, running.
    Wall,
}
