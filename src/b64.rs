//! Standard base64, the encoding of every byte value in the JSON interface.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text.trim())
}
