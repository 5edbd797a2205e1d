//! `aigc-conformance`: the conformance harness for GB 45438-2025 label implementations.
//!
//! - [`vector`]: vector manifests and the requirement catalogue;
//! - [`lint`]: checks of the vector tree;
//! - [`mapping`]: `spec-mapping.md`, generated from the catalogue and the manifests;
//! - [`schema`]: the protocol's JSON Schemas and a validator for the subset they use;
//! - [`adapter`]: running an implementation (process per request or persistent), timeouts, caps;
//! - [`implementation`]: the implementation under test behind one trait (processes or in-process);
//! - [`sandbox`]: containment of the implementation under test (bubblewrap, process leftovers);
//! - [`checks`]: what a vector asserts, with the reference library as oracle;
//! - [`scope`]: the claimed scope (`info`), checked against the profile's media names;
//! - [`verdict`]: per requirement and overall, graded by level;
//! - [`waivers`]: approved expected failures with expiry;
//! - [`session`]: a run prepared (suite, profile, implementation, `info`, waivers), the vectors
//!   selected once and executed;
//! - [`report`]: the report built from the results, and its JSON, Markdown, HTML and JUnit writers;
//! - [`run`]: the `run` subcommand, tying it together;
//! - [`release`]: the vector release and per-vector content hashes;
//! - [`history`]: diff, impact, the results store and board, shard merging;
//! - [`official`]: fresh seeded vector instances for official runs (issue 10.4);
//! - [`certify`]: the certification record, SM2 keys, signed reports and `verify` (issue 10.6).
#![forbid(unsafe_code)]

pub mod adapter;
pub mod certify;
pub mod checks;
pub mod history;
pub mod implementation;
pub mod lint;
pub mod mapping;
pub mod meta;
pub mod official;
pub mod release;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod scope;
pub mod session;
pub mod vector;
pub mod verdict;
pub mod waivers;
