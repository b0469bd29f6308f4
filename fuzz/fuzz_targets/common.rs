//! Shared by the fuzz targets: every stack, and a document through metadata -> model -> every
//! backend. Errors are expected; only panics (and sanitizer findings) are bugs.

use std::path::Path;

use enicfg::backend::render;
use enicfg::distro::Stack;
use enicfg::model::{Config, ConfigSpec};
use enicfg::root::RootFacts;
use enicfg::source::metadata::{self, Cloud, Options};

pub const STACKS: &[Stack] = &[
    Stack::NetworkManagerIfcfg,
    Stack::Initscripts {
        sysv: false,
        ec2_net_utils: false,
    },
    Stack::Initscripts {
        sysv: true,
        ec2_net_utils: true,
    },
    Stack::Wicked,
    Stack::SuseSysconfig,
    Stack::Ifupdown { upstart: false },
    Stack::Netplan,
    Stack::NetworkManagerKeyfile,
    Stack::Networkd,
];

/// A spec through validation and every backend.
pub fn through_backends(spec: &ConfigSpec, include_primary: bool) {
    if let Ok(config) = Config::from_spec(spec)
        && let Ok(config) = config.select(include_primary)
    {
        for stack in STACKS {
            let _ = render(&config, *stack, &RootFacts::default());
        }
    }
}

/// Bytes as a metadata document of `cloud`, with and without the primary NIC.
pub fn metadata(cloud: Cloud, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let _ = metadata::detect(&doc);
    // No sysfs: every NIC the fixtures use is named; others fail to map, which is fine.
    let root = Path::new("/nonexistent-enicfg-fuzz-root");
    for (include_primary, dhcp) in [(false, false), (true, true)] {
        let opts = Options {
            include_primary,
            dhcp,
            ifnames: [
                "00:16:3e:0a:00:02=eth1",
                "0e:1a:2b:3c:4d:02=eth1",
                "52:54:00:ab:cd:02=eth1",
                "fa:16:3e:0a:00:02=eth1",
            ]
            .map(str::to_owned)
            .to_vec(),
            ..Options::default()
        };
        if let Ok(decoded) = metadata::decode(cloud, &doc, None)
            && let Ok(converted) = metadata::to_spec(cloud, decoded, &opts, root)
        {
            through_backends(&converted.spec, include_primary);
        }
    }
}
