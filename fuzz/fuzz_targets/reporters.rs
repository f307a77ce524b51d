//! Reports from fuzzed SQL, paths and messages, rendered in every format and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    ddlint_fuzz::on_big_stack(move || ddlint_fuzz::reporters::check_reporters(&data));
});
