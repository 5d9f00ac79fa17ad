//! The HTTP API, against the real server on a random loopback port.
//! Set TEST_LOG=1 to see the server's logs.

mod batch;
mod budget;
mod compact;
mod decision_log;
mod decisions;
mod errors;
mod helpers;
mod negotiation;
mod operations;
mod reload;
mod rules;
mod security;
mod slow_clients;
mod smuggling;
mod timeouts;
