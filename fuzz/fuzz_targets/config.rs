//! Arbitrary text through the `ddlint.toml` parser: a config or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        ddlint_fuzz::check_config(text);
    }
});
