//! The pager for results wider or taller than the terminal: `$PAGER`, else
//! `less -S` (long lines scroll sideways instead of wrapping). The shell
//! uses it only when stdout is a terminal, never for scripts or pipes.

use std::io::{self, Write};
use std::process::{Command, Stdio};

use unicode_width::UnicodeWidthStr;

/// The terminal's `(columns, rows)`, or `None` when stdout is not one.
pub fn terminal_size() -> Option<(usize, usize)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the valid, exclusively
    // borrowed `size`; on a descriptor that is not a terminal it fails and
    // writes nothing.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0 && size.ws_row > 0)
        .then_some((usize::from(size.ws_col), usize::from(size.ws_row)))
}

/// Whether `text` does not fit a terminal of `columns` × `rows` (one row is
/// left for the prompt).
pub fn does_not_fit(text: &str, (columns, rows): (usize, usize)) -> bool {
    text.lines().count() >= rows || text.lines().any(|l| l.width() > columns)
}

/// Shows `text` through the pager and waits for it to quit; prints it
/// directly when no pager can be started.
pub fn show(text: &str) -> io::Result<()> {
    let command = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less -S".to_string());
    let mut words = command.split_whitespace();
    let spawned = words.next().and_then(|program| {
        Command::new(program)
            .args(words)
            .stdin(Stdio::piped())
            .spawn()
            .ok()
    });
    let Some(mut child) = spawned else {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        return out.flush();
    };
    if let Some(mut input) = child.stdin.take() {
        // The user may quit the pager before reading everything.
        let _ = input.write_all(text.as_bytes());
    }
    child.wait().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_or_not() {
        assert!(!does_not_fit("a\nb\n", (80, 24)));
        assert!(does_not_fit(&"x".repeat(81), (80, 24)));
        assert!(does_not_fit(&"row\n".repeat(24), (80, 24)));
        assert!(!does_not_fit(&"row\n".repeat(23), (80, 24)));
    }
}
