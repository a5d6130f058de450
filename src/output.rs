//! Rendering of results (table, JSON Lines, CSV), shared by the REPL and scripts.
