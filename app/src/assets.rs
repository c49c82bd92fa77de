//! The site's bundle names: the build puts a hash of each file's bytes in its name, so a browser may keep them for a year.
//!
//! Leptos' own convention (cargo-leptos' `hash-files`) writes `hash.txt` beside the server
//! binary and `HydrationScripts` reads it. `scripts/lib.sh build_site` writes the same file into
//! the site root instead, so an unpacked archive carries its names with it; [`Bundle::prepare`]
//! points Leptos at it. Without a hash file the names stay `cadence.{js,wasm,css}`.

use leptos::prelude::LeptosOptions;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, LazyLock, Mutex},
};

/// The file name `build_site` writes into the site root (and cargo-leptos beside the binary).
pub const HASH_FILE: &str = "hash.txt";

/// How long a browser may keep a file whose name carries its hash: it never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The bundle's three file names inside the site's pkg directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub js: String,
    pub wasm: String,
    pub css: String,
    /// True when the names carry hashes (and may be cached for ever).
    pub hashed: bool,
}

impl Bundle {
    /// Switches Leptos to hashed names when the site root holds a hash file, and returns the
    /// names. Call once when the options are built, before the first render.
    pub fn prepare(options: &mut LeptosOptions) -> Bundle {
        if !options.hash_files {
            let in_site = Path::new(&*options.site_root).join(HASH_FILE);
            if in_site.is_file() {
                // HydrationScripts joins the name to the binary's directory; an absolute path
                // replaces that directory.
                let absolute = std::path::absolute(&in_site).unwrap_or(in_site);
                options.hash_files = true;
                options.hash_file = absolute.display().to_string().into();
            }
        }
        Self::of(options)
    }

    /// The names the options ask for, read once per hash file and kept (a site does not change
    /// under a running server; a rebuilt one comes with a restart).
    pub fn of(options: &LeptosOptions) -> Bundle {
        static READ: LazyLock<Mutex<HashMap<PathBuf, Arc<Bundle>>>> = LazyLock::new(Default::default);
        let name = &*options.output_name;
        let Some(path) = hash_file_path(options) else { return Self::unhashed(name) };
        let mut read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bundle = read
            .entry(path)
            .or_insert_with_key(|path| {
                Arc::new(match std::fs::read_to_string(path) {
                    Ok(text) => Self::from_hashes(name, &text),
                    Err(_) => Self::unhashed(name),
                })
            })
            .clone();
        (*bundle).clone()
    }

    fn unhashed(name: &str) -> Bundle {
        Bundle { js: format!("{name}.js"), wasm: format!("{name}.wasm"), css: format!("{name}.css"), hashed: false }
    }

    /// Names from a hash file's `kind: hash` lines, as Leptos reads them; a kind without a line
    /// keeps its plain name.
    fn from_hashes(name: &str, text: &str) -> Bundle {
        let hashes: HashMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(kind, hash)| (kind.trim(), hash.trim()))
            .filter(|(_, hash)| !hash.is_empty())
            .collect();
        let file = |kind: &str| match hashes.get(kind) {
            Some(hash) => format!("{name}.{hash}.{kind}"),
            None => format!("{name}.{kind}"),
        };
        Bundle { js: file("js"), wasm: file("wasm"), css: file("css"), hashed: !hashes.is_empty() }
    }

    /// Whether `file` (a name inside pkg) is one of the hashed three, safe to keep for a year.
    pub fn is_immutable(&self, file: &str) -> bool {
        self.hashed && [&self.js, &self.wasm, &self.css].iter().any(|name| name.as_str() == file)
    }

    /// The stylesheet's URL path, for the document's head.
    pub fn css_href(&self, options: &LeptosOptions) -> String {
        format!("/{}/{}", options.site_pkg_dir, self.css)
    }
}

/// Where Leptos reads the hash file when hashing is on: the binary's directory joined with the
/// configured name (an absolute name stands alone).
fn hash_file_path(options: &LeptosOptions) -> Option<PathBuf> {
    if !options.hash_files {
        return None;
    }
    let exe_dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)).unwrap_or_default();
    Some(exe_dir.join(&*options.hash_file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_go_between_the_name_and_the_extension() {
        let bundle = Bundle::from_hashes("cadence", "js: 0a1b\nwasm: 2c3d\ncss: 4e5f\n");
        assert_eq!(bundle.js, "cadence.0a1b.js");
        assert_eq!(bundle.wasm, "cadence.2c3d.wasm");
        assert_eq!(bundle.css, "cadence.4e5f.css");
        assert!(bundle.is_immutable("cadence.2c3d.wasm"));
        assert!(!bundle.is_immutable("cadence.wasm"), "an unhashed name may change under its URL");
        assert!(!bundle.is_immutable("snippets/x/inline0.js"));
    }

    #[test]
    fn a_kind_without_a_hash_keeps_its_plain_name() {
        let bundle = Bundle::from_hashes("cadence", "js: 0a1b\ncss:\n");
        assert_eq!((bundle.wasm.as_str(), bundle.css.as_str()), ("cadence.wasm", "cadence.css"));
        assert!(!Bundle::from_hashes("cadence", "").hashed);
    }

    #[test]
    fn a_site_with_a_hash_file_turns_hashing_on_with_an_absolute_path() {
        let root = std::env::temp_dir().join(format!("cadence-assets-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join(HASH_FILE), "js: aa\nwasm: bb\ncss: cc\n").unwrap();
        let mut options = LeptosOptions::builder().output_name("cadence").site_root(root.display().to_string()).build();
        let bundle = Bundle::prepare(&mut options);
        assert!(options.hash_files && Path::new(&*options.hash_file).is_absolute());
        assert_eq!(bundle.css_href(&options), "/pkg/cadence.cc.css");
        assert_eq!(Bundle::of(&options), bundle, "the shell reads the same names");

        let mut plain = LeptosOptions::builder().output_name("cadence").site_root(root.join("none").display().to_string()).build();
        assert!(!Bundle::prepare(&mut plain).hashed && !plain.hash_files);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
