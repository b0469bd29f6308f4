//! Shell-style globs (`*`, `?`, `[...]`), as ifupdown's `source` (wordexp) and
//! systemd-networkd's `[Match] Name=` (fnmatch) use them.

/// Shell-style glob match of a whole path: `*` and `?` never match `/`, `[...]` classes are
/// supported, a wildcard never matches a leading `.` of a file name, everything else is literal
/// (wordexp(3) as used by ifupdown's `source`).
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    glob_at(&p, &s, true)
}

/// `name_start`: the next character of `s` starts a file name.
fn glob_at(p: &[char], s: &[char], name_start: bool) -> bool {
    let hidden = name_start && s.first() == Some(&'.');
    let next_start = |c: char| c == '/';
    match p.first() {
        None => s.is_empty(),
        Some('*') => {
            if hidden {
                // Only the empty match: what follows must match the dot literally.
                return glob_at(&p[1..], s, name_start);
            }
            (0..=s.len())
                .take_while(|&k| k == 0 || s[k - 1] != '/')
                .any(|k| glob_at(&p[1..], &s[k..], if k == 0 { name_start } else { false }))
        }
        Some('?') => match s.first() {
            Some(&c) if c != '/' && !hidden => glob_at(&p[1..], &s[1..], false),
            _ => false,
        },
        Some('[') => match class_match(p, s.first().copied()) {
            Some((true, len)) if !hidden => glob_at(&p[len..], &s[1..], false),
            Some(_) => false,
            None => s.first() == Some(&'[') && glob_at(&p[1..], &s[1..], false),
        },
        Some(&c) => s.first() == Some(&c) && glob_at(&p[1..], &s[1..], next_start(c)),
    }
}

/// Matches a `[...]` class at the start of `p` against `c`: `Some((matched, class_len))`, or
/// `None` when `p` has no closing `]` (then `[` is literal).
fn class_match(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while let Some(&pc) = p.get(i) {
        if pc == ']' && !first {
            let ok = c.is_some_and(|c| c != '/') && (matched != negate);
            return Some((ok, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|e| *e != ']') {
            let (lo, hi) = (pc, p[i + 2]);
            if c.is_some_and(|c| lo <= c && c <= hi) {
                matched = true;
            }
            i += 3;
        } else {
            if c == Some(pc) {
                matched = true;
            }
            i += 1;
        }
    }
    None
}
