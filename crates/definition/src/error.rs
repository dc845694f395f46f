//! The single error type returned when a pipeline definition is rejected.
//!
//! Both the emulator (which answers `CreatePipeline` / `UpdatePipeline` with a
//! `ValidationException`) and the browser editor show this message verbatim,
//! so the message alone must say what is wrong and where.

use std::fmt;

/// Why a pipeline definition was rejected. `message` is meant for humans and
/// names the offending step / parameter, e.g. `Duplicate step name 'X'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub message: String,
}

impl DefinitionError {
    pub fn new(message: impl Into<String>) -> Self {
        DefinitionError { message: message.into() }
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DefinitionError {}

impl From<String> for DefinitionError {
    fn from(message: String) -> Self {
        DefinitionError { message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_message() {
        let e = DefinitionError::new("Duplicate step name 'X'");
        assert_eq!(e.to_string(), "Duplicate step name 'X'");
        let e2: DefinitionError = String::from("boom").into();
        assert_eq!(e2.message, "boom");
    }
}
