//! The progress of `pql import`: an indicatif bar with rows per second and
//! an ETA on a terminal; nothing on other outputs (the summary line says
//! how it went).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar, or nothing when stderr is not a terminal.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar over `total` units (bytes or rows) of input.
    pub fn new(total: u64, rows: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        let template =
            format!("{{bar:40}} {{percent:>3}}% {{msg}} {rows}, {{elapsed}} elapsed, ETA {{eta}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    /// `at` units of input read, `rows` rows imported.
    pub fn set(&self, at: u64, rows: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(at);
            let secs = bar.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{rows} ({:.0}/s)", rows as f64 / secs));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
