#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::pedantic)]
#![allow(clippy::module_name_repetitions, clippy::must_use_candidate)]

mod utf8;

pub mod sse;
pub mod ws;

pub use bytes;
pub use utf8::Utf8Bytes;
