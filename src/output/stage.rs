//! Whole-folder atomicity: a job writes into a staging folder beside OUT, which starts as
//! a copy (hard links) of OUT's current files; only when every file is written does the
//! staging folder replace OUT. A failure or a kill leaves OUT as it was, with the previous
//! run's files, never a mixture. Leftovers of a killed job are swept by the next one, and
//! an OUT caught between the two renames of the swap is restored from its `.old` copy.
//!
//! A job owns the files it wrote into OUT the last time it ran (recorded in
//! `.churnlab-outputs.json`, itself staged): when it finishes, those it did not write this
//! time are gone, so a plain `run` after `run --previous` leaves no `stability.csv` behind.
//! Files churnlab never wrote are kept, and a file belongs to whichever job wrote it last.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::process::alive;
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

/// The record of which job wrote which files into OUT.
const OWNERS: &str = ".churnlab-outputs.json";

/// A file's identity, to tell a file this job wrote (a new inode, or a new modification
/// time) from one linked in from OUT unchanged.
type Identity = (u64, Option<std::time::SystemTime>, u64);

fn identity(m: &fs::Metadata) -> Identity {
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(m);
    #[cfg(not(unix))]
    let ino = 0;
    (ino, m.modified().ok(), m.len())
}

/// Every file under `dir` by its path relative to `dir` ('/'-separated), with its identity.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Identity> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push((e.path(), format!("{name}/"))),
                Ok(m) if name != OWNERS => {
                    out.insert(name, identity(&m));
                }
                _ => {}
            }
        }
    }
    out
}

fn read_owners(dir: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    fs::read(dir.join(OWNERS))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Removes from the staged folder `dir` the files `job` wrote last time, before it writes
/// again: what it does not write this time is gone, and nothing it renders (the report
/// reads the folder) sees a file from an earlier run.
fn clear(dir: &Path, job: &str) -> Result<()> {
    for f in read_owners(dir).remove(job).unwrap_or_default() {
        if f.split('/').any(|p| p == ".." || p.is_empty()) {
            continue;
        }
        let stale = dir.join(&f);
        if stale.is_file() {
            log::debug!("removing {f} (written by an earlier {job})");
            fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }
    }
    Ok(())
}

/// Records that `job` wrote `written` into `dir`: they are its files now, no other job's.
fn record(dir: &Path, job: &str, written: Vec<String>) -> Result<()> {
    let mut owners = read_owners(dir);
    for files in owners.values_mut() {
        files.retain(|f| !written.contains(f));
    }
    owners.retain(|_, files| !files.is_empty());
    owners.insert(job.to_string(), written);
    let path = dir.join(OWNERS);
    let text = serde_json::to_vec_pretty(&owners)
        .map_err(|e| Error::Internal(format!("serialising {OWNERS}: {e}")))?;
    // The staged record is a hard link to OUT's: unlink it, never write through it.
    if path.exists() {
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    }
    fs::write(&path, text).map_err(|e| Error::io(&path, e))
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

/// What a job wrote: its output folder and the files it wrote there (paths relative to
/// it, '/'-separated, in name order). The one account of a job's files: the CLI prints
/// it, nothing spells the list again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub dir: PathBuf,
    pub files: Vec<String>,
}

impl Written {
    /// Whether the job wrote `name`.
    pub fn has(&self, name: &str) -> bool {
        self.files.iter().any(|f| f == name)
    }
}

impl std::fmt::Display for Written {
    /// "wrote a, b and c in DIR".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files = match self.files.as_slice() {
            [] => "nothing".to_string(),
            [one] => one.clone(),
            [head @ .., last] => format!("{} and {last}", head.join(", ")),
        };
        write!(f, "wrote {files} in {}", self.dir.display())
    }
}

/// Runs `write` (job `job`: `run`, `score`, `health`...) on a staging copy of `out` and,
/// when it succeeds, swaps the copy in: OUT then holds the new files and the ones no
/// earlier run of `job` wrote, all complete; when it fails, OUT is untouched. Returns what
/// the job wrote.
pub fn staged(out: &Path, job: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<Written> {
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
    clear(&tmp, job)?;
    let before = files(&tmp);
    write(&tmp)?;
    let written: Vec<String> = files(&tmp)
        .into_iter()
        .filter(|(f, id)| before.get(f) != Some(id))
        .map(|(f, _)| f)
        .collect();
    record(&tmp, job, written.clone())?;
    if stage.out.exists() {
        fs::rename(&stage.out, &old).map_err(|e| Error::io(&stage.out, e))?;
    }
    fs::rename(&tmp, &stage.out).map_err(|e| Error::io(&stage.out, e))?;
    stage.done = true;
    let _ = fs::remove_dir_all(&old);
    Ok(Written {
        dir: out.to_path_buf(),
        files: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_as(out: &Path, job: &str, names: &[&str]) {
        let written = staged(out, job, |dir| {
            for n in names {
                let p = dir.join(n);
                // Writers replace files (write, then rename), never write through a link.
                let _ = fs::remove_file(&p);
                fs::write(&p, format!("{job} {n}")).map_err(|e| Error::io(&p, e))?;
            }
            Ok(())
        })
        .unwrap();
        // What the job wrote, in name order: not the user's files, nor another job's.
        let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        want.sort();
        assert_eq!(written.files, want);
        assert_eq!(written.dir, out);
    }

    fn names(out: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n != OWNERS)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_job_leaves_none_of_its_earlier_files_it_did_not_write_again() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("mine.txt"), "user").unwrap();
        write_as(
            &out,
            "run",
            &["list.csv", "stability.csv", "health_auc.csv"],
        );
        assert_eq!(
            names(&out),
            ["health_auc.csv", "list.csv", "mine.txt", "stability.csv"]
        );
        // Without the option that wrote stability.csv and the health files: gone.
        write_as(&out, "run", &["list.csv"]);
        assert_eq!(names(&out), ["list.csv", "mine.txt"]);
        // Another job's files are not the run's to remove.
        write_as(&out, "health", &["health_auc.csv"]);
        write_as(&out, "run", &["list.csv"]);
        assert_eq!(names(&out), ["health_auc.csv", "list.csv", "mine.txt"]);
        // A file belongs to the job that wrote it last.
        write_as(&out, "run", &["list.csv", "health_auc.csv"]);
        write_as(&out, "run", &["list.csv"]);
        assert_eq!(names(&out), ["list.csv", "mine.txt"]);
        assert_eq!(fs::read_to_string(out.join("mine.txt")).unwrap(), "user");
        let owners: std::collections::BTreeMap<String, Vec<String>> =
            serde_json::from_slice(&fs::read(out.join(OWNERS)).unwrap()).unwrap();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners["run"], ["list.csv"]);
    }
}
