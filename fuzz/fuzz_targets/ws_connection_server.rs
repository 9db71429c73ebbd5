//! `Connection` as a server: arbitrary incoming chunks and frames
//! interleaved with sends, polls and pulls. The invariants are listed in
//! `fuzz/src/connection.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pushcodec::ws::Role;
use pushcodec_fuzz::connection::{Scenario, run};

fuzz_target!(|s: Scenario| run(Role::Server, s));
