//! The stack probe, on fake roots only (files present or absent) — never the test machine's
//! own services: `--root` other than `/` inspects files and nothing else.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use enicfg::cli::TargetArgs;
use enicfg::distro::Stack;

struct Root(tempfile::TempDir);

impl Root {
    fn new(os_release: &str) -> Root {
        let r = Root(tempfile::tempdir().unwrap());
        r.file("/etc/os-release", os_release);
        r
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn file(&self, path: &str, contents: &str) -> &Root {
        let full = self.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, contents).unwrap();
        self
    }
    /// A unit enabled the way systemctl does it: a symlink in multi-user.target.wants.
    fn enable(&self, unit: &str) -> &Root {
        let wants = self
            .path()
            .join("etc/systemd/system/multi-user.target.wants");
        fs::create_dir_all(&wants).unwrap();
        symlink(format!("/usr/lib/systemd/system/{unit}"), wants.join(unit)).unwrap();
        self
    }
    fn networkmanager(&self, ifcfg_plugin: bool) -> &Root {
        self.file("/usr/sbin/NetworkManager", "")
            .enable("NetworkManager.service");
        if ifcfg_plugin {
            self.file(
                "/usr/lib64/NetworkManager/1.40.16-1.el8/libnm-settings-plugin-ifcfg-rh.so",
                "",
            );
        }
        self
    }
    fn detect(&self) -> (Stack, String) {
        let t = TargetArgs {
            distro: None,
            os_release: None,
            backend: None,
        };
        let d = enicfg::detect(&t, self.path()).unwrap();
        (d.stack, d.reason)
    }
}

const CENTOS_7: &str = "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n";
const ALINUX_2: &str = "ID=\"alinux\"\nVERSION_ID=\"2.1903\"\n";
const DEBIAN_11: &str = "ID=debian\nVERSION_ID=\"11\"\n";
const OPENEULER: &str = "ID=\"openEuler\"\nVERSION_ID=\"24.03\"\n";
const UOS: &str = "ID=\"uos\"\nVERSION_ID=\"20\"\n";

#[test]
fn an_empty_image_root_keeps_the_os_release_stack() {
    let r = Root::new(CENTOS_7);
    let (stack, reason) = r.detect();
    assert_eq!(
        stack,
        Stack::Initscripts {
            sysv: false,
            ec2_net_utils: false
        }
    );
    assert!(!reason.contains("but"), "{reason}");
}

#[test]
fn centos7_with_the_network_service_enabled_stays_on_initscripts() {
    let r = Root::new(CENTOS_7);
    r.file("/etc/sysconfig/network-scripts/network-functions", "")
        .enable("network.service")
        .networkmanager(true);
    assert_eq!(
        r.detect().0,
        Stack::Initscripts {
            sysv: false,
            ec2_net_utils: false
        }
    );
}

#[test]
fn centos7_run_by_networkmanager_gets_nm_ifcfg_and_says_why() {
    let r = Root::new(CENTOS_7);
    r.file("/etc/sysconfig/network-scripts/network-functions", "")
        .networkmanager(true);
    let (stack, reason) = r.detect();
    assert_eq!(stack, Stack::NetworkManagerIfcfg);
    assert!(
        reason.contains("os-release suggests initscripts network service"),
        "{reason}"
    );
    assert!(reason.contains("NetworkManager.service exists"), "{reason}");
}

#[test]
fn alinux2_on_systemd_networkd_is_detected() {
    let r = Root::new(ALINUX_2);
    r.enable("systemd-networkd.service");
    let (stack, reason) = r.detect();
    assert_eq!(stack, Stack::Networkd, "{reason}");
}

#[test]
fn debian11_converted_to_netplan_is_detected() {
    let r = Root::new(DEBIAN_11);
    r.file("/usr/sbin/netplan", "")
        .file("/etc/netplan/50-cloud-init.yaml", "network: {version: 2}\n");
    assert_eq!(r.detect().0, Stack::Netplan);
    // netplan YAML without the netplan binary is not netplan at work
    let r = Root::new(DEBIAN_11);
    r.file("/etc/netplan/50-cloud-init.yaml", "network: {version: 2}\n");
    assert_eq!(r.detect().0, Stack::Ifupdown { upstart: false });
}

#[test]
fn networkmanager_without_the_ifcfg_plugin_means_keyfiles() {
    let r = Root::new(OPENEULER);
    r.networkmanager(false);
    assert_eq!(r.detect().0, Stack::NetworkManagerKeyfile);
    // plugin installed but disabled in NetworkManager.conf
    let r = Root::new(OPENEULER);
    r.networkmanager(true).file(
        "/etc/NetworkManager/conf.d/90-keyfile.conf",
        "[main]\nplugins=keyfile\n",
    );
    assert_eq!(r.detect().0, Stack::NetworkManagerKeyfile);
    // plugin installed and enabled
    let r = Root::new(OPENEULER);
    r.networkmanager(true).file(
        "/etc/NetworkManager/NetworkManager.conf",
        "[main]\nplugins = ifcfg-rh, keyfile\n",
    );
    assert_eq!(r.detect().0, Stack::NetworkManagerIfcfg);
}

#[test]
fn an_unknown_distro_is_decided_by_what_runs() {
    let r = Root::new(UOS);
    let err = enicfg::detect(
        &TargetArgs {
            distro: None,
            os_release: None,
            backend: None,
        },
        r.path(),
    );
    assert!(format!("{:#}", err.unwrap_err()).contains("unknown distro"));
    r.networkmanager(false);
    let (stack, reason) = r.detect();
    assert_eq!(stack, Stack::NetworkManagerKeyfile);
    assert!(
        reason.contains("unknown distro") && reason.contains("is what this system runs"),
        "{reason}"
    );
}

#[test]
fn explicit_targets_are_not_second_guessed() {
    let r = Root::new(DEBIAN_11);
    r.file("/usr/sbin/netplan", "")
        .file("/etc/netplan/50-cloud-init.yaml", "network: {version: 2}\n");
    let t = TargetArgs {
        distro: Some("debian:11".into()),
        os_release: None,
        backend: None,
    };
    assert_eq!(
        enicfg::detect(&t, r.path()).unwrap().stack,
        Stack::Ifupdown { upstart: false }
    );
}

#[test]
fn config_links_resolve_inside_the_image_root_never_on_the_host() {
    // NetworkManager.conf pointing at /etc/passwd means ROOT's /etc/passwd: absent here, so the
    // build host's file is not read and the plugin list stays unset.
    let r = Root::new(OPENEULER);
    r.networkmanager(true);
    fs::create_dir_all(r.path().join("etc/NetworkManager")).unwrap();
    symlink(
        "/etc/passwd",
        r.path().join("etc/NetworkManager/NetworkManager.conf"),
    )
    .unwrap();
    assert_eq!(r.detect().0, Stack::NetworkManagerIfcfg);
    // A conf.d link to a file inside ROOT is read: keyfiles only.
    r.file(
        "/usr/share/nm/keyfile-only.conf",
        "[main]\nplugins=keyfile\n",
    );
    fs::create_dir_all(r.path().join("etc/NetworkManager/conf.d")).unwrap();
    symlink(
        "../../../usr/share/nm/keyfile-only.conf",
        r.path().join("etc/NetworkManager/conf.d/10-plugins.conf"),
    )
    .unwrap();
    assert_eq!(r.detect().0, Stack::NetworkManagerKeyfile);
    // Masked with /dev/null: as if absent.
    fs::remove_file(r.path().join("etc/NetworkManager/conf.d/10-plugins.conf")).unwrap();
    symlink(
        "/dev/null",
        r.path().join("etc/NetworkManager/conf.d/10-plugins.conf"),
    )
    .unwrap();
    assert_eq!(r.detect().0, Stack::NetworkManagerIfcfg);
}

#[test]
fn a_unit_link_loop_is_an_error_naming_it() {
    let r = Root::new(CENTOS_7);
    let wants = r.path().join("etc/systemd/system/multi-user.target.wants");
    fs::create_dir_all(&wants).unwrap();
    symlink(
        "NetworkManager.service",
        wants.join("NetworkManager.service"),
    )
    .unwrap();
    let t = TargetArgs {
        distro: None,
        os_release: None,
        backend: None,
    };
    let err = format!("{:#}", enicfg::detect(&t, r.path()).unwrap_err());
    assert!(
        err.contains("cannot probe the network stack under"),
        "{err}"
    );
    assert!(
        err.contains(
            "cannot resolve /etc/systemd/system/multi-user.target.wants/NetworkManager.service"
        ),
        "{err}"
    );
}
