//! The `ddlint` command line as a library: argument parsing, configuration, file discovery
//! and the reporters, so that tests, benchmarks and fuzz targets reach them directly.

pub mod changes;
pub mod cli;
pub mod config;
pub mod dialect;
pub mod discover;
pub mod fix;
pub mod history;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod suggest;

use std::io::{self, Write};

/// Prints `error: <message>` on stderr.
pub fn print_error(message: &str) {
    // Writing to stderr can fail (closed descriptor); `eprintln!` would panic then.
    let _ = writeln!(io::stderr().lock(), "error: {message}");
}

/// An I/O error as a lowercase phrase without the OS error number.
pub fn describe_io(error: &io::Error) -> String {
    let text = match error.kind() {
        io::ErrorKind::NotFound => return "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => return "permission denied".to_owned(),
        io::ErrorKind::IsADirectory => return "is a directory".to_owned(),
        io::ErrorKind::NotADirectory => return "not a directory".to_owned(),
        _ => error.to_string(),
    };
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_owned(),
    }
}
