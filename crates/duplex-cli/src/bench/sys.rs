//! What the benchmarks ask of Linux: file-descriptor limits, source-address binding, and a
//! process's memory and CPU time from /proc.

use std::os::fd::AsRawFd;

use anyhow::Context as _;

/// Raises the soft open-file limit to the hard one; returns (before, after).
pub fn raise_nofile_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok((before, limit.rlim_cur))
}

/// Sets IP_BIND_ADDRESS_NO_PORT: a socket bound to a source address with port 0 gets its
/// port at connect time, per destination, so one address serves ~28k connections to each
/// server rather than ~28k in all.
pub fn bind_address_no_port(socket: &impl AsRawFd) -> std::io::Result<()> {
    switch_on(socket, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT)
}

/// Sets a boolean (`int`) socket option to 1.
pub fn switch_on(
    socket: &impl AsRawFd,
    level: libc::c_int,
    option: libc::c_int,
) -> std::io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and an int option of the size we pass.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A process's resident memory (VmRSS), in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .with_context(|| format!("no VmRSS in {path}"))
}

/// CPU time (user + system) a process has used, in seconds; `None` for ourselves.
pub fn cpu_seconds(pid: Option<u32>) -> anyhow::Result<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // Fields after the command name (which may hold spaces, and ends at the last ')'):
    // state is field 3, utime 14 and stime 15, so 11 and 12 here.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
        anyhow::bail!("cannot parse {path}");
    };
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((user + system) as f64 / per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process() {
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
        assert!(cpu_seconds(None).unwrap() >= 0.0);
        assert!(cpu_seconds(Some(std::process::id())).unwrap() >= 0.0);
    }
}
