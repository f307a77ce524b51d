use super::Run;
use std::io::{self, Write};

pub fn render(_run: &Run<'_>, _out: &mut dyn Write) -> io::Result<()> {
    Ok(())
}
