//! The module order `src/lib.rs` describes, checked on the source text: SQL only in `store`, no
//! two modules naming each other, the Azure backend (`vault::remote`) named only inside
//! `vault`, and nothing below the domains naming a domain.
//!
//! A module "names" another when a path in its code (a `use`, or a path in an expression) leads
//! into it: `crate::`, `engine::` (how `serve` writes the library's paths), `super::`,
//! `self::`, or a `use` of a child module. Comments, string literals and `#[cfg(test)]` modules
//! do not count: a test may reach across to hold two modules together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// Top-level modules below the domains (the machinery they run on).
const BELOW_DOMAINS: &[&str] = &[
    "b64",
    "cancel",
    "crypto",
    "error",
    "identity",
    "jobs",
    "operations",
    "rt",
    "session",
    "store",
    "time",
    "wire",
];
/// The domains. Above them: `registry` (every domain's operations and job kinds), `ffi`, `cli`,
/// `serve` and `fuzzing`, the doors.
/// `setup` (the Customer Key setup check) sits above the workloads, whose policies it reads.
const DOMAINS: &[&str] = &[
    "vault",
    "exchange",
    "sharepoint",
    "aip",
    "directory",
    "setup",
];

/// Exceptions to the layering, each a module and what it names. None today: the Azure backend
/// is chosen when the session opens and carried by the session, the call and job contexts and
/// the job runner as a `session::AzureBackend`, which only the vault domain reads back. An entry
/// that no longer happens fails the test too, so the list only shrinks.
const ALLOWED: &[(&str, &str)] = &[];

struct Module {
    path: ModPath,
    file: PathBuf,
    /// The module's code without comments, string contents and test modules.
    code: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module of the library (src/bin is the CLI's, not the library's).
fn modules() -> Vec<Module> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("bin") {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    let mut modules: Vec<Module> = files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src()).unwrap().with_extension("");
            let mut path: ModPath = relative
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if path.last().is_some_and(|l| l == "mod" || l == "lib") {
                path.pop();
            }
            let code = without_test_modules(&code_only(&std::fs::read_to_string(&file).unwrap()));
            Module { path, file, code }
        })
        .collect();
    modules.sort_by(|a, b| a.path.cmp(&b.path));
    modules
}

/// The text with comments removed and string and char literals emptied.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 1;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                i += 1;
            }
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && is_raw_start(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            i += 2 + hashes;
            while i < chars.len()
                && !(chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|&h| h == '#'))
            {
                i += 1;
            }
            i += 1 + hashes;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\'', '\u{..}'); a lifetime ('a) has no closing quote.
            i += if next == Some('\\') { 4 } else { 3 };
            while i < chars.len() && chars[i - 1] != '\'' {
                i += 1;
            }
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_raw_start(chars: &[char], i: usize) -> bool {
    let ident = |k: usize| chars[k].is_alphanumeric() || chars[k] == '_';
    // r"..." or br"...", not the end of an identifier.
    let before_ok = i == 0 || !ident(i - 1) || (chars[i - 1] == 'b' && (i < 2 || !ident(i - 2)));
    let after = chars[i + 1..].iter().find(|&&h| h != '#');
    before_ok && after == Some(&'"')
}

/// Drops each `#[cfg(test)] mod NAME { ... }`.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let rest = out[at + "#[cfg(test)]".len()..].trim_start();
        let block = rest
            .find('{')
            .is_some_and(|b| rest.find(';').is_none_or(|s| b < s));
        if !rest.starts_with("mod ") || !block {
            out.replace_range(at..at + "#[cfg(test)]".len(), "");
            continue;
        }
        let open = at + out[at..].find('{').unwrap();
        let mut depth = 0;
        let mut end = open;
        for (k, ch) in out[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = open + k + 1;
                break;
            }
        }
        out.replace_range(at..end, "");
    }
    out
}

/// Every path the code names, made absolute from the crate root.
fn named_paths(module: &Module) -> Vec<ModPath> {
    let code = &module.code;
    let children: BTreeSet<&str> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("pub ").trim_start();
            l.strip_prefix("mod ")?.strip_suffix(';')
        })
        .collect();
    let bytes = code.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !(ident(bytes[i]) && (i == 0 || !ident(bytes[i - 1]))) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && ident(bytes[i]) {
            i += 1;
        }
        let word = &code[start..i];
        if !code[i..].starts_with("::") {
            continue;
        }
        let mut base: ModPath = match word {
            "crate" | "engine" => Vec::new(),
            "self" => module.path.clone(),
            "super" => module.path[..module.path.len().saturating_sub(1)].to_vec(),
            child if children.contains(child) && code[..start].trim_end().ends_with("use") => {
                let mut p = module.path.clone();
                p.push(child.to_string());
                p
            }
            _ => continue,
        };
        let mut rest = &code[i..];
        // `super::super::...`
        while let Some(after) = rest.strip_prefix("::super") {
            base.pop();
            rest = after;
        }
        for tail in use_tree(rest.strip_prefix("::").unwrap_or(rest)) {
            let mut path = base.clone();
            path.extend(tail);
            found.push(path);
        }
        i = start + word.len();
    }
    found
}

/// The paths of a use tree or a plain path: `a::b::{c, d::{e, f}}` gives a::b::c, a::b::d::e
/// and a::b::d::f.
fn use_tree(text: &str) -> Vec<ModPath> {
    let text = text.trim_start();
    let len = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let head: ModPath = text[..len]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if !text[..len].ends_with("::") || !text[len..].starts_with('{') {
        return vec![head];
    }
    let inner = &text[len + 1..];
    let (mut depth, mut from, mut out) = (0, 0, Vec::new());
    for (k, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            ',' | '}' if depth == 0 => {
                let item = inner[from..k].trim();
                let item = item.split(" as ").next().unwrap_or(item).trim();
                if !item.is_empty() && item != "self" {
                    for tail in use_tree(item) {
                        out.push(head.iter().cloned().chain(tail).collect());
                    }
                }
                if ch == '}' {
                    break;
                }
                from = k + 1;
            }
            _ => {}
        }
    }
    out.push(head);
    out
}

/// What each module names: the deepest module of the library each path leads into.
fn names() -> BTreeMap<ModPath, (PathBuf, BTreeSet<ModPath>)> {
    let modules = modules();
    let known: BTreeSet<ModPath> = modules.iter().map(|m| m.path.clone()).collect();
    modules
        .iter()
        .map(|m| {
            let named = named_paths(m)
                .into_iter()
                .filter_map(|p| {
                    (0..=p.len())
                        .rev()
                        .map(|n| p[..n].to_vec())
                        .find(|prefix| known.contains(prefix))
                })
                .filter(|target| *target != m.path && !target.is_empty())
                .collect();
            (m.path.clone(), (m.file.clone(), named))
        })
        .collect()
}

fn shown(path: &[String]) -> String {
    path.join("::")
}

fn under(path: &[String], root: &str) -> bool {
    let root: Vec<&str> = root.split("::").collect();
    path.len() >= root.len() && path.iter().zip(&root).all(|(a, b)| a == b)
}

#[test]
fn the_parser_sees_what_code_names_and_not_what_comments_say() {
    let code = without_test_modules(&code_only(
        "use super::model::{self as m, check, KeyOut};\n\
         // crate::vault::remote in a comment\n\
         let s = \"crate::exchange\"; let c = '\"'; fn f<'a>(x: &'a str) {}\n\
         use crate::vault::{boundary::{Caller, KeyReference}, remote};\n\
         x = super::super::aip::keys::f();\n\
         #[cfg(test)]\nmod tests { use crate::sharepoint; }",
    ));
    let module = Module {
        path: vec!["exchange".into(), "keys".into()],
        file: PathBuf::new(),
        code,
    };
    let paths: Vec<String> = named_paths(&module).iter().map(|p| shown(p)).collect();
    for expected in [
        "exchange::model::check",
        "exchange::model",
        "vault::boundary::Caller",
        "vault::remote",
        "aip::keys::f",
    ] {
        assert!(
            paths.contains(&expected.to_string()),
            "{expected}: {paths:?}"
        );
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("sharepoint")),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p == "exchange"), "{paths:?}");
}

#[test]
fn domain_code_never_names_rusqlite() {
    let src = src();
    let mut offenders = Vec::new();
    let mut scanned = 0;
    for dir in [
        "vault",
        "exchange",
        "sharepoint",
        "aip",
        "operations",
        "jobs",
        "serve",
        "setup",
        "vault/remote",
    ] {
        let Ok(entries) = std::fs::read_dir(src.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") {
                scanned += 1;
                if std::fs::read_to_string(&path).unwrap().contains("rusqlite") {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    for file in ["session.rs", "identity.rs", "ffi.rs", "lib.rs", "rt.rs"] {
        scanned += 1;
        if std::fs::read_to_string(src.join(file))
            .unwrap()
            .contains("rusqlite")
        {
            offenders.push(file.to_string());
        }
    }
    assert!(scanned > 10);
    assert!(
        offenders.is_empty(),
        "SQL belongs in src/store: {offenders:?}"
    );
}

/// Circles that [`ALLOWED`]'s entries make: none.
const ALLOWED_CIRCLES: &[(&str, &str)] = &[];
/// A module counts with everything inside it (a folder's mod.rs and its files are one unit: the
/// files use what mod.rs shares, mod.rs declares them), so two modules form a circle when
/// something in each names something in the other, as `jobs` (the runtime) and
/// `vault::remote::client` once did.
#[test]
fn no_two_modules_name_each_other() {
    let names = names();
    assert!(names.len() > 50, "{} modules", names.len());
    // What each module and the modules inside it name outside it.
    let outgoing: BTreeMap<&ModPath, BTreeSet<&ModPath>> = names
        .keys()
        .map(|a| {
            let inside = names.iter().filter(|(m, _)| m.starts_with(a));
            let out = inside
                .flat_map(|(_, (_, named))| named)
                .filter(|t| !t.starts_with(a))
                .collect();
            (a, out)
        })
        .collect();
    let names_into = |a: &ModPath, b: &ModPath| outgoing[a].iter().any(|t| t.starts_with(b));
    let mut circles = Vec::new();
    let mut needed = BTreeSet::new();
    for a in names.keys().filter(|a| !a.is_empty()) {
        for b in names.keys().filter(|b| *b > a) {
            let related = b.starts_with(a) || a.starts_with(b);
            if related || !names_into(a, b) || !names_into(b, a) {
                continue;
            }
            let pair = (shown(a), shown(b));
            match ALLOWED_CIRCLES
                .iter()
                .find(|(x, y)| *x == pair.0 && *y == pair.1)
            {
                Some(entry) => {
                    needed.insert(*entry);
                }
                None => circles.push(format!("{} <-> {}", pair.0, pair.1)),
            }
        }
    }
    assert!(
        circles.is_empty(),
        "move what both need to the module it describes: {circles:?}"
    );
    let unneeded: Vec<_> = ALLOWED_CIRCLES
        .iter()
        .filter(|c| !needed.contains(*c))
        .collect();
    assert!(
        unneeded.is_empty(),
        "no longer circles, take them out of ALLOWED_CIRCLES: {unneeded:?}"
    );
}

fn names_remote_from_outside_vault(module: &ModPath, target: &ModPath) -> bool {
    under(target, "vault::remote") && !under(module, "vault")
}

fn below_names_a_domain(module: &ModPath, target: &ModPath) -> bool {
    BELOW_DOMAINS.iter().any(|b| under(module, b)) && DOMAINS.iter().any(|d| under(target, d))
}

/// Where `rule` is broken: "file names path" for each (module, what it names) the rule refuses
/// and [`ALLOWED`] does not list; and the entries of [`ALLOWED`] it no longer needed.
fn broken(rule: impl Fn(&ModPath, &ModPath) -> bool) -> (Vec<String>, Vec<String>) {
    let mut needed = BTreeSet::new();
    let mut offenders = Vec::new();
    for (module, (file, named)) in names() {
        for target in named.iter().filter(|t| rule(&module, t)) {
            let module = shown(&module);
            match ALLOWED
                .iter()
                .find(|(m, t)| *m == module && under(target, t))
            {
                Some(entry) => {
                    needed.insert(*entry);
                }
                None => offenders.push(format!("{} names {}", file.display(), shown(target))),
            }
        }
    }
    let unneeded = ALLOWED
        .iter()
        .filter(|entry| !needed.contains(*entry))
        .map(|(m, t)| format!("{m} -> {t}"))
        .collect();
    (offenders, unneeded)
}

#[test]
fn vault_remote_is_named_only_inside_vault() {
    let (offenders, _) = broken(names_remote_from_outside_vault);
    assert!(
        offenders.is_empty(),
        "the Azure backend is the vault domain's: {offenders:?}"
    );
}

#[test]
fn nothing_below_the_domains_names_a_domain() {
    let (offenders, _) = broken(below_names_a_domain);
    assert!(
        offenders.is_empty(),
        "the machinery below the domains names none of them: {offenders:?}"
    );
}

#[test]
fn every_allowed_exception_still_happens() {
    let (_, unneeded) =
        broken(|m, t| names_remote_from_outside_vault(m, t) || below_names_a_domain(m, t));
    assert!(
        unneeded.is_empty(),
        "no longer needed, take them out of ALLOWED: {unneeded:?}"
    );
}

/// Every layer uses the runtime and the wire format, so they use none of them.
#[test]
fn the_leaves_name_nothing_of_the_crate() {
    let names = names();
    for leaf in ["rt", "wire"] {
        let inside: Vec<_> = names.iter().filter(|(m, _)| under(m, leaf)).collect();
        assert!(!inside.is_empty(), "no module {leaf}");
        for (_, (file, named)) in inside {
            let outside: Vec<_> = named.iter().filter(|t| !under(t, leaf)).collect();
            assert!(outside.is_empty(), "{} names {outside:?}", file.display());
        }
    }
}
