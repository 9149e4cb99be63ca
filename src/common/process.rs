//! Leftovers of killed processes: whether a process still runs, and the sweep of the
//! temporary folders a killed writer left (named with its process id).

use std::path::Path;

/// Whether process `pid` is running (Linux: /proc; elsewhere assumed running, so only
/// this process's own leftovers are swept).
pub fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// The process id a leftover's name ends with after `marker` (`.churn-1a2b.tmp4242` with
/// marker `.tmp` is 4242), when the name starts with a dot and has one.
pub fn leftover_pid(name: &str, marker: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (_, pid) = name.rsplit_once(marker)?;
    pid.parse().ok()
}
