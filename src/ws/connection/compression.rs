//! permessage-deflate (RFC 7692) as the connection's parts see it: the
//! engine when the `deflate` feature is built and the extension was
//! negotiated, and a type with no values otherwise, so the parts take an
//! `Option<&mut Deflate>` either way and the code without the feature has
//! nothing to skip.

use bytes::BytesMut;

/// permessage-deflate's engine, or nothing in a build without it.
#[cfg(feature = "deflate")]
pub(super) type Deflate = crate::ws::deflate::PerMessageDeflate;

/// permessage-deflate's engine, or nothing in a build without it.
#[cfg(not(feature = "deflate"))]
#[derive(Debug)]
pub(super) enum Deflate {}

/// Inflates into `out`, at most `budget` bytes; `Err(true)`: over budget,
/// `Err(false)`: not valid deflate data.
#[cfg(feature = "deflate")]
pub(super) fn inflate(
    engine: &mut Deflate,
    input: &[u8],
    fin: bool,
    budget: usize,
    out: &mut BytesMut,
) -> Result<(), bool> {
    engine
        .inflate(input, fin, budget, out)
        .map_err(|e| matches!(e, crate::ws::deflate::InflateError::TooLarge { .. }))
}

/// Compresses `input` into `out`; `fin` ends the message (RFC 7692 §7.2.1).
#[cfg(feature = "deflate")]
pub(super) fn compress(engine: &mut Deflate, input: &[u8], fin: bool, out: &mut BytesMut) {
    engine.compress(input, fin, out);
}

/// Whether a whole message of `len` bytes is worth compressing.
#[cfg(feature = "deflate")]
pub(super) fn should_compress(engine: &Deflate, len: usize) -> bool {
    engine.should_compress(len)
}

/// The frame `message` was compressed to for this engine's parameters
/// (and its header length), when the engine has no context takeover and
/// the message was prepared for them.
#[cfg(feature = "deflate")]
pub(super) fn shared_frame<'m>(
    engine: &Deflate,
    message: &'m crate::ws::PreparedMessage,
) -> Option<(&'m bytes::Bytes, usize)> {
    message.compressed_frame(engine.shared_compression()?)
}

#[cfg(not(feature = "deflate"))]
pub(super) fn shared_frame<'m>(
    engine: &Deflate,
    _: &'m crate::ws::PreparedMessage,
) -> Option<(&'m bytes::Bytes, usize)> {
    match *engine {}
}

#[cfg(not(feature = "deflate"))]
pub(super) fn inflate(
    engine: &mut Deflate,
    _: &[u8],
    _: bool,
    _: usize,
    _: &mut BytesMut,
) -> Result<(), bool> {
    match *engine {}
}

#[cfg(not(feature = "deflate"))]
pub(super) fn compress(engine: &mut Deflate, _: &[u8], _: bool, _: &mut BytesMut) {
    match *engine {}
}

#[cfg(not(feature = "deflate"))]
pub(super) fn should_compress(engine: &Deflate, _: usize) -> bool {
    match *engine {}
}
