//! PowerShell source text: string literals, wrapped help text, and the `{Param}` placeholders of
//! the registry's ShouldProcess texts.

/// Characters PowerShell reads as a single quote inside a single-quoted string (it accepts the
/// typographic ones too), each of which must be doubled there.
const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
/// Characters that end or expand a double-quoted string.
const DOUBLE_QUOTE_SPECIALS: [char; 6] = ['"', '\u{201C}', '\u{201D}', '\u{201E}', '$', '`'];

/// A PowerShell string literal for `s` that expands nothing: single quotes, or double quotes when
/// that spares doubling the text's apostrophes and nothing in it would expand.
pub fn quote(s: &str) -> String {
    if !s.contains(SINGLE_QUOTES) {
        return format!("'{s}'");
    }
    if !s.contains(DOUBLE_QUOTE_SPECIALS) {
        return format!("\"{s}\"");
    }
    let mut out = String::from("'");
    for c in s.chars() {
        if SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `text` broken into lines of at most `width` characters (a longer word stays whole): each
/// line break of the text is kept, and blank lines stay blank. No line it makes starts with '.'
/// (a word like ".pfx" takes the word before it along, or overruns the width), because in
/// comment-based help such a line reads as a help keyword.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for source_line in text.replace("\r\n", "\n").trim_matches('\n').split('\n') {
        let mut line = String::new();
        for word in source_line.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                if !word.starts_with('.') {
                    lines.push(std::mem::take(&mut line));
                } else if let Some(space) = line.rfind(' ') {
                    if !line[space + 1..].starts_with('.') {
                        let carried = line.split_off(space + 1);
                        line.truncate(space);
                        lines.push(std::mem::replace(&mut line, carried));
                    }
                }
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// One piece of a registry text with placeholders.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Literal(&'a str),
    /// `{Name}`: the value of the parameter Name.
    Parameter(&'a str),
}

/// Splits "Key '{Name}' in vault '{VaultName}'" into literals and parameter placeholders. A
/// brace that does not open `{Identifier}` is literal text.
pub fn placeholders(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find('{') {
        let open = search_from + offset;
        let rest = &text[open + 1..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let is_placeholder = name_len > 0
            && rest.as_bytes()[0].is_ascii_alphabetic()
            && rest[name_len..].starts_with('}');
        if is_placeholder {
            if open > literal_start {
                pieces.push(Piece::Literal(&text[literal_start..open]));
            }
            pieces.push(Piece::Parameter(&rest[..name_len]));
            literal_start = open + 1 + name_len + 1;
            search_from = literal_start;
        } else {
            search_from = open + 1;
        }
    }
    if literal_start < text.len() {
        pieces.push(Piece::Literal(&text[literal_start..]));
    }
    pieces
}

/// Whether `s` can be a PowerShell identifier here (a parameter, verb, noun, area or set name
/// that also ends up in a file name): an ASCII letter, then ASCII letters and digits.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_without_expansion() {
        assert_eq!(quote("Name of the key"), "'Name of the key'");
        assert_eq!(quote("the store's folder"), "\"the store's folder\"");
        assert_eq!(quote("it's $HOME"), "'it''s $HOME'");
        assert_eq!(quote("a \u{2019} and \""), "'a \u{2019}\u{2019} and \"'");
    }

    #[test]
    fn wraps_at_width_and_keeps_line_breaks() {
        let lines = wrap("one two three four\n\nfive", 9);
        assert_eq!(lines, vec!["one two", "three", "four", "", "five"]);
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            vec!["averyveryverylongword", "x"]
        );
        assert_eq!(wrap("a key .pfx file", 6), vec!["a", "key .pfx", "file"]);
        assert_eq!(wrap("key .pfx", 4), vec!["key .pfx"]);
    }

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders("Key '{Name}' in {x y} {VaultName}{"),
            vec![
                Piece::Literal("Key '"),
                Piece::Parameter("Name"),
                Piece::Literal("' in {x y} "),
                Piece::Parameter("VaultName"),
                Piece::Literal("{"),
            ]
        );
        assert_eq!(placeholders("{1}"), vec![Piece::Literal("{1}")]);
    }
}
