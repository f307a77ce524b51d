//! Arbitrary bytes through `ddlint_core::lint_file` under varied settings and paths: no
//! panic, and every span inside the text on character boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    ddlint_fuzz::on_big_stack(move || ddlint_fuzz::engine::check_engine(&data));
});
