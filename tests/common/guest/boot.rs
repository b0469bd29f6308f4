//! Booting and stopping a guest: `systemd-nspawn --boot` on a [`GuestRoot`], systemd as PID 1,
//! its own network namespace, udevd running (`SYSTEMD_NSPAWN_API_VFS_WRITABLE=1` makes /sys
//! writable). The NICs are attached the moment the guest's PID 1 exists, before its network
//! services start, like ENIs attached at boot. Commands run inside with `nsenter -t LEADER -a`.
//!
//! A reboot is [`Guest::poweroff`] then [`Guest::boot`] on the same root; dropping a guest
//! that still runs kills its PID 1 (and with it the whole guest) and waits for nspawn.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::nics::Vpc;
use super::roots::GuestRoot;

/// How long a boot may take before the suite gives up and shows why.
const BOOT_DEADLINE: Duration = Duration::from_secs(90);
/// PATH inside the guest (the test's own PATH is the host's).
const GUEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A running guest.
pub struct Guest {
    /// The machine name given to nspawn (`-M`).
    pub name: String,
    /// PID (in our namespace) of the guest's PID 1.
    pub leader: u32,
    /// nspawn's output (the guest's console), kept under `target/tmp/guest-logs/`.
    pub log: PathBuf,
    nspawn: Option<Child>,
    /// The VPC side of the NICs; dropped after the guest is stopped.
    vpc: Option<Vpc>,
    /// Net-device units whose start jobs were still pending when the boot was judged done
    /// (see [`Guest::wait_running`]); empty for a plain `running`.
    pub pending_devices: Vec<String>,
}

impl Guest {
    /// Boots `root` with the given NICs (`(ifname, mac)`, attached from a fresh VPC namespace)
    /// and waits until systemd reports `running` (or `degraded`, with the failed units shown).
    pub fn boot(root: &GuestRoot, nics: &[(&str, &str)]) -> Guest {
        Guest::boot_with(root, nics, |_| {})
    }

    /// [`Guest::boot`], calling `early(leader)` once the NICs are attached and before the boot
    /// is waited for: what must be there while the guest's units start (a metadata service
    /// for the boot-time reconcile).
    pub fn boot_with(root: &GuestRoot, nics: &[(&str, &str)], early: impl FnOnce(u32)) -> Guest {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "enicfg-g-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let logs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-logs");
        fs::create_dir_all(&logs).unwrap();
        let log = logs.join(format!("{name}-{}.log", root.flavor.name()));
        let console = fs::File::create(&log).unwrap();
        let child = Command::new("systemd-nspawn")
            .arg("-D")
            .arg(root.path())
            .args([
                "--boot",
                "--private-network",
                "--register=no",
                "--keep-unit",
                "--console=read-only",
                "-M",
                &name,
            ])
            .env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "1")
            .stdin(Stdio::null())
            .stdout(console.try_clone().unwrap())
            .stderr(console)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start systemd-nspawn: {e}"));
        let mut guest = Guest {
            name,
            leader: 0,
            log,
            nspawn: Some(child),
            vpc: None,
            pending_devices: Vec::new(),
        };
        guest.leader = guest.find_leader();
        guest.vpc = Some(Vpc::attach(guest.leader, nics));
        early(guest.leader);
        guest.wait_running();
        guest
    }

    /// The guest's PID 1: nspawn's child once it has exec'd systemd in a new network namespace.
    fn find_leader(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        let nspawn = self.nspawn.as_ref().map(Child::id).unwrap_or(0);
        let our_net = fs::read_link("/proc/self/ns/net").ok();
        loop {
            let children = fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
                .unwrap_or_default();
            for pid in children.split_whitespace() {
                let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let net = fs::read_link(format!("/proc/{pid}/ns/net")).ok();
                if comm.trim() == "systemd" && net.is_some() && net != our_net {
                    return pid.parse().unwrap();
                }
            }
            if let Some(Ok(Some(status))) = self.nspawn.as_mut().map(Child::try_wait) {
                self.nspawn = None;
                panic!(
                    "systemd-nspawn exited ({status}) before the guest started:\n{}",
                    self.console()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the guest's PID 1 did not appear within 20 s:\n{}",
                self.console()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for `running` (or `degraded`). One exception, reported through
    /// [`Guest::pending_devices`]: in this container systemd (PID 1) never plugs the
    /// `sys-subsystem-net-devices-*.device` units of the veths, although udev inside has
    /// processed and tagged them, so a unit bound to one (ifupdown's hotplug
    /// `ifup@eth1.service`) waits for its 90 s job timeout and the boot stays `starting`. When
    /// the only *running* jobs are such device jobs, the boot is done as far as this harness
    /// can tell.
    fn wait_running(&mut self) {
        let deadline = Instant::now() + BOOT_DEADLINE;
        let mut last = String::new();
        while Instant::now() < deadline {
            let out = self.run(&["systemctl", "is-system-running"]);
            last = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match last.as_str() {
                "running" => return,
                "degraded" => {
                    eprintln!(
                        "{}: booted degraded:\n{}",
                        self.name,
                        self.text(&["systemctl", "--failed", "--no-pager"])
                    );
                    return;
                }
                "starting" => {
                    if let Some(devices) = self.only_device_jobs() {
                        self.pending_devices = devices;
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        panic!(
            "{}: not running after {} s (is-system-running: {last:?})\nfailed units:\n{}\njobs:\n{}\nconsole:\n{}",
            self.name,
            BOOT_DEADLINE.as_secs(),
            self.text(&["systemctl", "--failed", "--no-pager"]),
            self.text(&["systemctl", "list-jobs", "--no-pager"]),
            self.console()
        );
    }

    /// The running jobs, when there are some and all are net-device units.
    fn only_device_jobs(&self) -> Option<Vec<String>> {
        let jobs = self.text(&["systemctl", "list-jobs", "--no-legend", "--no-pager"]);
        let running: Vec<String> = jobs
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.get(3) == Some(&"running"))
            .map(|f| f[1].to_owned())
            .collect();
        let all_devices = running
            .iter()
            .all(|u| u.starts_with("sys-subsystem-net-devices-") && u.ends_with(".device"));
        (!running.is_empty() && all_devices).then_some(running)
    }

    /// A command run inside the guest (all its namespaces, its root, its PATH).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.env_clear()
            .env("PATH", GUEST_PATH)
            .env("LANG", "C.UTF-8")
            .args(["-t", &self.leader.to_string(), "-a", "--"])
            .args(args);
        c
    }

    /// Runs a command inside the guest.
    pub fn run(&self, args: &[&str]) -> Output {
        super::super::run(&mut self.command(args))
    }

    /// Runs a command inside the guest; panics with its output unless it succeeds.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}: `{}` failed ({}):\nstdout: {}\nstderr: {}",
            self.name,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// stdout and stderr of a command inside the guest, whatever its status (for diagnostics).
    pub fn text(&self, args: &[&str]) -> String {
        let out = self.run(args);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The guest's console output so far.
    pub fn console(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `systemctl poweroff` inside, then waits for nspawn to exit (the NICs die with the
    /// guest's namespace). Panics if the guest does not stop within 60 s.
    /// Hot-plugs a NIC into the running guest (an ENI attached now).
    pub fn plug(&self, ifname: &str, mac: &str) {
        self.vpc
            .as_ref()
            .expect("the guest has a VPC side")
            .plug(self.leader, ifname, mac);
    }

    pub fn poweroff(mut self) {
        let _ = self.run(&["systemctl", "poweroff"]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(child) = self.nspawn.as_mut() {
            if let Ok(Some(_)) = child.try_wait() {
                self.nspawn = None;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: did not power off within 60 s:\n{}",
                self.name,
                self.console()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let Some(mut child) = self.nspawn.take() else {
            return;
        };
        // Killing a PID namespace's init kills every process in it; nspawn then exits.
        if self.leader != 0 {
            // SAFETY: kill(2) on a PID we found as nspawn's child; no memory is involved.
            unsafe {
                libc::kill(self.leader as libc::pid_t, libc::SIGKILL);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
