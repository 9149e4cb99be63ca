//! `churnlab models list`: the saved model folders and which one is promoted.

use std::path::Path;

use anyhow::Result;

use churnlab::output::text;
use churnlab::train::registry;

pub fn run(dir: &Path) -> Result<()> {
    print!("{}", text::models(&registry::read(dir)?, dir));
    Ok(())
}
