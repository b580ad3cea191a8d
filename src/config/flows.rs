//! Where the phone line's flows are read from: `flows.dir` (or `HELPLINE_FLOWS_DIR`), default
//! `flows` in the working directory. A directory named explicitly must exist; the default one may
//! be missing, and then the flows built into the binary serve (see `crate::flows`).

use std::path::PathBuf;

use serde::Deserialize;

use super::sources::Layers;

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[("HELPLINE_FLOWS_DIR", "flows.dir")];

/// The default flows directory, relative to the working directory.
pub const DEFAULT_FLOWS_DIR: &str = "flows";

/// `[flows]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlows {
    dir: Option<String>,
}

/// The flows directory, and whether it was named (then it must exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowsDir {
    pub path: PathBuf,
    /// Set by `flows.dir` or `HELPLINE_FLOWS_DIR`, not the default.
    pub named: bool,
}

impl Default for FlowsDir {
    fn default() -> Self {
        FlowsDir {
            path: PathBuf::from(DEFAULT_FLOWS_DIR),
            named: false,
        }
    }
}

pub(super) fn read(c: &mut Layers<'_>, raw: RawFlows) -> FlowsDir {
    match c.pick("flows.dir", raw.dir) {
        Some(dir) => FlowsDir {
            path: PathBuf::from(dir),
            named: true,
        },
        None => FlowsDir::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load_env, load_toml};
    use super::*;

    #[test]
    fn the_variable_names_the_directory_over_the_file() {
        assert_eq!(load_env(&[]).unwrap().flows_dir, FlowsDir::default());
        let s = load_toml("[flows]\ndir = \"/etc/helpline/flows\"\n", &[]).unwrap();
        assert_eq!(
            s.flows_dir,
            FlowsDir {
                path: PathBuf::from("/etc/helpline/flows"),
                named: true
            }
        );
        let s = load_toml(
            "[flows]\ndir = \"/etc/helpline/flows\"\n",
            &[("HELPLINE_FLOWS_DIR", "/srv/flows")],
        )
        .unwrap();
        assert_eq!(s.flows_dir.path, PathBuf::from("/srv/flows"));
    }
}
