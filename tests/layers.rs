//! The layer rule of ARCHITECTURE.md: the runtime crate's top-level modules import each other
//! without a cycle. A module `a` depends on `b` when a file of `a` names `crate::b`, or a name
//! that `lib.rs` re-exports from `b` (`crate::Store` when lib.rs has `pub use store::Store`).
//! Comments and `#[cfg(test)]` tails are ignored: tests may import anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eventosaurus/src")
}

fn top_modules(src: &Path) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(src).expect("read eventosaurus/src") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            modules.insert(name);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "lib" {
                modules.insert(stem.to_owned());
            }
        }
    }
    modules
}

fn code_of(text: &str) -> String {
    let code: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect();
    let code = code.join("\n");
    match code.find("#[cfg(test)]") {
        Some(cut) => code[..cut].to_owned(),
        None => code,
    }
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first path segment of every `crate::..` in `code` (`crate::{a, b::c}` gives a and b).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let preceded_by_ident = code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded_by_ident {
            continue; // e.g. `eventosaurus_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let name = ident_at(part.trim());
                if !name.is_empty() {
                    names.insert(name.to_owned());
                }
            }
        } else {
            names.insert(ident_at(rest).to_owned());
        }
    }
    names
}

/// Names `lib.rs` re-exports from a module: `pub use store::Store` → Store → store.
fn root_reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = code_of(lib);
    for (at, _) in code.match_indices("pub use ") {
        let rest = &code[at + "pub use ".len()..];
        let module = ident_at(rest);
        if !modules.contains(module) {
            continue;
        }
        let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
        let after = &statement[module.len()..];
        for name in after
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|n| !n.is_empty())
        {
            out.entry(name.to_owned())
                .or_insert_with(|| module.to_owned());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = src();
    let modules = top_modules(&src);
    let lib = fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let reexports = root_reexports(&lib, &modules);
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .expect("a component")
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let owner = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
        if !modules.contains(&owner) {
            continue;
        }
        let code = code_of(&fs::read_to_string(&file).expect("read source"));
        for name in crate_paths(&code) {
            let target = if modules.contains(&name) {
                Some(name)
            } else {
                reexports.get(&name).cloned()
            };
            if let Some(target) = target.filter(|t| *t != owner) {
                edges.get_mut(&owner).expect("owner").insert(target);
            }
        }
    }
    edges
}

/// A cycle through `start`, if any (depth-first search on the module graph).
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_import_downwards_only() {
    let edges = graph();
    for (module, targets) in &edges {
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        eprintln!("{module} -> {}", targets.join(", "));
    }
    assert!(edges.len() > 8, "expected the runtime crate's modules");
    if let Some(cycle) = cycle(&edges) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_model_is_at_the_bottom() {
    let edges = graph();
    let model = &edges["model"];
    let allowed: BTreeSet<String> = ["error", "event_id", "plain_json", "schema"]
        .into_iter()
        .map(String::from)
        .collect();
    assert!(
        model.is_subset(&allowed),
        "model imports {model:?}; only {allowed:?} may sit below it"
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
    assert_eq!(
        crate_paths("use crate::{a, b::c};\nlet x = crate::d::e; my_crate::f"),
        BTreeSet::from(["a".to_owned(), "b".to_owned(), "d".to_owned()])
    );
}
