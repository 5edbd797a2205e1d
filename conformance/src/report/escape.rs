//! Escaping of adapter-controlled text for the report formats (issue 16).
//!
//! Everything an implementation under test controls (its `info` name and version, messages,
//! findings that quote its answers, its stderr) is hostile: it may hold Markdown or HTML that
//! would forge a verdict line, code fences that close ours, or terminal control sequences. Each
//! report format puts such text through one of these functions.

/// C0 control characters (except newline and tab), DEL and the C1 controls shown as visible
/// `\u{..}` escapes: nothing the adapter writes can move a terminal's cursor or hide text.
pub fn controls(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => o.push(c),
            c if c.is_control() => o.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// Text for one line of Markdown (a list item, a table cell): controls made visible, line breaks
/// folded to spaces, and every character that Markdown or inline HTML gives a meaning escaped,
/// so that the text renders as itself and cannot open emphasis, links, HTML or a new block.
pub fn md_inline(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in controls(s).chars() {
        match c {
            '\n' | '\r' => o.push(' '),
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

/// The longest run of `ch` in `s`.
fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// A fenced code block holding `content` verbatim (controls made visible): the fence is longer
/// than any backtick run in the content, so the content cannot close it.
pub fn md_fence(content: &str, info: &str) -> String {
    let content = controls(content);
    let fence = "`".repeat(longest_run(&content, '`').max(2) + 1);
    let nl = if content.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{content}{nl}{fence}")
}

/// An inline code span holding `s` (one line, controls made visible), delimited by more
/// backticks than any run inside it.
pub fn md_code(s: &str) -> String {
    let s = controls(s).replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    // A span that starts or ends with a backtick needs a space inside the delimiters.
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_outlasts_the_content() {
        let f = md_fence("a\n````\nb", "text");
        assert!(f.starts_with("`````text\n"), "{f}");
        assert!(f.ends_with("\n`````"), "{f}");
        assert_eq!(md_fence("x", ""), "```\nx\n```");
    }

    #[test]
    fn inline_text_cannot_forge_markup() {
        let s = md_inline("**Verdict** <b>x</b>\n# h | `c` \u{1b}[2J\0");
        assert_eq!(
            s,
            // The backslash of a shown control is itself escaped: it renders as `\u{1b}`.
            "\\*\\*Verdict\\*\\* &lt;b&gt;x&lt;/b&gt; \\# h \\| \\`c\\` \\\\u{1b}\\[2J\\\\u{0}"
        );
        assert_eq!(controls("a\tb\nc\u{7f}\u{85}"), "a\tb\nc\\u{7f}\\u{85}");
    }

    #[test]
    fn code_spans() {
        assert_eq!(md_code("ls -l"), "`ls -l`");
        assert_eq!(md_code("a``b"), "```a``b```");
        assert_eq!(md_code("`x"), "`` `x ``");
    }
}
