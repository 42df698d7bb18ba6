//! Tests of a store in trouble (held write locks, short busy timeouts): their own binary
//! because they shorten SQLite's busy timeout for the whole process.

#[path = "../common/mod.rs"]
mod common;
#[path = "../exchange_support/mod.rs"]
mod exchange_support;

mod audit_backpressure;
mod job_runner_trouble;
