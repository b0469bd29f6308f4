//! Shared by the snapshot tests: the top-level `snapshots/` folder, the stacks every rendering
//! is snapshotted for, and how a rendering is shown.
#![allow(dead_code)]

use enicfg::backend::Rendered;
use enicfg::distro::Stack;

/// Snapshot settings: the top-level `snapshots/` folder, no module prefix.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Every stack whose output differs, named for the snapshot.
pub const STACKS: &[(&str, Stack)] = &[
    ("ifcfg-rh-networkmanager", Stack::NetworkManagerIfcfg),
    (
        "ifcfg-rh-initscripts",
        Stack::Initscripts {
            sysv: false,
            ec2_net_utils: false,
        },
    ),
    (
        "ifcfg-rh-amazon-linux-2",
        Stack::Initscripts {
            sysv: false,
            ec2_net_utils: true,
        },
    ),
    ("ifcfg-suse-wicked", Stack::Wicked),
    ("ifcfg-suse-sles11", Stack::SuseSysconfig),
    ("ifupdown", Stack::Ifupdown { upstart: false }),
    ("netplan", Stack::Netplan),
    ("nm-keyfile", Stack::NetworkManagerKeyfile),
    ("networkd", Stack::Networkd),
];

/// A rendering as reviewed text: every file with path and mode, then the commands.
pub fn show(result: anyhow::Result<Rendered>) -> String {
    match result {
        Err(e) => format!("error: {e:#}\n"),
        Ok(r) => {
            let mut out = String::new();
            for f in &r.files {
                out.push_str(&format!(
                    "==> {} (mode {:04o}) <==\n{}\n",
                    f.path, f.mode, f.contents
                ));
            }
            out.push_str(&format!("restart: {}\n", r.commands.restart));
            for c in &r.commands.interface {
                out.push_str(&format!("apply:   {c}\n"));
            }
            out
        }
    }
}
