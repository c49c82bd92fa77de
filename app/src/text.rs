//! The rules free-text fields share (no control characters, limits), and a text's first words.
//!
//! PostgreSQL refuses U+0000 in `text`, so a NUL used to end a request as a 500 after all its
//! work (at sign-up, after the password hash). The other control characters have no business in
//! names and addresses either (they garble logs, e-mails and the page); only multi-line fields
//! (captions) keep tab and line breaks. Checked in the shared normalisers, so the browser shows
//! the same sentence.

/// A sentence for the form when `text` holds a control character. With `multiline`, tab, line
/// feed and carriage return (a browser sends a textarea's line breaks as CR LF) are allowed.
pub fn control_character_problem(text: &str, multiline: bool) -> Option<String> {
    let found = text.chars().find(|c| c.is_control() && !(multiline && matches!(c, '\t' | '\n' | '\r')))?;
    Some(format!(
        "This contains an invisible control character (U+{:04X}). Remove it and try again.",
        u32::from(found)
    ))
}

/// What is wrong with a short free-text field (a comment, a name): `empty` when it is blank,
/// its length when it has more than `limit` characters (the `noun` names it), or a control
/// character.
pub fn field_text_problem(text: &str, noun: &str, limit: usize, empty: &str, multiline: bool) -> Option<String> {
    let length = text.trim().chars().count();
    if length == 0 {
        return Some(empty.to_owned());
    }
    if length > limit {
        return Some(format!("The {noun} is {length} characters long; keep it to {limit}."));
    }
    control_character_problem(text, multiline)
}

/// The first words of `text`, at most `max` characters, on one line, with an ellipsis when
/// something was cut.
pub fn opening(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    // Cut at the last space, unless that leaves almost nothing (one very long word).
    let at = cut.rfind(' ').filter(|&at| cut[..at].chars().count() >= max / 2).unwrap_or(cut.len());
    format!("{}…", &cut[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_named_and_line_breaks_only_pass_where_allowed() {
        assert_eq!(
            control_character_problem("ana\0", false).as_deref(),
            Some("This contains an invisible control character (U+0000). Remove it and try again.")
        );
        assert!(control_character_problem("a\u{7f}b", true).unwrap().contains("U+007F"));
        assert!(control_character_problem("a\u{85}b", true).unwrap().contains("U+0085"), "C1 controls too");
        assert!(control_character_problem("line\nnext", false).is_some());
        assert_eq!(control_character_problem("line\r\nnext\tcol", true), None);
        assert_eq!(control_character_problem("Zoë 😀 #tag", false), None, "letters and emoji are fine");
    }

    #[test]
    fn openings_cut_at_a_word_and_say_so() {
        assert_eq!(opening("short  caption\n", 40), "short caption");
        assert_eq!(opening("one two three four", 12), "one two…");
        assert_eq!(opening(&"x".repeat(30), 10), format!("{}…", "x".repeat(10)));
        assert_eq!(opening("Zoë 😀 ünïcode words here", 14), "Zoë 😀 ünïcode…", "characters, not bytes");
    }
}
