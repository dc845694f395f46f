//! The one way JSON is read in the browser bundle.
//!
//! serde_json generates a separate decoder for every (type, reader) pair: `from_str` and `from_slice`
//! each monomorphise every `Deserialize` impl again. Server function answers are read with `from_slice`
//! (server_fn's JSON codec), so everything else the browser decodes — resources handed over by the
//! server, live snapshots, saved form state — goes through `from_slice` too. Decoding the same types
//! through both readers cost about a tenth of the wasm bundle.

use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};

/// Read JSON text with the reader server function answers already use.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(text.as_bytes())
}

/// The codec of the app's resources: JSON, decoded through [`from_json`].
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        from_json(val)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        name: String,
        steps: Vec<u32>,
    }

    #[test]
    fn round_trips_and_names_what_is_wrong() {
        let s = Sample { name: "Train \"quoted\" ☃".into(), steps: vec![1, 2] };
        let text = <Json as Encoder<Sample>>::encode(&s).unwrap();
        assert_eq!(<Json as Decoder<Sample>>::decode(&text).unwrap(), s);
        let err = from_json::<Sample>(r#"{"name": 3}"#).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
    }
}
