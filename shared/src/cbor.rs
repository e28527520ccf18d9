//! CBOR (RFC 8949) encoding through serde, with errors mapped to stable codes.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::{ErrorCode, ProtoError};

/// Encode a value as CBOR. Encoding into a `Vec` cannot fail for our types.
pub fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    append(value, &mut out);
    out
}

/// Encode `value` at the end of `out`.
pub fn append<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    if let Err(e) = ciborium::into_writer(value, out) {
        // Only reachable for types with non-string map keys or failing Serialize impls,
        // which this crate does not have. Keep it loud in debug builds.
        debug_assert!(false, "CBOR encoding failed: {e}");
    }
}

/// Decode CBOR, rejecting trailing bytes. `code` is the error code to report.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], code: ErrorCode) -> Result<T, ProtoError> {
    let (value, rest) = from_prefix(bytes, code)?;
    if !rest.is_empty() {
        return Err(ProtoError::new(
            code,
            format!("{} trailing bytes after CBOR value", rest.len()),
        ));
    }
    Ok(value)
}

/// Decode the one CBOR data item at the start of `bytes`; return it and the
/// bytes after it.
pub fn from_prefix<T: DeserializeOwned>(
    bytes: &[u8],
    code: ErrorCode,
) -> Result<(T, &[u8]), ProtoError> {
    let mut reader = bytes;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut reader, 64)
        .map_err(|e| ProtoError::new(code, format!("invalid CBOR: {e}")))?;
    Ok((value, reader))
}
