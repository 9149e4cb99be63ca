//! Whole-folder atomicity: a job writes into a staging folder beside OUT, which starts as
//! a copy (hard links) of OUT's current files; only when every file is written does the
//! staging folder replace OUT. A failure or a kill leaves OUT as it was, with the previous
//! run's files, never a mixture. Leftovers of a killed job are swept by the next one, and
//! an OUT caught between the two renames of the swap is restored from its `.old` copy.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The staging and retired siblings of `out`: `.NAME.staging-PID`, `.NAME.old-PID`.
fn sibling(out: &Path, kind: &str, pid: u32) -> Result<PathBuf> {
    let name = out.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        Error::Input(format!(
            "{}: name the output folder (for example --out out), not '.' or a root",
            out.display()
        ))
    })?;
    Ok(out.with_file_name(format!(".{name}.{kind}-{pid}")))
}

/// Whether process `pid` is running (Linux: /proc; elsewhere assumed running, so only
/// this process's own leftovers are swept).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Removes the leftovers of killed jobs beside `out`; restores `out` from a retired copy
/// when a job was killed between moving `out` aside and moving its new files in.
fn sweep(out: &Path) -> Result<()> {
    let (Some(parent), Some(name)) = (
        out.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        }),
        out.file_name().and_then(|n| n.to_str()),
    ) else {
        return Ok(());
    };
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let mut stale: Vec<(String, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().to_string();
        for kind in ["staging", "old"] {
            let prefix = format!(".{name}.{kind}-");
            if let Some(pid) = file
                .strip_prefix(&prefix)
                .and_then(|p| p.parse::<u32>().ok())
                && !alive(pid)
            {
                stale.push((kind.to_string(), e.path()));
            }
        }
    }
    for (kind, path) in stale {
        if kind == "old" && !out.exists() {
            log::warn!(
                "restoring {} from {} (a run was stopped while replacing it)",
                out.display(),
                path.display()
            );
            fs::rename(&path, out).map_err(|e| Error::io(out, e))?;
        } else {
            log::info!("removing {} (left by a stopped run)", path.display());
            fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Copies `from` into `to` with hard links (a copy where links fail), leaving out the
/// temporary files of interrupted writers.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for e in fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let e = e.map_err(|e| Error::io(from, e))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') && name.contains(".tmp") {
            continue;
        }
        let kind = e.file_type().map_err(|e| Error::io(&src, e))?;
        if kind.is_dir() {
            link_tree(&src, &dst)?;
        } else if fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
        }
    }
    Ok(())
}

/// A staging folder that replaces OUT on [`Staged::commit`] and is removed if dropped
/// uncommitted.
struct Staged {
    out: PathBuf,
    tmp: PathBuf,
    done: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Runs `write` on a staging copy of `out` and, when it succeeds, swaps the copy in:
/// OUT then holds the previous files and the new ones, all complete; when it fails, OUT
/// is untouched.
pub fn staged<T>(out: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let pid = std::process::id();
    let tmp = sibling(out, "staging", pid)?;
    let old = sibling(out, "old", pid)?;
    sweep(out)?;
    if out.exists() && !out.is_dir() {
        return Err(Error::Input(format!(
            "{}: is a file; the output must be a folder",
            out.display()
        )));
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let _ = fs::remove_dir_all(&tmp);
    let mut stage = Staged {
        out: out.to_path_buf(),
        tmp: tmp.clone(),
        done: false,
    };
    if out.is_dir() {
        link_tree(out, &tmp)?;
    } else {
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    let value = write(&tmp)?;
    if stage.out.exists() {
        fs::rename(&stage.out, &old).map_err(|e| Error::io(&stage.out, e))?;
    }
    fs::rename(&tmp, &stage.out).map_err(|e| Error::io(&stage.out, e))?;
    stage.done = true;
    let _ = fs::remove_dir_all(&old);
    Ok(value)
}
